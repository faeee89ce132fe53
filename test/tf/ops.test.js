/**
 * sacl-au/tf on tfjs' cpu backend: the native-backed ops equal their pure-tfjs twins (forward and
 * gradients, on tie-free data), gradients match finite differences, and a small model that uses all three
 * ops trains.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { knnGraph, knnGraphPure, maxRelative, maxRelativePure, roiAlign, roiAlignPure } from '../../dist/tf/index.js';
import { assertClose, assertEqualValues, assertThrowsWith } from '../helpers/assert.js';
import { Rng, distinctFloat32, randomFloat32 } from '../helpers/random.js';

const test = suite('sacl-au/tf on tfjs cpu');
// uvu imports every file before running any suite: set the backend when this suite starts
test.before(async () => { await tf.setBackend('cpu'); });
const t3 = (t) => tf.tensor3d(t.data, t.shape);
const values = (t) => ({ shape: t.shape, data: t.dataSync() });

test('knnGraph equals topk over the full distance tensor (every metric, normalize, dilation, candidates)', () => {
  const rng = new Rng(1);
  const x = t3(randomFloat32(rng, [2, 23, 7]));
  const y = t3(randomFloat32(rng, [2, 31, 7]));
  for (const metric of ['euclidean', 'cosine', 'manhattan']) {
    for (const normalize of [false, true]) {
      for (const opts of [{}, { dilation: 2 }, { candidates: y, dilation: 3 }]) {
        const o = { metric, normalize, ...opts };
        const got = knnGraph(x, 5, o);
        assert.is(got.dtype, 'int32');
        assertEqualValues(values(got), values(knnGraphPure(x, 5, o)), `${metric} ${normalize} ${JSON.stringify(Object.keys(opts))}`);
      }
    }
  }
});

test('maxRelative: forward and gradients equal the gather/max twin (self and bipartite)', () => {
  const rng = new Rng(2);
  const x = t3(distinctFloat32(rng, [2, 9, 6]));
  const y = t3(distinctFloat32(rng, [2, 13, 6]));
  const idx = knnGraph(x, 4, { candidates: y });
  const selfIdx = knnGraph(x, 4);
  const w = t3(randomFloat32(rng, [2, 9, 6]));
  assertClose(values(maxRelative(x, idx, y)), values(maxRelativePure(x, idx, y)), { rtol: 0 });
  const [gx, gy] = tf.grads((a, b) => tf.sum(tf.mul(w, maxRelative(a, idx, b))))([x, y]);
  const [px, py] = tf.grads((a, b) => tf.sum(tf.mul(w, maxRelativePure(a, idx, b))))([x, y]);
  assertClose(values(gx), values(px), { rtol: 0, atol: 1e-6 });
  assertClose(values(gy), values(py), { rtol: 0, atol: 1e-6 });
  const g = tf.grad((a) => tf.sum(tf.mul(w, maxRelative(a, selfIdx))))(x);
  const p = tf.grad((a) => tf.sum(tf.mul(w, maxRelativePure(a, selfIdx))))(x);
  assertClose(values(g), values(p), { rtol: 0, atol: 1e-6 });
});

test('roiAlign: forward and feature gradient equal the gather twin; no gradient to the centres', () => {
  const rng = new Rng(3);
  const f = tf.tensor4d(randomFloat32(rng, [2, 9, 8, 3]).data, [2, 9, 8, 3]);
  const c = t3(randomFloat32(rng, [2, 4, 2], -1, 9));
  const w = tf.tensor(randomFloat32(rng, [2, 4, 3, 3, 3]).data, [2, 4, 3, 3, 3]);
  assertClose(values(roiAlign(f, c, 3, { step: 1.5 })), values(roiAlignPure(f, c, 3, 1.5)), { rtol: 1e-5, atol: 1e-6 });
  const [gf, gc] = tf.grads((a, b) => tf.sum(tf.mul(w, roiAlign(a, b, 3, { step: 1.5 }))))([f, c]);
  const pf = tf.grad((a) => tf.sum(tf.mul(w, roiAlignPure(a, c, 3, 1.5))))(f);
  assertClose(values(gf), values(pf), { rtol: 1e-5, atol: 1e-6 });
  assert.ok(gc.dataSync().every((v) => v === 0), 'the centres must get a zero gradient');
});

test('gradients match central finite differences (maxRelative in x, roiAlign in the features)', () => {
  const rng = new Rng(4);
  const x = t3(distinctFloat32(rng, [1, 6, 4], 0.05));
  const idx = knnGraph(x, 3);
  const w = t3(randomFloat32(rng, [1, 6, 4]));
  const loss = (a) => tf.sum(tf.mul(w, maxRelative(a, idx)));
  const g = tf.grad(loss)(x).dataSync();
  const base = x.dataSync();
  for (const i of [0, 5, 11, 23]) {
    const h = 1e-3;
    const plus = Float32Array.from(base); plus[i] += h;
    const minus = Float32Array.from(base); minus[i] -= h;
    const fd = (loss(tf.tensor3d(plus, x.shape)).dataSync()[0] - loss(tf.tensor3d(minus, x.shape)).dataSync()[0]) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) < 1e-2, `maxRelative d/dx[${i}]: finite difference ${fd} vs gradient ${g[i]}`);
  }
  const f = tf.tensor4d(randomFloat32(rng, [1, 5, 5, 2]).data, [1, 5, 5, 2]);
  const c = tf.tensor3d([1.3, 2.6, 3.1, 0.4], [1, 2, 2]);
  const wr = tf.tensor(randomFloat32(rng, [1, 2, 2, 2, 2]).data, [1, 2, 2, 2, 2]);
  const roiLoss = (a) => tf.sum(tf.mul(wr, roiAlign(a, c, 2)));
  const gr = tf.grad(roiLoss)(f).dataSync();
  const fb = f.dataSync();
  for (const i of [0, 7, 18, 33, 49]) {
    const h = 1e-2;
    const plus = Float32Array.from(fb); plus[i] += h;
    const minus = Float32Array.from(fb); minus[i] -= h;
    const fd = (roiLoss(tf.tensor4d(plus, f.shape)).dataSync()[0] - roiLoss(tf.tensor4d(minus, f.shape)).dataSync()[0]) / (2 * h);
    assert.ok(Math.abs(fd - gr[i]) < 1e-3, `roiAlign d/df[${i}]: finite difference ${fd} vs gradient ${gr[i]}`);
  }
});

test('a small graph model using all three ops trains (loss falls by more than half)', () => {
  const rng = new Rng(5);
  const features = tf.variable(tf.tensor4d(randomFloat32(rng, [2, 10, 10, 4]).data, [2, 10, 10, 4]));
  const weight = tf.variable(tf.tensor2d(randomFloat32(rng, [36, 3], -0.3, 0.3).data, [36, 3]));
  const centers = tf.tensor3d([2, 2, 7, 3, 4, 7, 8, 8, 3, 5, 6, 1, 1, 8, 5, 5], [2, 4, 2]);
  const target = tf.tensor3d(randomFloat32(rng, [2, 4, 3]).data, [2, 4, 3]);
  const optimizer = tf.train.sgd(0.05);
  const step = () => optimizer.minimize(() => {
    const nodes = tf.reshape(roiAlign(features, centers, 3), [2, 4, 36]);     // ROI crops → node features
    const graph = knnGraph(nodes, 2);                                          // rebuilt from the features
    const mixed = tf.add(nodes, maxRelative(nodes, graph));                    // max-relative aggregation
    const out = tf.reshape(tf.matMul(tf.reshape(mixed, [8, 36]), weight), [2, 4, 3]);
    return tf.mean(tf.square(tf.sub(out, target)));
  }, true).dataSync()[0];
  const first = step();
  let last = first;
  for (let i = 0; i < 60; i++) last = step();
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
});

test('bad input: wrong tensor types are refused with TypeError naming the argument', () => {
  const ints = tf.tensor3d([1, 2, 3, 4], [1, 2, 2], 'int32');
  assertThrowsWith(() => knnGraph(ints, 1), TypeError, [/^Expected "float32" for x\.dtype but received "int32"$/]);
  assertThrowsWith(() => knnGraph({ shape: [1, 2, 2] }, 1), TypeError, [/for x but received Object$/]);
  const x = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
  assertThrowsWith(() => maxRelative(x, x), TypeError, [/for idx\.dtype/]);
});

test.run();
