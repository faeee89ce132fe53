/**
 * The native convolution kernels on the cpu backend (src/tf/kernels/conv-native.ts): Conv2D,
 * Conv2DBackpropFilter, Conv2DBackpropInput, DepthwiseConv2dNative and both depthwise gradients against a
 * float64 oracle written here (direct loops over the taps), and against tfjs' stock kernels in the same
 * process (withStockKernels): to rounding for the GEMM-based ones, to the bit for the depthwise ones. Shapes cover 'same' / 'valid' /
 * explicit asymmetric padding, strides 1–3 (per axis), 1×1 filters (the plain-GEMM path), filters larger
 * than the input, size-1 axes, odd sizes, channel multipliers, and sizes that span several im2col blocks and
 * threads; plus special values (NaN, ±∞, −0), the same bits for 1 and 2 threads, the cases left to the stock
 * kernels, and the raw addon refusing bad geometry.
 */
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { setNumThreads } from '../../dist/index.js';
import { withStockKernels } from '../../dist/tf/index.js';
import { assertBitIdentical, assertClose, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads, cpuKernelSuite, testFastKernelRegistration } from '../helpers/kernels.js';
import { Rng, numel } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = cpuKernelSuite('native convolution tfjs kernels (cpu)');

const CONV_KERNELS = ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter'];

/** Output size and leading padding per axis, computed here from the definitions (not from tfjs). */
function axis(size, k, stride, pad, which) {
  if (pad === 'valid') return { out: Math.ceil((size - k + 1) / stride), before: 0 };
  if (pad === 'same') {
    const out = Math.ceil(size / stride);
    return { out, before: Math.floor(Math.max((out - 1) * stride + k - size, 0) / 2) };
  }
  const [before, after] = pad[which];
  return { out: Math.floor((size + before + after - k) / stride) + 1, before };
}

/** The geometry of a convolution of x [B, H, W, C] by a KH × KW filter. */
function geometry(xShape, KH, KW, strides, pad) {
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const [B, H, W, C] = xShape;
  const h = axis(H, KH, sh, pad, 1);
  const w = axis(W, KW, sw, pad, 2);
  return { B, H, W, C, KH, KW, sh, sw, OH: h.out, OW: w.out, pt: h.before, pl: w.before };
}

/** visit(b, oh, ow, kh, kw, ih, iw) for every tap that reads inside the input. */
function forEachTap(g, visit) {
  for (let b = 0; b < g.B; b++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.sh - g.pt + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.sw - g.pl + kw;
            if (iw >= 0 && iw < g.W) visit(b, oh, ow, kh, kw, ih, iw);
          }
        }
      }
    }
  }
}

/** A float64 sum per output element, with Σ|terms| and the term count for its rounding tolerance. */
class Sums {
  constructor(shape) {
    this.shape = shape;
    this.sum = new Float64Array(numel(shape));
    this.abs = new Float64Array(this.sum.length);
    this.n = new Float64Array(this.sum.length);
  }

  add(i, t) {
    this.sum[i] += t;
    this.abs[i] += Math.abs(t);
    this.n[i]++;
  }

  /** float32 sums rounded in any order: 4·√n ulps of Σ|terms| (a missed or extra tap is far larger). */
  expect(actual, msg) {
    const atol = this.abs.map((a, i) => 4 * Math.sqrt(this.n[i]) * 2 ** -24 * a + 1e-30);
    assertClose({ shape: actual.shape, data: actual.data }, { shape: this.shape, data: Float32Array.from(this.sum) }, { rtol: 0, atol }, msg);
  }
}

/** visit(xi, wi, yi) for each product x[xi]·w[wi] that a convolution adds into y[yi] (flat indices; w HWIO). */
function denseTerms(g, Co, visit) {
  forEachTap(g, (b, oh, ow, kh, kw, ih, iw) => {
    for (let ci = 0; ci < g.C; ci++) {
      for (let co = 0; co < Co; co++) visit(((b * g.H + ih) * g.W + iw) * g.C + ci, ((kh * g.KW + kw) * g.C + ci) * Co + co, ((b * g.OH + oh) * g.OW + ow) * Co + co);
    }
  });
}

/** The same for a depthwise convolution with channel multiplier M (w [KH, KW, C, M], output channel j from x's j / M). */
function depthwiseTerms(g, M, visit) {
  forEachTap(g, (b, oh, ow, kh, kw, ih, iw) => {
    for (let j = 0; j < g.C * M; j++) {
      visit(((b * g.H + ih) * g.W + iw) * g.C + Math.floor(j / M), (kh * g.KW + kw) * g.C * M + j, ((b * g.OH + oh) * g.OW + ow) * g.C * M + j);
    }
  });
}

/**
 * The forward sum and both gradients of one convolution, from its products: y = Σ x·w, dx = Σ w·dy and
 * dw = Σ x·dy over the same (xi, wi, yi). shapes(g, n) gives x's, w's and y's shapes.
 */
function adjoints(terms, shapes) {
  const total = (shape, g, n, add) => {
    const r = new Sums(shape);
    terms(g, n, (xi, wi, yi) => add(r, xi, wi, yi));
    return r;
  };
  return {
    forward: (x, w, g, n) => total(shapes(g, n).y, g, n, (r, xi, wi, yi) => r.add(yi, x[xi] * w[wi])),
    input: (dy, w, g, n) => total(shapes(g, n).x, g, n, (r, xi, wi, yi) => r.add(xi, w[wi] * dy[yi])),
    filter: (x, dy, g, n) => total(shapes(g, n).w, g, n, (r, xi, wi, yi) => r.add(wi, x[xi] * dy[yi])),
  };
}

const dense = adjoints(denseTerms, (g, Co) => ({ x: [g.B, g.H, g.W, g.C], w: [g.KH, g.KW, g.C, Co], y: [g.B, g.OH, g.OW, Co] }));
const depthwise = adjoints(depthwiseTerms, (g, M) => ({ x: [g.B, g.H, g.W, g.C], w: [g.KH, g.KW, g.C, M], y: [g.B, g.OH, g.OW, g.C * M] }));
const oracle = {
  conv2d: dense.forward, conv2dFilter: dense.filter, conv2dInput: dense.input,
  depthwise: depthwise.forward, depthwiseInput: depthwise.input, depthwiseFilter: depthwise.filter,
};

const random = (rng, shape) => Float32Array.from({ length: numel(shape) }, () => rng.uniform(-1, 1));
const explicit = (t, b, l, r) => [[0, 0], [t, b], [l, r], [0, 0]];

/** Runs a kernel through the engine; returns { shape, data } (copied) and disposes the tensors. */
function run(kernelName, inputs, attrs) {
  return tf.tidy(() => {
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, [data, shape]]) => [k, tf.tensor(data, shape)]));
    const out = tf.engine().runKernel(kernelName, tensors, attrs);
    return { shape: out.shape, data: out.dataSync().slice() };
  });
}

/** The five kernels' calls for one case: name → () => { shape, data }, with the oracle for each. */
function calls(c, rng) {
  const { xShape, fShape, strides, pad } = c;
  const [KH, KW, C, last] = fShape;
  const g = geometry(xShape, KH, KW, strides, pad);
  const x = random(rng, xShape);
  const f = random(rng, fShape);
  const yShape = [g.B, g.OH, g.OW, c.depthwise ? C * last : last];
  const dy = random(rng, yShape);
  const base = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
  if (!c.depthwise) {
    return [
      ['Conv2D', () => run('Conv2D', { x: [x, xShape], filter: [f, fShape] }, base), () => oracle.conv2d(x, f, g, last)],
      ['Conv2DBackpropFilter', () => run('Conv2DBackpropFilter', { x: [x, xShape], dy: [dy, yShape] }, { ...base, filterShape: fShape }),
        () => oracle.conv2dFilter(x, dy, g, last)],
      ['Conv2DBackpropInput', () => run('Conv2DBackpropInput', { dy: [dy, yShape], filter: [f, fShape] }, { ...base, inputShape: xShape }),
        () => oracle.conv2dInput(dy, f, g, last)],
    ];
  }
  return [
    ['DepthwiseConv2dNative', () => run('DepthwiseConv2dNative', { x: [x, xShape], filter: [f, fShape] }, base), () => oracle.depthwise(x, f, g, last)],
    ['DepthwiseConv2dNativeBackpropInput', () => run('DepthwiseConv2dNativeBackpropInput', { dy: [dy, yShape], filter: [f, fShape] },
      { ...base, inputShape: xShape }), () => oracle.depthwiseInput(dy, f, g, last)],
    ['DepthwiseConv2dNativeBackpropFilter', () => run('DepthwiseConv2dNativeBackpropFilter', { x: [x, xShape], dy: [dy, yShape] },
      { ...base, filterShape: fShape }), () => oracle.depthwiseFilter(x, dy, g, last)],
  ];
}

const CASES = [
  { xShape: [2, 9, 11, 5], fShape: [3, 3, 5, 7], strides: 1, pad: 'same' },
  { xShape: [2, 9, 11, 5], fShape: [3, 3, 5, 7], strides: 2, pad: 'same' },
  { xShape: [1, 10, 7, 3], fShape: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { xShape: [3, 8, 8, 6], fShape: [1, 1, 6, 5], strides: 1, pad: 'valid' }, // 1×1: x is the GEMM's matrix
  { xShape: [2, 7, 9, 6], fShape: [1, 1, 6, 3], strides: 2, pad: 'same' },
  { xShape: [1, 1, 1, 4], fShape: [3, 3, 4, 2], strides: 1, pad: 'same' }, // filter larger than the input
  { xShape: [2, 5, 1, 3], fShape: [5, 1, 3, 2], strides: [3, 1], pad: explicit(2, 1, 0, 0) },
  { xShape: [1, 6, 6, 1], fShape: [2, 2, 1, 1], strides: 3, pad: explicit(1, 2, 2, 0) },
  { xShape: [2, 13, 12, 9], fShape: [4, 5, 9, 33], strides: [2, 3], pad: 'same' }, // even filter: uneven 'same' pads
  { xShape: [1, 4, 4, 2], fShape: [4, 4, 2, 3], strides: 1, pad: 'valid' }, // one output cell
  // more than 16 output channels: the GEMM gathers the im2col matrix (two K blocks of it here, and a part
  // panel); stride 1: the input gradient is the flipped filter's convolution, gathered too (Ci over 16)
  { xShape: [2, 9, 11, 40], fShape: [3, 3, 40, 36], strides: 1, pad: 'same' },
  { xShape: [2, 6, 7, 20], fShape: [2, 3, 20, 18], strides: 1, pad: explicit(1, 0, 2, 1) },
  // stride 1 with padding as large as the filter: the input gradient keeps the col path
  { xShape: [2, 5, 6, 17], fShape: [2, 2, 17, 19], strides: 1, pad: explicit(2, 1, 0, 3) },
];

const DEPTHWISE_CASES = [
  { xShape: [2, 9, 11, 5], fShape: [3, 3, 5, 1], strides: 1, pad: 'same' },
  { xShape: [2, 9, 11, 5], fShape: [3, 3, 5, 2], strides: 2, pad: 'same' },
  { xShape: [1, 28, 28, 16], fShape: [9, 9, 16, 1], strides: 5, pad: 'valid' },
  { xShape: [1, 1, 1, 3], fShape: [3, 3, 3, 3], strides: 1, pad: 'same' },
  { xShape: [3, 7, 5, 1], fShape: [2, 3, 1, 1], strides: [2, 1], pad: explicit(1, 0, 0, 2) },
  { xShape: [2, 10, 9, 70], fShape: [3, 3, 70, 1], strides: 2, pad: 'same' }, // more channels than one task's block
  { xShape: [2, 6, 7, 4], fShape: [5, 5, 4, 3], strides: 3, pad: 'same' },
  { xShape: [2, 8, 8, 6], fShape: [4, 2, 6, 1], strides: [1, 2], pad: 'same' },
  { xShape: [2, 17, 16, 8], fShape: [9, 9, 8, 1], strides: 8, pad: explicit(4, 4, 4, 4) }, // ResT's reduction: taps overlap by one
].map((c) => ({ ...c, depthwise: true }));

const label = (c) => `x ${JSON.stringify(c.xShape)} filter ${JSON.stringify(c.fShape)} strides ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}`;

test.after.each(() => setNumThreads(2));

testFastKernelRegistration(test, addon, { what: 'convolution', names: CONV_KERNELS, stock: 'DepthwiseConv2dNative' });
if (addon) {
  /** Every kernel of every case against the float64 oracle, then against the stock kernel with vsStock. */
  function checkCases(cases, seed, vsStock) {
    const rng = new Rng(seed);
    for (const c of cases) {
      for (const [name, ours, want] of calls(c, rng)) {
        const got = ours();
        want().expect(got, `${name} ${label(c)} vs oracle`);
        vsStock(got, withStockKernels('cpu', ours), `${name} ${label(c)} vs stock`);
      }
    }
  }

  test('Conv2D and both its gradients equal the float64 oracle and the stock kernels to rounding', () => {
    checkCases(CASES, 11, (got, stock, msg) => assertClose(got, stock, { rtol: 1e-5, atol: 1e-5 }, msg));
  });

  test('the depthwise kernels equal the float64 oracle, and the stock kernels bit for bit', () => {
    checkCases(DEPTHWISE_CASES, 12, assertBitIdentical);
  });

  test('60 random geometries: every kernel equals the float64 oracle', () => {
    const rng = new Rng(17);
    for (let i = 0; i < 60; i++) {
      const [KH, KW] = [rng.int(1, 5), rng.int(1, 5)];
      const [H, W] = [rng.int(1, 12), rng.int(1, 12)];
      const strides = [rng.int(1, 3), rng.int(1, 3)];
      const kind = rng.pick(['same', 'valid', 'explicit']);
      let pad = kind;
      if (kind === 'valid' && (H < KH || W < KW)) pad = 'same';
      if (kind === 'explicit') {
        const [t, b, l, r] = [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)];
        pad = explicit(t, b + Math.max(0, KH - H - t - b), l, r + Math.max(0, KW - W - l - r));
      }
      const C = rng.int(1, 24); // over 16: the stride-1 input gradient's flipped convolution gathers
      const depthwise = rng.next() < 0.5;
      const c = { xShape: [rng.int(1, 3), H, W, C], fShape: [KH, KW, C, depthwise ? rng.int(1, 3) : rng.int(1, 40)], strides, pad, depthwise };
      for (const [name, ours, want] of calls(c, rng)) want().expect(ours(), `${name} ${label(c)}`);
    }
  });

  // 16384 im2col rows of 288: two blocks (of at most 2^22 floats) for Conv2D and its filter gradient, and
  // two for the input gradient (227 + 29 output rows: the boundary splits the last image)
  const LARGE = [
    { xShape: [4, 64, 64, 32], fShape: [3, 3, 32, 8], strides: 1, pad: 'same' },
    { xShape: [4, 40, 40, 48], fShape: [3, 3, 48, 1], strides: 1, pad: 'same', depthwise: true },
  ];

  test('sizes spanning several im2col blocks and thread chunks equal the oracle, with the same bits for 1 and 2 threads', () => {
    const rng = new Rng(13);
    for (const c of LARGE) {
      for (const [name, ours, want] of calls(c, rng)) {
        const two = assertSameBitsForThreads(ours, `${name} ${label(c)}`);
        want().expect(two, `${name} ${label(c)} vs oracle`);
      }
    }
  });

  test('NaN, ±∞ and −0 in the inputs: as the stock kernels (padded taps skipped, never multiplied by 0), same bits for 1 and 2 threads', () => {
    const rng = new Rng(14);
    const spoil = (a) => {
      a[3] = NaN;
      a[7] = Infinity;
      a[a.length - 2] = -Infinity;
      a[a.length - 1] = -0;
      return a;
    };
    for (const pad of ['same', 'valid']) {
      const xShape = [2, 6, 5, 3];
      const g = geometry(xShape, 3, 3, 1, pad);
      const x = spoil(random(rng, xShape));
      const w = spoil(random(rng, [3, 3, 3, 4]));
      const dyShape = [2, g.OH, g.OW, 4];
      const dy = spoil(random(rng, dyShape));
      const dw = spoil(random(rng, [3, 3, 3, 2]));
      const dyd = spoil(random(rng, [2, g.OH, g.OW, 6]));
      const attrs = { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 };
      const cases = [
        [() => run('Conv2D', { x: [x, xShape], filter: [w, [3, 3, 3, 4]] }, attrs), oracle.conv2d(x, w, g, 4)],
        [() => run('Conv2DBackpropFilter', { x: [x, xShape], dy: [dy, dyShape] }, { ...attrs, filterShape: [3, 3, 3, 4] }), oracle.conv2dFilter(x, dy, g, 4)],
        [() => run('Conv2DBackpropInput', { dy: [dy, dyShape], filter: [w, [3, 3, 3, 4]] }, { ...attrs, inputShape: xShape }), oracle.conv2dInput(dy, w, g, 4)],
        [() => run('DepthwiseConv2dNative', { x: [x, xShape], filter: [dw, [3, 3, 3, 2]] }, attrs), oracle.depthwise(x, dw, g, 2)],
        [() => run('DepthwiseConv2dNativeBackpropInput', { dy: [dyd, dyd.length === 0 ? [] : [2, g.OH, g.OW, 6]], filter: [dw, [3, 3, 3, 2]] },
          { ...attrs, inputShape: xShape }), oracle.depthwiseInput(dyd, dw, g, 2)],
        [() => run('DepthwiseConv2dNativeBackpropFilter', { x: [x, xShape], dy: [dyd, [2, g.OH, g.OW, 6]] }, { ...attrs, filterShape: [3, 3, 3, 2] }),
          oracle.depthwiseFilter(x, dyd, g, 2)],
      ];
      for (const [i, [ours, want]] of cases.entries()) {
        const got = assertSameBitsForThreads(ours, `${CONV_KERNELS[i]} pad ${pad}`);
        const nanAt = (a) => Array.from(a, Number.isNaN);
        assert.equal(nanAt(got.data), nanAt(Float32Array.from(want.sum)), `${CONV_KERNELS[i]} pad ${pad}: NaN positions`);
        assert.ok(nanAt(got.data).some((v) => !v), `${CONV_KERNELS[i]} pad ${pad}: not all NaN`);
        const stock = withStockKernels('cpu', ours);
        assert.equal(nanAt(got.data), nanAt(stock.data), `${CONV_KERNELS[i]} pad ${pad}: NaN positions vs stock`);
        // equal values (NaN, ±∞ included) out of the way; the rest to rounding
        const same = (a, b) => a === b || (Number.isNaN(a) && Number.isNaN(b));
        const rest = (a, other) => ({ shape: a.shape, data: a.data.map((v, k) => (same(v, other.data[k]) ? 0 : v)) });
        assertClose(rest(got, stock), rest(stock, got), { rtol: 1e-5, atol: 1e-5 }, `${CONV_KERNELS[i]} pad ${pad} vs stock`);
      }
    }
    // one ∞ far into a large dy (past the finiteness check's first thread chunk), at a border cell, still takes
    // the path that skips padded taps: the GEMM path would multiply the zero padding by it and spread NaN
    {
      const xShape = [2, 96, 96, 3];
      const g = geometry(xShape, 3, 3, 1, 'same');
      const x = random(rng, xShape);
      const dyShape = [2, g.OH, g.OW, 4];
      const dy = random(rng, dyShape);
      dy[((1 * 96 + 95) * 96 + 10) * 4 + 1] = Infinity; // batch 1, bottom row
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, filterShape: [3, 3, 3, 4] };
      const got = assertSameBitsForThreads(() => run('Conv2DBackpropFilter', { x: [x, xShape], dy: [dy, dyShape] }, attrs), 'late ∞');
      const nanAt = (a) => Array.from(a, Number.isNaN);
      assert.equal(nanAt(got.data), nanAt(Float32Array.from(oracle.conv2dFilter(x, dy, g, 4).sum)), 'late ∞: NaN positions');
    }
    // all −0 input: +0 out, as tfjs' sums that start from +0
    const z = run('Conv2D', { x: [new Float32Array(12).fill(-0), [1, 2, 2, 3]], filter: [new Float32Array(6).fill(1), [1, 1, 3, 2]] },
      { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
    assert.ok(z.data.every((v) => Object.is(v, 0)), `−0 inputs gave ${Array.from(z.data)}`);
  });

  test('a small conv net: loss and every gradient as with the stock kernels', () => {
    const rng = new Rng(16);
    const t = (shape, scale = 1) => tf.tensor(Float32Array.from({ length: numel(shape) }, () => scale * rng.uniform(-1, 1)), shape);
    const x = t([2, 12, 10, 3]);
    const params = { w1: t([3, 3, 3, 8], 0.5), dw: t([3, 3, 8, 2], 0.5), w2: t([1, 1, 16, 4], 0.5), w3: t([2, 2, 4, 5], 0.5) };
    const target = t([2, 7, 5, 5]);
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((input, w1, dw, w2, w3) => {
        let y = tf.relu(tf.conv2d(input, w1, 2, 'same'));
        y = tf.depthwiseConv2d(y, dw, [1, 2], 'same');
        y = tf.conv2d(y, w2, 1, 'valid');
        y = tf.conv2d(y, w3, 1, [[0, 0], [0, 2], [1, 2], [0, 0]]);
        return tf.sum(tf.square(tf.sub(y, target)));
      })([x, params.w1, params.dw, params.w2, params.w3]);
      return [value, ...grads].map((g) => ({ shape: g.shape, data: g.dataSync().slice() }));
    });
    const ours = step();
    const stock = withStockKernels('cpu', step);
    for (const [i, name] of ['loss', 'dx', 'dw1', 'ddw', 'dw2', 'dw3'].entries()) {
      assertClose(ours[i], stock[i], { rtol: 1e-4, atol: 1e-4 }, name);
    }
    tf.dispose([x, target, ...Object.values(params)]);
  });

  test('dilations other than 1 and NCHW go to the stock kernels', () => {
    const rng = new Rng(15);
    const x = tf.tensor(random(rng, [1, 9, 9, 4]), [1, 9, 9, 4]);
    const w = tf.tensor(random(rng, [3, 3, 4, 2]), [3, 3, 4, 2]);
    const dw = tf.tensor(random(rng, [3, 3, 4, 1]), [3, 3, 4, 1]);
    const pairs = [
      () => tf.conv2d(x, w, 1, 'same', 'NHWC', 2),
      () => tf.depthwiseConv2d(x, dw, 1, 'same', 'NHWC', 2),
      () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.onesLike(x), filter: dw },
        { strides: 1, pad: 'same', dilations: 2, inputShape: [1, 9, 9, 4] }),
      () => tf.conv2d(tf.transpose(x, [0, 3, 1, 2]), w, 1, 'same', 'NCHW'),
      () => tf.conv2d(tf.zeros([0, 9, 9, 4]), w, 1, 'same'),
    ];
    for (const [i, f] of pairs.entries()) {
      const got = tf.tidy(() => ({ shape: [0], data: f().dataSync().slice() }));
      const want = withStockKernels('cpu', () => tf.tidy(() => ({ shape: [0], data: f().dataSync().slice() })));
      assertBitIdentical({ shape: [got.data.length], data: got.data }, { shape: [want.data.length], data: want.data }, `case ${i}`);
    }
    tf.dispose([x, w, dw]);
  });

  test('depthwiseConv2d and the direct conv2d loops (a non-finite filter) overwrite every output element (seed 4242)', () => {
    const rng = new Rng(4242);
    const x = Float32Array.from({ length: 5 * 5 * 2 }, () => rng.uniform(-1, 1));
    // depthwise with channel multiplier 2; conv2d with ∞ in the filter and taps in the padding (direct loops)
    const dw = Float32Array.from({ length: 3 * 3 * 2 * 2 }, () => rng.uniform(-1, 1));
    const cw = Float32Array.from({ length: 3 * 3 * 2 * 3 }, () => rng.uniform(-1, 1));
    cw[4] = Infinity;
    const geom = (Co) => ({ B: 1, H: 5, W: 5, Ci: 2, KH: 3, KW: 3, Co, OH: 5, OW: 5, strideH: 1, strideW: 1, padTop: 1, padLeft: 1 });
    const cases = [['depthwiseConv2d', dw, geom(4), 100], ['conv2d', cw, geom(3), 75]];
    for (const [name, w, g, n] of cases) {
      const clean = new Float32Array(n);
      addon[name]({ ...g, x, filter: w, y: clean });
      const dirty = new Float32Array(n).fill(12345);
      addon[name]({ ...g, x, filter: w, y: dirty });
      assertBitIdentical(dirty, clean, `${name} into a dirty output`);
      assert.ok(!dirty.includes(12345), `${name} left an element unwritten`);
    }
  });

  test('the raw addon refuses geometry and arrays that do not match', () => {
    const geom = { B: 1, H: 4, W: 4, Ci: 2, KH: 3, KW: 3, Co: 3, OH: 4, OW: 4, strideH: 1, strideW: 1, padTop: 1, padLeft: 1 };
    const x = new Float32Array(32);
    const w = new Float32Array(54);
    const y = new Float32Array(48);
    addon.conv2d({ ...geom, x, filter: w, y });
    const conv = (changes) => () => addon.conv2d({ ...geom, x, filter: w, y, ...changes });
    assertThrowsWith(conv({ strideH: 0 }), RangeError, [/^Expected an integer between 1 and 2147483647 for strideH but received 0$/]);
    assertThrowsWith(conv({ padTop: -1 }), RangeError, [/^Expected an integer between 0 and 2147483647 for padTop but received -1$/]);
    assertThrowsWith(conv({ Ci: 2.5 }), RangeError, [/for Ci but received 2\.5$/]);
    assertThrowsWith(conv({ KW: '3' }), TypeError, [/^Expected an integer for KW but received "3"$/]);
    assertThrowsWith(conv({ OW: undefined }), TypeError, [/^Expected an integer for OW but received undefined$/]);
    assertThrowsWith(conv({ x: new Float32Array(31) }), RangeError, [/^Expected 32 \(the product of \[1, 4, 4, 2\]\) for x\.length but received 31$/]);
    assertThrowsWith(conv({ filter: new Float32Array(53) }), RangeError, [/for filter\.length/]);
    assertThrowsWith(conv({ y: new Float32Array(47) }), RangeError, [/for y\.length/]);
    assertThrowsWith(() => addon.conv2dBackpropFilter({ ...geom, x, dy: y, dw: new Float32Array(53) }), RangeError, [/for dw\.length/]);
    assertThrowsWith(() => addon.conv2dBackpropInput({ ...geom, dy: y, filter: w, dx: new Float32Array(33) }), RangeError, [/for dx\.length/]);
    assertThrowsWith(conv({ x: new Int32Array(32) }), TypeError, [/Float32Array for x/]);
    assertThrowsWith(() => addon.depthwiseConv2d({ ...geom, x, filter: w, y }), RangeError, [/^Expected a multiple of Ci \(2\) for Co but received 3$/]);
    const dgeom = { ...geom, Co: 4 };
    assertThrowsWith(() => addon.depthwiseBackpropInput({ ...dgeom, dy: new Float32Array(64), filter: new Float32Array(36), dx: new Float32Array(31) }),
      RangeError, [/for dx\.length/]);
    assertThrowsWith(() => addon.depthwiseBackpropFilter({ ...dgeom, x, dy: new Float32Array(63), dw: new Float32Array(36) }), RangeError, [/for dy\.length/]);
    assertThrowsWith(conv({ B: 65536, H: 65536 }), RangeError, [/for x/]);
    // padding beyond the input reads nothing outside it
    const far = new Float32Array(3 * 3 * 2 * 3).fill(1);
    const out = new Float32Array(1 * 2 * 2 * 3).fill(7);
    addon.conv2d({ ...geom, OH: 2, OW: 2, padTop: 100, padLeft: 100, x, filter: far, y: out });
    assert.ok(out.every((v) => v === 0));
    addon.depthwiseBackpropFilter({ ...geom, Co: 2, OH: 2, OW: 4, strideH: 5, strideW: 5, padTop: 1000, padLeft: 7, x, dy: new Float32Array(16),
      dw: new Float32Array(18) });
  });
}

test.run();
