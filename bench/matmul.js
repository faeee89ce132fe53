/**
 * The native GEMM behind sacl-au's tfjs BatchMatMul kernel against the stock tfjs kernels, on the matrix
 * products the tiny model's training step runs (and one square product): tfjs-cpu and tfjs-wasm stock,
 * then both with registerFastKernels (native GEMM, in place). Prints a table (ms, GFLOP/s = 2·B·M·N·K / t,
 * speed-up over stock wasm) and one JSON line.   node bench/matmul.js [--quick]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { registerFastKernels } from '../dist/tf/index.js';
import { measure } from './harness.js';

const quick = process.argv.includes('--quick');
const timing = quick ? { budgetMs: 300, maxRuns: 5, minRuns: 2, warmups: 1 } : { budgetMs: 2000, maxRuns: 200, minRuns: 5, warmups: 2 };

/** [name, a shape, b shape, transposeA, transposeB] */
const CASES = [
  ['token linear 12544×32 · 32×64', [12544, 32], [32, 64], false, false],
  ['query scores 12832×240 · (12×240)ᵀ', [12832, 240], [12, 240], false, true],
  ['AU pooling 16 × (12×802 · 802×240)', [16, 12, 802], [16, 802, 240], false, false],
  ['pooling grad 16 × (802×12 · 12×240)', [16, 12, 802], [16, 12, 240], true, false],
  ['square 512×512 · 512×512', [512, 512], [512, 512], false, false],
];

async function timeAll(backend) {
  await tf.setBackend(backend);
  const out = [];
  for (const [name, sa, sb, ta, tb] of CASES) {
    const a = tf.randomNormal(sa, 0, 1, 'float32', 1);
    const b = tf.randomNormal(sb, 0, 1, 'float32', 2);
    const m = await measure(() => { const c = tf.matMul(a, b, ta, tb); c.dataSync(); c.dispose(); }, timing, quick);
    const batch = sa.length === 3 ? sa[0] : 1;
    const M = ta ? sa.at(-1) : sa.at(-2);
    const K = ta ? sa.at(-2) : sa.at(-1);
    const N = tb ? sb.at(-2) : sb.at(-1);
    out.push({ case: name, ms: m.medianMs, gflops: (2 * batch * M * N * K) / (m.medianMs * 1e6) });
    tf.dispose([a, b]);
  }
  return out;
}

const results = {};
results['tfjs-cpu stock'] = await timeAll('cpu');
results['tfjs-wasm stock'] = await timeAll('wasm');
registerFastKernels('cpu');
registerFastKernels('wasm');
results['tfjs-cpu + native GEMM'] = await timeAll('cpu');
results['tfjs-wasm + native GEMM'] = await timeAll('wasm');

console.log(`# sacl-au bench: matmul   ${new Date().toISOString()}\n# CPU: ${os.cpus()[0]?.model?.trim()}, ${os.cpus().length} cores   node ${process.version}   tfjs ${tf.version.tfjs}\n`);
const configs = Object.keys(results);
console.log(`${'case'.padEnd(38)} ${configs.map((c) => c.padStart(24)).join('')} ${'× stock wasm'.padStart(13)}`);
CASES.forEach(([name], i) => {
  const cells = configs.map((c) => `${results[c][i].ms.toFixed(2)} ms ${results[c][i].gflops.toFixed(1).padStart(5)} GF`.padStart(24)).join('');
  const speedup = results['tfjs-wasm stock'][i].ms / results['tfjs-wasm + native GEMM'][i].ms;
  console.log(`${name.padEnd(38)} ${cells} ${speedup.toFixed(1).padStart(13)}`);
});
console.log(JSON.stringify({ bench: 'matmul', date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model?.trim(), node: process.version }, tfjs: tf.version.tfjs, results }));
