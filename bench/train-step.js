/**
 * One training step (forward, backward, SGD update) on tfjs backends: stock tfjs-cpu, tfjs-cpu with
 * sacl-au's kernels (registerFastKernels), and wasm with them (stock wasm cannot train convolutions: it
 * has no Conv2DBackpropFilter). Two workloads:
 *   - model-tiny: the MSPSACL model's `tiny` preset (the smallest config), batch 16 at 112×112, AU
 *     cross-entropy + landmark loss, SGD with Nesterov momentum;
 *   - conv-net: 16 × 48×48×3 images, three 3×3 convolutions (16, 32, 64 channels, strides 1, 2, 2) with
 *     ReLU, global average pooling, 12 sigmoid outputs.
 * Prints a table and one JSON line.   node bench/train-step.js [--quick]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { registerFastKernels } from '../dist/tf/index.js';
import { AuModel, modelConfig } from '../dist/model/index.js';
import { measure } from './harness.js';

const quick = process.argv.includes('--quick');
const timing = quick ? { budgetMs: 2000, maxRuns: 3, minRuns: 2, warmups: 1 } : { budgetMs: 15000, maxRuns: 20, minRuns: 3, warmups: 1 };

function makeModelStep() {
  const config = modelConfig('tiny');
  const model = new AuModel(config, 1);
  const s = config.inputSize;
  const images = tf.randomNormal([16, s, s, 3], 0, 1, 'float32', 5);
  const labels = tf.cast(tf.greater(tf.randomUniform([16, model.numAus], 0, 1, 'float32', 6), 0.7), 'float32');
  const landmarks = tf.randomUniform([16, 49, 2], 0.3 * s, 0.7 * s, 'float32', 7);
  const optimizer = tf.train.momentum(1e-3, 0.9, true);
  const step = () => optimizer.minimize(() => {
    const out = model.apply(images, { training: true });
    return tf.add(tf.losses.sigmoidCrossEntropy(labels, out.logits), tf.mul(tf.losses.meanSquaredError(landmarks, out.landmarks), 1e-3));
  }, true, model.trainableVariables()).dataSync()[0];
  const dispose = () => { tf.dispose([images, labels, landmarks]); optimizer.dispose(); model.dispose(); };
  return { step, dispose };
}

function makeConvStep() {
  const init = (shape, seed) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / (shape[0] * shape[1] * shape[2])), 'float32', seed));
  const w1 = init([3, 3, 3, 16], 1);
  const w2 = init([3, 3, 16, 32], 2);
  const w3 = init([3, 3, 32, 64], 3);
  const wd = tf.variable(tf.randomNormal([64, 12], 0, 0.1, 'float32', 4));
  const images = tf.randomNormal([16, 48, 48, 3], 0, 1, 'float32', 5);
  const labels = tf.cast(tf.greater(tf.randomUniform([16, 12], 0, 1, 'float32', 6), 0.7), 'float32');
  const optimizer = tf.train.sgd(0.01);
  const step = () => optimizer.minimize(() => {
    const h1 = tf.relu(tf.conv2d(images, w1, 1, 'same'));
    const h2 = tf.relu(tf.conv2d(h1, w2, 2, 'same'));
    const h3 = tf.relu(tf.conv2d(h2, w3, 2, 'same'));
    const logits = tf.matMul(tf.mean(h3, [1, 2]), wd);
    return tf.losses.sigmoidCrossEntropy(labels, logits);
  }, true).dataSync()[0];
  const dispose = () => tf.dispose([w1, w2, w3, wd, images, labels]);
  return { step, dispose };
}

const WORKLOADS = { 'model-tiny': makeModelStep, 'conv-net': makeConvStep };

async function time(backend, workload) {
  await tf.setBackend(backend);
  const { step, dispose } = WORKLOADS[workload]();
  const m = await measure(step, timing, quick);
  dispose();
  return m;
}

const rows = [];
// stock cpu first: registering the kernels replaces the stock ones for the rest of the process
for (const workload of Object.keys(WORKLOADS)) rows.push({ workload, config: 'tfjs-cpu, stock kernels', backend: 'cpu', ...(await time('cpu', workload)) });
registerFastKernels('cpu');
for (const workload of Object.keys(WORKLOADS)) rows.push({ workload, config: 'tfjs-cpu + sacl-au kernels', backend: 'cpu', ...(await time('cpu', workload)) });
registerFastKernels('wasm');
for (const workload of Object.keys(WORKLOADS)) rows.push({ workload, config: 'tfjs-wasm + sacl-au kernels', backend: 'wasm', ...(await time('wasm', workload)) });
for (const r of rows) r.speedup = rows.find((s) => s.workload === r.workload).medianMs / r.medianMs;
rows.sort((a, b) => a.workload.localeCompare(b.workload) * -1);

console.log(`# sacl-au bench: train-step   ${new Date().toISOString()}\n# CPU: ${os.cpus()[0]?.model?.trim()}, ${os.cpus().length} cores   node ${process.version}   tfjs ${tf.version.tfjs}\n`);
console.log(`${'workload'.padEnd(11)} ${'config'.padEnd(30)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'runs'.padStart(5)} ${'× stock cpu'.padStart(12)}`);
for (const r of rows) {
  console.log(`${r.workload.padEnd(11)} ${r.config.padEnd(30)} ${r.medianMs.toFixed(1).padStart(10)} ${r.minMs.toFixed(1).padStart(9)} ${String(r.runs).padStart(5)} ${r.speedup.toFixed(1).padStart(12)}`);
}
console.log(JSON.stringify({ bench: 'train-step', date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model?.trim(), node: process.version }, tfjs: tf.version.tfjs, results: rows }));
