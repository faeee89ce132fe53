/**
 * Markdown tables from the benchmarks' JSON lines (for docs/ops.md):
 *   node bench/knn.js --json-only > knn.json; … ; node bench/markdown.js knn.json mrconv.json roi.json
 */
import { readFileSync } from 'node:fs';

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const x = (v) => (v === undefined ? '—' : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}×`);

for (const file of process.argv.slice(2)) {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const run = JSON.parse(lines[lines.length - 1]);
  const peers = [...new Set(run.results.flatMap((r) => Object.keys(r.peers ?? {})))];
  const gflops = run.results.some((r) => r.gflops !== undefined);
  console.log(`\n**${run.bench}** — ${run.date.slice(0, 10)}, ${run.machine.model}, ${run.machine.cpus} cores, node ${run.machine.node}, ` +
    `backends ${run.backends.map((b) => `${b.name}${b.isa ? ` (${b.isa}, ${b.threads} threads)` : ''}`).join(', ')}\n`);
  const head = ['case', 'op', 'backend', 'median ms', ...(gflops ? ['GFLOP/s'] : []), '× reference',
    ...peers.map((p) => `× ${p}`), 'target'];
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of run.results) {
    if (r.skipped) continue;
    const cells = [r.case, `\`${r.op}\``, r.backend, ms(r.medianMs), ...(gflops ? [r.gflops?.toFixed(1) ?? '—'] : []),
      x(r.speedupVsRef), ...peers.map((p) => x(r.peers?.[p]?.ratio)),
      r.target ? `${r.target} ${r.targetMet ? '✓' : '✗'}` : '—'];
    console.log(`| ${cells.join(' | ')} |`);
  }
}
