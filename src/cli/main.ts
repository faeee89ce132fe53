#!/usr/bin/env node
/** The sacl-au command line. */
import { backends, getDefaultBackend } from '../index.js';

const USAGE = `Usage: sacl-au <command> [options]

Commands:
  info [--json]   which backends (cuda, cpu, reference) are compiled and available, and why not

Options:
  --help          show this help`;

function info(json: boolean): void {
  const list = backends();
  if (json) {
    process.stdout.write(`${JSON.stringify({ default: getDefaultBackend(), backends: list })}\n`);
    return;
  }
  for (const b of list) {
    const extra = [b.threads ? `${b.threads} threads` : '', b.isa ?? '', b.devices ? `${b.devices} devices` : '']
      .filter(Boolean).join(', ');
    const state = b.available ? 'available' : `unavailable: ${b.reason}`;
    process.stdout.write(`${b.name.padEnd(10)} ${state}${extra ? ` (${extra})` : ''}\n`);
  }
  process.stdout.write(`default    ${getDefaultBackend()}\n`);
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 1;
  }
  if (command === 'info') {
    info(rest.includes('--json'));
    return 0;
  }
  process.stderr.write(`sacl-au: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
