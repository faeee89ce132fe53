/**
 * Gradient accumulation (src/train/accumulate.ts): micro-batch boundaries, and summed share-weighted
 * micro-batch gradients equal to the whole batch's gradient for a mean loss (a linear least-squares
 * model, no BatchNorm), with every intermediate tensor disposed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { accumulateGradients, microBatches } from '../../dist/train/accumulate.js';
import { useWasm } from '../model/helpers.js';

const test = suite('gradient accumulation');
test.before(useWasm);

test('micro-batch boundaries cover the batch in order; 0 or ≥ the batch is one pass', () => {
  assert.equal(microBatches(5, 2), [[0, 2], [2, 2], [4, 1]]);
  assert.equal(microBatches(6, 3), [[0, 3], [3, 3]]);
  assert.equal(microBatches(5, 0), [[0, 5]]);
  assert.equal(microBatches(3, 8), [[0, 3]]);
  assert.equal(microBatches(1, 1), [[0, 1]]);
});

test('summed share-weighted gradients = the whole batch\'s gradient of a mean loss', () => {
  const B = 7;
  const x = Float32Array.from({ length: B * 3 }, (_, i) => Math.sin(i + 1));
  const y = Float32Array.from({ length: B }, (_, i) => Math.cos(i));
  const w = tf.variable(tf.tensor2d([[0.3], [-0.2], [0.5]]), true, 'w');
  const b = tf.variable(tf.scalar(0.1), true, 'b');
  const gradsOf = (start, n, share) => tf.tidy(() => {
    const xs = tf.tensor2d(x.subarray(start * 3, (start + n) * 3), [n, 3]);
    const ys = tf.tensor2d(y.subarray(start, start + n), [n, 1]);
    return tf.variableGrads(() => tf.mul(tf.mean(tf.square(tf.sub(tf.add(tf.matMul(xs, w), b), ys))), share), [w, b]).grads;
  });
  const whole = gradsOf(0, B, 1);
  const before = tf.memory().numTensors;
  const summed = accumulateGradients(microBatches(B, 3), gradsOf);
  assert.is(tf.memory().numTensors, before + 2, 'only the summed gradients stay');
  for (const name of ['w', 'b']) {
    const [s, f] = [summed[name].dataSync(), whole[name].dataSync()];
    for (let i = 0; i < f.length; i++) assert.ok(Math.abs(s[i] - f[i]) < 1e-5 * (1 + Math.abs(f[i])), `${name}[${i}]: ${s[i]} vs ${f[i]}`);
  }
  tf.dispose([...Object.values(whole), ...Object.values(summed), w, b]);
});

test.run();
