/**
 * NesterovSgd.step on every trainable parameter of a model, with the fused kernels (SaclSgdStats,
 * SaclSgdUpdate) and with the composite tfjs ops they replace (the same backend's other kernels, native
 * ones included), alternating so both see the same machine load.
 *
 *   node bench/optimizer-step.js [--model full|tiny] [--backend cpu|wasm] [--steps 7] [--threads 2]
 *
 * Gradients are fixed random normals (σ 1e-3) per parameter; clipping at 5, momentum 0.9, weight decay
 * 5e-4 (the paper's training). Prints the median step time of each path and their ratio.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setNumThreads } from '../dist/index.js';
import { AuModel, modelConfig } from '../dist/model/index.js';
import { SGD_KERNELS, registerFastKernels } from '../dist/tf/index.js';
import { NesterovSgd } from '../dist/train/optimizer.js';
import { upperMedian } from './harness.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'full' }, backend: { type: 'string', default: 'cpu' },
    steps: { type: 'string', default: '7' }, threads: { type: 'string', default: '2' },
  },
});
const steps = Number(a.steps);
if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`Expected an integer ≥ 1 for --steps but received ${a.steps}`);
await tf.setBackend(a.backend);
registerFastKernels(a.backend);
setNumThreads(Number(a.threads));
const fusedKernels = SGD_KERNELS.map((name) => tf.getKernel(name, a.backend));
if (fusedKernels.some((k) => !k)) throw new Error(`no fused optimizer kernels on '${a.backend}' (is the native addon built?)`);

const model = new AuModel(modelConfig(a.model), 1);
const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
const grads = Object.fromEntries([...params.values()].map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1e-3, 'float32', i)]));
const elements = [...params.values()].reduce((n, v) => n + v.size, 0);

/** One optimizer per path (each keeps its own momentum buffers); ms of each timed step. */
const paths = { fused: { opt: new NesterovSgd({ momentum: 0.9, weightDecay: 5e-4, clipNorm: 5 }), ms: [] } };
paths.composite = { opt: new NesterovSgd(paths.fused.opt.options), ms: [] };

function timeStep(name) {
  const composite = name === 'composite';
  if (composite) for (const k of SGD_KERNELS) tf.unregisterKernel(k, a.backend);
  try {
    const t = performance.now();
    paths[name].opt.step(params, grads, 1e-3);
    return performance.now() - t;
  } finally {
    if (composite) for (const k of fusedKernels) tf.registerKernel(k);
  }
}

for (let s = 0; s <= steps; s++) {
  for (const name of s % 2 ? ['fused', 'composite'] : ['composite', 'fused']) {
    const ms = timeStep(name);
    if (s > 0) paths[name].ms.push(ms); // step 0 (first buffers, warm-up) untimed
  }
}
const f = upperMedian(paths.fused.ms);
const c = upperMedian(paths.composite.ms);
console.log(`${a.model} model, ${params.size} parameters (${(elements / 1e6).toFixed(2)} M values), ${a.backend}, ${a.threads} threads, ${steps} steps`);
console.log(`composite ${c.toFixed(1)} ms   fused ${f.toFixed(1)} ms   ratio ${(c / f).toFixed(1)}×`);
console.log(JSON.stringify({ model: a.model, backend: a.backend, threads: Number(a.threads), params: params.size, elements, compositeMs: paths.composite.ms, fusedMs: paths.fused.ms }));
