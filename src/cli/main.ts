#!/usr/bin/env -S node --single-threaded-gc
/** The sacl-au command line. */
import { readFileSync } from 'node:fs';
import { backends, getDefaultBackend } from '../index.js';
import { initTf } from '../tf/engine.js';
import { alignCommand } from './align-command.js';
import { demoCommand } from './demo.js';
import { modelCommand } from './model-command.js';
import { predictCommand } from './predict-command.js';
import { reproduceCommand } from './reproduce-command.js';
import { evalCommand, trainCommand } from './training-commands.js';
import { UsageError } from '../util/errors.js';

const USAGE = `Usage: sacl-au <command> [options]

Commands:
  info [--json]   which op backends (cuda, cpu, reference) are compiled and available, and why not; and
                  which TensorFlow.js backend runs (tfjs-node-gpu, tfjs-node, cpu, wasm) and why
  model [--variant <name>] [--input <px>] [--json]
                  a model variant's parameters and FLOPs per part (sacl-au model --help)
  train --dataset synthetic|bp4d|disfa --root <dir> --fold 1|2|3 --out <dir>
                  train (checkpoint every epoch, --resume), then evaluate the fold's test subjects
  eval --model <dir> --dataset … --root <dir> --fold k --out <dir>
                  per-AU F1/accuracy, mean F1, predictions and figures
  predict --model <dir> <image|video|folder|->... [--out file.csv] [--json] [--aligned] [--skip-bad]
                  finds and aligns every face; one OpenFace-style row per face: landmarks, AU
                  probabilities (AU01_p) and presence (AU01_c) (sacl-au predict --help)
  reproduce --table 5|6|7|9 --dataset synthetic|bp4d|disfa [--root <dir>] --out <dir>
                  the paper's tables: every run (resumable, skipped when done), ours beside the paper's
                  in <out>/table<N>.md/.json/.svg (sacl-au reproduce --help)
  align --root <dir> --out <dir> [--size 256] [--skip-bad]
                  an aligned copy of a BP4D-layout tree (JAA-Net's recipe), written once
  demo [--out <dir>]
                  the main job (npm start): synthetic faces → train tiny → evaluate → report

Options:
  --help          show this help
  --version       print sacl-au's version`;

async function info(json: boolean): Promise<void> {
  const list = backends();
  const tfjs = await initTf();
  if (json) {
    process.stdout.write(`${JSON.stringify({ default: getDefaultBackend(), backends: list, tfjs })}\n`);
    return;
  }
  for (const b of list) {
    const extra = [b.threads ? `${b.threads} threads` : '', b.isa ?? '', b.devices ? `${b.devices} devices` : '',
      b.malloc ? `malloc: ${b.malloc}` : '']
      .filter(Boolean).join(', ');
    const state = b.available ? 'available' : `unavailable: ${b.reason}`;
    process.stdout.write(`${b.name.padEnd(10)} ${state}${extra ? ` (${extra})` : ''}\n`);
  }
  const kernels = tfjs.kernels.length ? ` (sacl-au kernels: ${tfjs.kernels.join(', ')})` : '';
  process.stdout.write(`default    ${getDefaultBackend()}\n\ntfjs backend: ${tfjs.active}${kernels}\n`);
  process.stdout.write(`  why: ${tfjs.reason}\n`);
  for (const c of tfjs.candidates) process.stdout.write(`  ${c.name.padEnd(15)} ${c.active ? 'active' : c.reason}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const commands: Record<string, (argv: string[]) => Promise<number>> = {
    model: modelCommand, train: trainCommand, eval: evalCommand, predict: predictCommand, demo: demoCommand, align: alignCommand, reproduce: reproduceCommand,
  };
  if (command && commands[command]) return commands[command]!(rest);
  if (command === '--version' || command === '-v') {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'info') {
    await info(rest.includes('--json'));
    return 0;
  }
  process.stderr.write(`sacl-au: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // One line for the user. Exit 2: the command line cannot be used (a flag missing, unknown, out of range
  // or conflicting with a recorded run); exit 1: every other failure (a missing or corrupt file, a
  // diverged run). SACL_DEBUG=1 adds the stack.
  const error = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`sacl-au: ${error.message}\n${process.env.SACL_DEBUG ? `${error.stack}\n` : ''}`);
  const badFlag = /^ERR_PARSE_ARGS_/.test(String((error as { code?: unknown }).code ?? ''));
  process.exitCode = error instanceof UsageError || badFlag ? 2 : 1;
}
