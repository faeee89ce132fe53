/**
 * Markdown tables from the benchmarks' JSON lines (for docs/ops.md):
 *   node bench/knn.js --json-only > knn.json; … ; node bench/markdown.js knn.json mrconv.json roi.json
 * and for docs/training.md: node bench/train-step.js … > train-step.txt; node bench/markdown.js train-step.txt
 */
import { readFileSync } from 'node:fs';

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const x = (v) => (v === undefined ? '—' : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}×`);

/** bench/train-step.js: the table of docs/training.md ("Training speed on CPUs"), thread-model rows last. */
function trainStepTable(run) {
  const n = (v, d = 0) => (v === undefined || v === null ? '—' : v.toFixed(d));
  const o = run.options;
  console.log(`\n**train-step** — ${run.date.slice(0, 10)}, ${run.machine.model}, ${run.machine.cpus} cores (load average ${run.machine.loadavg?.join(' ') ?? '?'}), ` +
    `node ${run.machine.node}, tfjs ${run.versions.tfjs}${run.versions.torch ? `, torch ${run.versions.torch}` : ''}; model ${o.model}, batch ${o.batch}, ` +
    `median of ${o.steps} step(s)\n`);
  console.log('| config | threads | ms / image | GFLOP/s | peak RSS MB | × PyTorch | BP4D epoch (h) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of run.results) {
    if (r.error || r.skipped) {
      console.log(`| ${r.config} | ${r.threads} | ${r.error ? `failed: ${r.error}` : `skipped: ${r.skipped}`} | | | | |`);
      continue;
    }
    console.log(`| ${r.config} | ${r.threads} | ${n(r.msPerImage)} | ${n(r.gflops, 1)} | ${n(r.peakRssMB)} | ${r.vsTorch ? `${r.vsTorch.toFixed(2)}×` : '—'} | ${n(r.epochHours, 1)} |`);
  }
  for (const m of run.threadModel ?? []) {
    for (const cores of Object.keys(m.stepMs)) {
      const perImage = m.stepMs[cores] / o.batch;
      console.log(`| model: sacl-au ${m.backend}, ${cores} cores | ${cores} | ${n(perImage)} | | | | ${n((perImage * o.epochImages) / 3.6e6, 1)} |`);
    }
  }
}

for (const file of process.argv.slice(2)) {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const run = JSON.parse(lines[lines.length - 1]);
  if (run.bench === 'train-step') {
    trainStepTable(run);
    continue;
  }
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
