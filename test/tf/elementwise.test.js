/**
 * The native element-wise tfjs kernels on the cpu backend (src/tf/kernels/elementwise.ts) against a float64
 * oracle written here: every unary op on ordinary and special values (±0, ±∞, NaN, huge, tiny), every
 * binary op on broadcasting patterns (same shape, scalars either side, rows, columns, both sides
 * broadcasting, rank 0 and rank 6, sizes that span several thread chunks), the same bits for 1 and 2
 * threads, other dtypes left to the stock kernels, and the raw addon refusing bad shapes.
 */
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { assertBitIdentical, assertThrowsWith, assertUlps } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads, cpuKernelSuite, testFastKernelRegistration } from '../helpers/kernels.js';
import { setNumThreads } from '../../dist/index.js';
import { Rng } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = cpuKernelSuite('native element-wise tfjs kernels (cpu)');

const erf = (x) => {
  // float64 erf by its Maclaurin series near 0 and the continued fraction of erfc beyond: ~1e-15 relative
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x * x / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
};

/** tfjs op, float64 oracle, ulps allowed (exact ops 0; libm-style ones a few), input range. */
const UNARY = [
  ['neg', (x) => -x, 0], ['abs', Math.abs, 0], ['square', (x) => x * x, 0],
  ['sqrt', Math.sqrt, 0, 0], ['rsqrt', (x) => 1 / Math.sqrt(x), 1, 0], ['exp', Math.exp, 2],
  ['log', Math.log, 2, 0], ['log1p', Math.log1p, 2, -0.99], ['sigmoid', (x) => 1 / (1 + Math.exp(-x)), 3],
  ['relu', (x) => (x < 0 ? 0 : x), 0], ['erf', erf, 2], ['tanh', Math.tanh, 2], ['reciprocal', (x) => 1 / x, 0],
];

const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 1e-30, -1e-30, 1e30, -1e30, 88.7, -88.7, 100, -100, Infinity, -Infinity, NaN, 3.4e38];

function f32(values) {
  return Float32Array.from(values);
}

/** The oracle's value rounded to float32, as the kernel must give it. */
const oracle = (fn, data) => f32(Array.from(data, (v) => fn(v)));


testFastKernelRegistration(test, addon, { what: 'element-wise', names: ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference', 'Exp', 'Sigmoid', 'Relu', 'Erf'], stock: 'Multiply' });
if (addon) {
  for (const [name, fn, ulps, lo = -20, hi = 20] of UNARY) {
    test(`${name}: random and special values within ${ulps} ulps of float64`, () => {
      const rng = new Rng(name.length * 7919);
      const n = 70000; // over two thread chunks
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = i < SPECIAL.length ? SPECIAL[i] : lo + (hi - lo) * rng.next();
      const got = tf.tidy(() => tf[name](tf.tensor1d(values)).dataSync().slice());
      const want = oracle(fn, values);
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(want[i]) !== Number.isNaN(got[i])) assert.unreachable(`${name}(${values[i]}) = ${got[i]}, expected ${want[i]}`);
      }
      const finite = (a) => ({ shape: [n], data: a.map((v, i) => (Number.isNaN(want[i]) ? 0 : v)) });
      assertUlps(finite(got), finite(want), ulps, name);
    });
  }

  const BINARY = [
    ['add', (a, b) => a + b], ['sub', (a, b) => a - b], ['mul', (a, b) => a * b], ['div', (a, b) => a / b],
    ['maximum', (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b))],
    ['minimum', (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b))],
    // the difference is rounded to float32 before it is squared
    ['squaredDifference', (a, b) => Math.fround(a - b) ** 2],
  ];
  const SHAPES = [
    [[5, 7], [5, 7]], [[], [4, 3]], [[4, 3], []], [[], []], [[2, 3, 6], [6]], [[6], [2, 3, 6]],
    [[4, 5, 1], [4, 1, 6]], [[3, 1, 5], [1, 4, 1]], [[2, 1, 3, 1, 2, 5], [4, 3, 1, 2, 1]], [[1, 1, 7], [7, 1]],
    [[3, 40000], [40000]], [[300, 1], [300, 257]],
    // short runs widened over repeats of the broadcast side ([16, 784, 49, 2] + [2] in the model), on
    // either side, over several thread chunks, and where the pattern changes along an outer axis (not widened)
    [[9, 5, 2], [2]], [[2], [9, 5, 2]], [[2, 70000, 3], [3]], [[4, 7, 3], [1, 7, 3]], [[7, 4, 3], [7, 1, 3]], [[3001, 2], [2]],
    // one long row, or a few, cut into chunks of the flat output (chunks end inside rows)
    [[70001], [70001]], [[70001], []], [[2, 50001], [2, 1]], [[3, 1], [3, 40001]],
  ];

  /** numpy broadcasting in float64, rounded to float32 once at the end. */
  function broadcastOracle(fn, a, aShape, b, bShape) {
    const rank = Math.max(aShape.length, bShape.length);
    const pad = (s) => [...Array(rank - s.length).fill(1), ...s];
    const as = pad(aShape);
    const bs = pad(bShape);
    const out = as.map((d, i) => Math.max(d, bs[i]));
    const n = out.reduce((p, d) => p * d, 1);
    const res = new Float32Array(n);
    const idx = new Array(rank).fill(0);
    for (let f = 0; f < n; f++) {
      let rest = f;
      for (let i = rank - 1; i >= 0; i--) { idx[i] = rest % out[i]; rest = Math.floor(rest / out[i]); }
      let ia = 0;
      let ib = 0;
      for (let i = 0; i < rank; i++) {
        ia = ia * as[i] + (as[i] === 1 ? 0 : idx[i]);
        ib = ib * bs[i] + (bs[i] === 1 ? 0 : idx[i]);
      }
      res[f] = fn(a[ia], b[ib]);
    }
    return { shape: out, data: res };
  }

  for (const [name, fn] of BINARY) {
    test(`${name}: every broadcasting pattern equals the float64 oracle rounded once`, () => {
      const rng = new Rng(name.length * 104729);
      for (const [aShape, bShape] of SHAPES) {
        const size = (s) => s.reduce((p, d) => p * d, 1);
        const a = Float32Array.from({ length: size(aShape) }, () => rng.next() * 4 - 2);
        const b = Float32Array.from({ length: size(bShape) }, () => rng.next() * 4 - 2 + (name === 'div' ? 3 : 0));
        const got = tf.tidy(() => {
          const r = tf[name](tf.tensor(a, aShape), tf.tensor(b, bShape));
          return { shape: r.shape, data: r.dataSync().slice() };
        });
        assertBitIdentical(got, broadcastOracle(fn, a, aShape, b, bShape), `${name} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`);
      }
    });
  }

  test('maximum and minimum give NaN when either side is NaN; ±0 and ±∞ arithmetic as IEEE', () => {
    const a = f32([NaN, 1, NaN, -0, Infinity, -Infinity]);
    const b = f32([1, NaN, NaN, 0, -Infinity, -Infinity]);
    const max = tf.tidy(() => tf.maximum(a, b).dataSync().slice());
    const min = tf.tidy(() => tf.minimum(a, b).dataSync().slice());
    assert.equal(Array.from(max.slice(0, 3)).map(Number.isNaN), [true, true, true]);
    assert.equal(Array.from(min.slice(0, 3)).map(Number.isNaN), [true, true, true]);
    assert.equal(Array.from(max.slice(4)), [Infinity, -Infinity]);
    const sum = tf.tidy(() => tf.add(a, b).dataSync().slice());
    assert.ok(Number.isNaN(sum[4]), '∞ + −∞ is NaN');
  });

  test('the same bits for 1 and 2 threads', () => {
    const rng = new Rng(5);
    const a = Float32Array.from({ length: 3 * 50000 }, () => rng.next() * 10 - 5);
    const b = Float32Array.from({ length: 50000 }, () => rng.next() * 10 - 5);
    const run = () => tf.tidy(() => {
      const r = tf.sigmoid(tf.mul(tf.tensor(a, [3, 50000]), tf.tensor(b, [50000])));
      return { shape: r.shape, data: r.dataSync().slice() };
    });
    assertSameBitsForThreads(run);
  });

  test('a large operation is split over the pool whatever its broadcast (one long row included)', () => {
    setNumThreads(2);
    const pooled = () => addon.info().pooledRuns;
    for (const [aShape, bShape] of [[[1 << 17], [1 << 17]], [[1 << 17], []], [[2, 1 << 16], [2, 1]], [[1 << 12, 32], [32]]]) {
      tf.tidy(() => {
        const a = tf.zeros(aShape);
        const b = tf.ones(bShape);
        const before = pooled();
        tf.add(a, b).dataSync();
        assert.ok(pooled() > before, `add ${JSON.stringify(aShape)} + ${JSON.stringify(bShape)} ran on one thread`);
      });
    }
  });

  test('int32 and bool inputs go to the stock kernels', () => {
    const r = tf.tidy(() => tf.add(tf.tensor1d([2147483000, -5], 'int32'), tf.tensor1d([600, 7], 'int32')));
    assert.is(r.dtype, 'int32');
    assert.equal(Array.from(r.dataSync()), [2147483600, 2]);
    r.dispose();
    const masked = tf.tidy(() => tf.mul(tf.cast(tf.tensor1d([true, false, true], 'bool'), 'float32'), tf.tensor1d([3, 4, 5])).dataSync().slice());
    assert.equal(Array.from(masked), [3, 0, 5]);
  });

  test('the raw addon refuses shapes that do not broadcast or do not match the arrays', () => {
    const a = new Float32Array(6);
    const out = new Float32Array(6);
    const binary = (changes) => () => addon.binary({ op: 2, a, aShape: [2, 3], b: a, bShape: [2, 3], out, outShape: [2, 3], ...changes });
    assertThrowsWith(binary({ b: new Float32Array(2), bShape: [2] }), RangeError,
      [/^Expected the broadcast of aShape and bShape for outShape\[1\] but received 3 \(a: 3, b: 2\)$/]);
    assertThrowsWith(binary({ a: new Float32Array(5) }), RangeError, [/for a\.length/]);
    assertThrowsWith(binary({ out: new Float32Array(5) }), RangeError, [/for out\.length/]);
    assertThrowsWith(binary({ aShape: [2, 0, 3] }), RangeError, [/for aShape\[1\]/]);
    assertThrowsWith(binary({ op: 9 }), RangeError, [/for op/]);
    assertThrowsWith(binary({ aShape: [1, 1, 1, 1, 1, 1, 1, 1, 6], bShape: [6], outShape: [6] }), RangeError, [/for aShape\.length/]);
    assertThrowsWith(binary({ bShape: 6 }), TypeError, [/^Expected an array of sizes for bShape but received 6$/]);
    assertThrowsWith(() => addon.unary({ op: 0, x: a, y: new Float32Array(5) }), RangeError, [/^Expected 6 \(x\.length\) for y\.length but received 5$/]);
    assertThrowsWith(() => addon.unary({ op: 0, x: a, y: new Int32Array(6) }), TypeError, [/Float32Array for y/]);
    assertThrowsWith(() => addon.unary({ op: 0, x: a }), TypeError, [/^Expected a Float32Array for y but received undefined$/]);
    assertThrowsWith(() => addon.unary(0, a, a), TypeError, [/^Expected one argument object for arguments but received 3 arguments$/]);
    assertThrowsWith(binary({ aShape: [65536, 65536], bShape: [65536, 65536], outShape: [65536, 65536] }), RangeError, [/for a\.length/]);
  });
}

test.run();
