/**
 * knnGraph on the cpu backend under each instruction set's distance tiles (native/cpu/knn_tile_*.cc, capped
 * by SACL_CPU_ISA in a child process): on small-integer data every distance is exact, so each set must give
 * the indices of this process's own tiles, ties included, on panel tiles (self-graphs, bipartite,
 * symmetric) and row tiles (large D).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { backends, knnGraph } from '../../dist/index.js';
import { assertEqualValues } from '../helpers/assert.js';
import { Rng, randomIntValued } from '../helpers/random.js';

const test = suite('knnGraph: every instruction set');
const cpu = backends().find((b) => b.name === 'cpu');
const index = new URL('../../dist/index.js', import.meta.url).href;

const SHAPES = [
  { B: 2, N: 33, D: 16, k: 9 },
  { B: 1, N: 70, M: 130, D: 20, k: 12 },
  { B: 4, N: 70, D: 20, k: 40 },
  { B: 2, N: 18, D: 4096, k: 9 },
  { B: 1, N: 5, M: 37, D: 7, k: 12, dilation: 3 },
  { B: 4, N: 64, D: 2, k: 12, lo: -1, hi: 1 },
  { B: 1, N: 40, M: 90, D: 3, k: 16, lo: -1, hi: 1 },
];

/**
 * Integers in [lo, hi] (default ±3): squared distances and |differences| summed in float32 stay exact. The
 * small ranges at low D make many ties, which only the ≤ of each set's threshold mask lets through in index order.
 */
function cases() {
  const rng = new Rng(2718);
  return SHAPES.flatMap(({ B, N, M, D, k, dilation, lo = -3, hi = 3 }) => ['euclidean', 'manhattan'].map((metric) => ({
    x: randomIntValued(rng, [B, N, D], lo, hi),
    k,
    opts: { metric, backend: 'cpu', ...(dilation && { dilation }), ...(M && { candidates: randomIntValued(rng, [B, M, D], lo, hi) }) },
  })));
}

// reads the cases as JSON on stdin, answers the tile set in use and each case's indices
const child = `
import { backends, knnGraph } from ${JSON.stringify(index)};
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const revive = (t) => ({ shape: t.shape, data: Float32Array.from(t.data) });
const out = JSON.parse(Buffer.concat(chunks).toString()).map(({ x, k, opts }) =>
  Array.from(knnGraph(revive(x), k, { ...opts, ...(opts.candidates && { candidates: revive(opts.candidates) }) }).data));
process.stdout.write(JSON.stringify({ isa: backends().find((b) => b.name === 'cpu').isa, out }));
`;

function runWithIsa(isa, all) {
  const json = JSON.stringify(all.map(({ x, k, opts }) => ({
    x: { shape: x.shape, data: Array.from(x.data) }, k,
    opts: { ...opts, ...(opts.candidates && { candidates: { shape: opts.candidates.shape, data: Array.from(opts.candidates.data) } }) },
  })));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { input: json, encoding: 'utf8', env: { ...process.env, SACL_CPU_ISA: isa } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

if (cpu?.available) {
  test('generic, avx2 and avx512 tiles give this process\'s indices on exact data', () => {
    const all = cases();
    const want = all.map((c) => knnGraph(c.x, c.k, c.opts));
    const seen = new Set();
    for (const isa of ['generic', 'avx2', 'avx512']) {
      const got = runWithIsa(isa, all);
      seen.add(got.isa);
      // a CPU without the set runs the next one down
      if (isa === 'generic') assert.is(got.isa, 'generic');
      got.out.forEach((idx, i) => assertEqualValues({ shape: want[i].shape, data: Int32Array.from(idx) }, want[i], `${isa} (${got.isa}) case ${i}: ${all[i].opts.metric}`));
    }
    assert.ok(seen.has(cpu.isa), `the default set ${cpu.isa} not among ${[...seen].join(', ')}`);
  });
} else {
  test('the cpu backend is unavailable: nothing to compare', () => {
    assert.not.ok(cpu?.available);
  });
}

test.run();
