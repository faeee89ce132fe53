/**
 * A training step's JavaScript makes no tensor from values once warm: the losses' numbers, the BatchNorm
 * update's unbiased-variance factor and the AU table's constants are kept (src/tf/constants.ts), and Sum's
 * gradient tiles dy instead of multiplying it by a ones tensor. On the cpu backend each tensor made from
 * values in the middle of a step is a V8 backing store, so a forced young-generation GC while the step's
 * large outputs are alive (src/tf/kernels/release.ts). Also: ZerosLike and OnesLike on host memory, the
 * same as the stock kernels.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { registerFastKernels, stockKernel } from '../../dist/tf/index.js';
import { loadNative } from '../../dist/backends/native.js';
import { weightedAsymmetricLoss, weightedDiceLoss, landmarkLoss } from '../../dist/train/losses.js';
import { BatchNorm } from '../../dist/model/layers.js';
import { ParamStore } from '../../dist/model/params.js';
import { auCentresTensor } from '../../dist/model/au-centres.js';
import '../../dist/tf/fused.js';
import { withKernel } from '../helpers/kernels.js';

const test = suite('tensors made from values during a step');
const { addon } = loadNative();

test.before(async () => {
  await tf.setBackend('cpu');
  registerFastKernels('cpu');
});

/** The tensors fn makes from JavaScript values (tf.scalar, tf.tensor1d, a number operand, tf.ones…). */
function madeFromValues(fn) {
  const engine = tf.engine();
  const own = engine.makeTensor;
  let made = 0;
  engine.makeTensor = function (...args) {
    made++;
    return own.apply(this, args);
  };
  try {
    tf.tidy(() => {
      fn();
    });
  } finally {
    engine.makeTensor = own;
  }
  return made;
}

test('the three losses make none on a second call', () => {
  const probs = tf.tensor2d([0.2, 0.9, 0.5, 1e-9], [2, 2]);
  const labels = tf.tensor2d([0, 1, 1, 0], [2, 2]);
  const mask = tf.tensor2d([1, 1, 0, 1], [2, 2]);
  const weights = tf.tensor1d([1, 2]);
  const pred = tf.randomNormal([2, 49, 2], 0, 1, 'float32', 3);
  const target = tf.randomNormal([2, 49, 2], 0, 1, 'float32', 4);
  const io = tf.tensor1d([30, 0]);
  const has = tf.tensor1d([1, 0]);
  const all = () => [weightedAsymmetricLoss(probs, labels, mask, weights), weightedDiceLoss(probs, labels, mask, weights),
    landmarkLoss(pred, target, io, has)];
  const first = tf.tidy(() => all().map((l) => l.dataSync()[0]));
  assert.is(madeFromValues(all), 0);
  const again = tf.tidy(() => all().map((l) => l.dataSync()[0]));
  assert.equal(again, first);
  // the values the numbers stand for: the asymmetric loss of this batch by hand (ε = 1e-8 clamps p = 1e-9)
  const p = [0.2, 0.9, 0.5, 1e-9].map(Math.fround);
  const terms = [(1 - 0) * p[0] * Math.log(1 - p[0]), 2 * Math.log(p[1]), 0, (1 - 0) * 2 * p[3] * Math.log(1 - p[3])];
  assert.ok(Math.abs(first[0] - -(terms[0] + terms[1] + terms[3]) / 3) < 1e-6, String(first[0]));
  tf.dispose([probs, labels, mask, weights, pred, target, io, has]);
});

test('BatchNorm in training makes none on a second call (its running-variance factor is kept)', () => {
  const bn = new BatchNorm(new ParamStore(1), 'bn', 4);
  const x = tf.randomNormal([3, 5, 4], 0, 1, 'float32', 5);
  bn.apply(x, { training: true }).dispose();
  assert.is(madeFromValues(() => bn.apply(x, { training: true })), 0);
  // the unbiased running variance after two updates from ones: 0.81 · 1 + 2 · 0.1 · var · n / (n − 1)
  const n = 15;
  const xs = x.arraySync().flat();
  const c0 = xs.map((v) => v[0]);
  const mean = c0.reduce((a, b) => a + b, 0) / n;
  const unbiased = c0.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const expected = 0.9 * (0.9 * 1 + 0.1 * unbiased) + 0.1 * unbiased;
  assert.ok(Math.abs(bn.runningVar.dataSync()[0] - expected) < 1e-5, `${bn.runningVar.dataSync()[0]} vs ${expected}`);
  x.dispose();
});

test("the AU centres make none on a second call (the table's landmark indices and offsets are kept)", () => {
  const landmarks = tf.randomUniform([2, 49, 2], 20, 200, 'float32', 6);
  const first = tf.tidy(() => auCentresTensor(landmarks, 'bp4d', 0.25).arraySync());
  assert.is(madeFromValues(() => auCentresTensor(landmarks, 'bp4d', 0.25)), 0);
  assert.equal(tf.tidy(() => auCentresTensor(landmarks, 'bp4d', 0.25).arraySync()), first);
  landmarks.dispose();
});

test("Sum's gradient: dy over the summed axes, bit for bit dy · 1 (−0, NaN and ∞ included), no ones tensor made", () => {
  const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 7);
  for (const [axis, keepDims] of [[1, false], [[0, 2], false], [[0, 2], true], [null, false], [-1, true], [[], false]]) {
    const dyShape = tf.sum(x, axis, keepDims).shape;
    const size = dyShape.reduce((a, b) => a * b, 1);
    const dyValues = Float32Array.from({ length: size }, (_, i) => [-0, NaN, Infinity, -2.5, 1e-30][i % 5] * (i % 7 === 6 ? 3 : 1));
    const dy = tf.tensor(dyValues, dyShape);
    let made;
    const g = tf.tidy(() => {
      const grad = tf.grad((t) => tf.sum(t, axis, keepDims));
      made = madeFromValues(() => grad(x, dy));
      return grad(x, dy);
    });
    assert.is(made, 0, `axis ${JSON.stringify(axis)}`);
    // tfjs-core's own: the dy reshaped with the summed axes kept, times ones of x's shape
    const axes = axis === null ? [0, 1, 2] : [axis].flat().map((a) => (a < 0 ? a + 3 : a));
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const expected = tf.tidy(() => tf.mul(tf.reshape(dy, kept), tf.ones(x.shape)).dataSync());
    const got = g.dataSync();
    assert.equal(g.shape, x.shape);
    assert.equal(new Uint32Array(got.buffer, got.byteOffset, got.length), new Uint32Array(expected.buffer, expected.byteOffset, expected.length),
      `axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
    tf.dispose([dy, g]);
  }
  x.dispose();
});

if (addon) {
  test('ZerosLike and OnesLike are ours on cpu: the stock values and dtypes; bool goes to the stock kernel', () => {
    const active = registerFastKernels('cpu');
    assert.ok(active.includes(tf.ZerosLike) && active.includes(tf.OnesLike), active.join(', '));
    const inputs = [tf.randomNormal([3, 7], 0, 1, 'float32', 8), tf.tensor1d([5, -3, 2], 'int32'), tf.scalar(2.5), tf.zeros([0, 4]),
      tf.tensor1d([true, false], 'bool')];
    for (const [op, name] of [[tf.zerosLike, tf.ZerosLike], [tf.onesLike, tf.OnesLike]]) {
      for (const x of inputs) {
        const ours = op(x);
        const stock = withKernel(stockKernel(name, 'cpu'), () => op(x));
        assert.is(ours.dtype, stock.dtype);
        assert.equal(ours.shape, stock.shape);
        assert.equal(Array.from(ours.dataSync()), Array.from(stock.dataSync()), `${name} of ${x.dtype} ${x.shape}`);
        tf.dispose([ours, stock]);
      }
    }
    tf.dispose(inputs);
  });
}

test.run();
