/**
 * One training step (forward, backward, SGD update) of a small convolutional net on tfjs backends: stock
 * tfjs-cpu, tfjs-cpu with sacl-au's fast kernels (registerFastKernels), and wasm with them (stock wasm
 * cannot train convolutions: it has no Conv2DBackpropFilter). Prints a table and one JSON line.
 *   node bench/train-step.js [--quick]
 * The net stands in for the model issue's smallest config until that exists: 16 × 48×48×3 images, three
 * 3×3 convolutions (16, 32, 64 channels, strides 1, 2, 2) with ReLU, global average pooling, 12 sigmoid
 * outputs, binary cross-entropy.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { registerFastKernels } from '../dist/tf/index.js';
import { measure } from './harness.js';

const quick = process.argv.includes('--quick');
const timing = quick ? { budgetMs: 2000, maxRuns: 3, minRuns: 2, warmups: 1 } : { budgetMs: 15000, maxRuns: 20, minRuns: 5, warmups: 1 };

function makeStep() {
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

async function time(backend) {
  await tf.setBackend(backend);
  const { step, dispose } = makeStep();
  const m = await measure(step, timing, quick);
  dispose();
  return m;
}

const rows = [];
rows.push({ config: 'tfjs-cpu, stock kernels', backend: 'cpu', ...(await time('cpu')) });
registerFastKernels('cpu');
rows.push({ config: 'tfjs-cpu + sacl-au kernels', backend: 'cpu', ...(await time('cpu')) });
registerFastKernels('wasm');
rows.push({ config: 'tfjs-wasm + sacl-au kernels', backend: 'wasm', ...(await time('wasm')) });
const stock = rows[0].medianMs;
for (const r of rows) r.speedup = stock / r.medianMs;

console.log(`# sacl-au bench: train-step   ${new Date().toISOString()}\n# CPU: ${os.cpus()[0]?.model?.trim()}, ${os.cpus().length} cores   node ${process.version}   tfjs ${tf.version.tfjs}\n`);
console.log(`${'config'.padEnd(30)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'runs'.padStart(5)} ${'× stock cpu'.padStart(12)}`);
for (const r of rows) {
  console.log(`${r.config.padEnd(30)} ${r.medianMs.toFixed(1).padStart(10)} ${r.minMs.toFixed(1).padStart(9)} ${String(r.runs).padStart(5)} ${r.speedup.toFixed(1).padStart(12)}`);
}
console.log(JSON.stringify({ bench: 'train-step', date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model?.trim(), node: process.version }, tfjs: tf.version.tfjs, results: rows }));
