/**
 * The raw N-API addon (src/backends/native.ts, NativeAddon), called directly, without the TypeScript
 * validation in front of it: bad arguments of every kind (not one argument object, missing properties, types, sizes that disagree with
 * the typed arrays, negative / non-integer / too large sizes, sizes whose products overflow int32 or wrap
 * to a valid-looking length, outputs too small, indices out of range, non-finite centres, device 1 without
 * CUDA) must throw a TypeError / RangeError (an Error for the missing GPU) before any output is written,
 * and never crash the process; info() has its documented shape; results do not depend on the thread count;
 * the async form keeps its inputs alive.
 *
 * Without a native build the file says so in one line and checks that backends() reports why.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import { backends, knnGraph, setNumThreads } from '../../dist/index.js';
import {
  knnGraphReference, maxRelativeGradReference, maxRelativeReference, roiAlignGradReference, roiAlignReference,
} from '../../dist/backends/reference/index.js';
import { assertBitIdentical, assertClose, assertEqualValues, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { Rng } from '../helpers/random.js';

const { addon, reason } = loadRawAddon();
const disabled = process.env.SACL_NATIVE === '0';

if (!addon) {
  console.log(`[sacl-au tests] raw addon tests skipped: no native build was found (${reason})`);
  const test = suite('native addon [not built]');

  test('backends() reports cpu (and cuda) as unavailable with a non-empty reason; the reference still runs', () => {
    const infos = backends();
    const cpu = infos.find((b) => b.name === 'cpu');
    const cuda = infos.find((b) => b.name === 'cuda');
    const reference = infos.find((b) => b.name === 'reference');
    assert.ok(cpu, 'backends() has no cpu entry');
    assert.is(cpu.available, false);
    assert.is(cpu.compiled, false);
    assert.type(cpu.reason, 'string');
    assert.ok(cpu.reason.trim().length > 0, 'cpu.reason is empty');
    assert.ok(cuda && cuda.available === false && typeof cuda.reason === 'string' && cuda.reason.length > 0, 'cuda entry');
    assert.ok(reference && reference.available === true && reference.compiled === true, 'reference entry');
    assertThrowsWith(() => setNumThreads(2), Error, [/not available/]);
    const x = { shape: [1, 4, 2], data: Float32Array.from([0, 0, 1, 0, 3, 0, 7, 0]) };
    assertThrowsWith(() => knnGraph(x, 2, { backend: 'cpu' }), Error, [/^The 'cpu' backend is not available: .+/]);
    assert.equal(Array.from(knnGraph(x, 2).data), [0, 1, 1, 0, 2, 1, 3, 2], 'the default backend must fall back to the reference');
  });

  test.run();
} else {
  runAddonSuites(addon);
}

// ---------------------------------------------------------------------------------------------------------

function runAddonSuites(native) {
  const info0 = native.info();
  const cudaAvailable = Boolean(info0.cuda && info0.cuda.available);

  /** The properties of each op's argument object (src/backends/native.ts, NativeAddon). */
  const POS = {
    knnGraph: ['x', 'y', 'B', 'N', 'M', 'D', 'k', 'dilation', 'metric', 'normalize', 'out', 'device', 'async'],
    maxRelative: ['x', 'y', 'idx', 'B', 'N', 'M', 'C', 'K', 'out', 'argmax', 'device', 'async'],
    maxRelativeGrad: ['dOut', 'idx', 'argmax', 'B', 'N', 'M', 'C', 'K', 'dx', 'dy', 'device', 'async'],
    roiAlign: ['features', 'B', 'H', 'W', 'C', 'centers', 'R', 'S', 'step', 'out', 'device', 'async'],
    roiAlignGrad: ['dOut', 'B', 'H', 'W', 'C', 'centers', 'R', 'S', 'step', 'dFeatures', 'device', 'async'],
  };
  /** Which arguments are outputs (filled with a sentinel: a refused call must leave them alone). */
  const OUTPUTS = {
    knnGraph: ['out'],
    maxRelative: ['out', 'argmax'],
    maxRelativeGrad: ['dx', 'dy'],
    roiAlign: ['out'],
    roiAlignGrad: ['dFeatures'],
  };
  const SENTINEL = -99;

  const ints = (rng, n, lo, hi) => Float32Array.from({ length: n }, () => rng.int(lo, hi));
  const floats = (rng, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
  const index = (rng, n, M) => Int32Array.from({ length: n }, () => rng.int(0, M - 1));
  const f32out = (n) => new Float32Array(n).fill(SENTINEL);
  const i32out = (n) => new Int32Array(n).fill(SENTINEL);

  /** A valid call of each op (fresh arrays, seed 7000 + op number). */
  const VALID = {
    knnGraph: () => {
      const rng = new Rng(7001);
      return { x: ints(rng, 2 * 7 * 3, -3, 3), y: null, B: 2, N: 7, M: 7, D: 3, k: 3, dilation: 1, metric: 'euclidean', normalize: false,
        out: i32out(2 * 7 * 3), device: 0, async: false };
    },
    maxRelative: () => {
      const rng = new Rng(7002);
      return { x: floats(rng, 60), y: null, idx: index(rng, 36, 6), B: 2, N: 6, M: 6, C: 5, K: 3, out: f32out(60),
        argmax: i32out(60), device: 0, async: false };
    },
    maxRelativeGrad: () => {
      const rng = new Rng(7003);
      return { dOut: floats(rng, 60), idx: index(rng, 36, 6), argmax: index(rng, 60, 3), B: 2, N: 6, M: 6, C: 5, K: 3,
        dx: f32out(60), dy: null, device: 0, async: false };
    },
    roiAlign: () => {
      const rng = new Rng(7004);
      return { features: floats(rng, 2 * 5 * 6 * 3), B: 2, H: 5, W: 6, C: 3, centers: floats(rng, 16, -1, 6), R: 4, S: 3, step: 1,
        out: f32out(2 * 4 * 9 * 3), device: 0, async: false };
    },
    roiAlignGrad: () => {
      const rng = new Rng(7005);
      return { dOut: floats(rng, 2 * 4 * 9 * 3), B: 2, H: 5, W: 6, C: 3, centers: floats(rng, 16, -1, 6), R: 4, S: 3, step: 1,
        dFeatures: f32out(2 * 5 * 6 * 3), device: 0, async: false };
    },
  };
  /** The call's argument list: one object with the op's properties, taken from a. */
  const argsOf = (op, a) => [Object.fromEntries(POS[op].map((k) => [k, a[k]]))];
  /** The valid arguments of op with some replaced (a function of the valid set, or an object). */
  const build = (op, change = {}) => {
    const a = VALID[op]();
    return { ...a, ...(typeof change === 'function' ? change(a) : change) };
  };

  /** Every output array of the call still holds only the sentinel. */
  function assertUntouched(op, a, what) {
    for (const k of OUTPUTS[op]) {
      const arr = a[k];
      if (!ArrayBuffer.isView(arr)) continue;
      const bad = arr.findIndex((v) => v !== SENTINEL);
      assert.is(bad, -1, `${what}: ${k}[${bad}] was written (${arr[bad]}) by a refused call`);
    }
  }

  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  /** The contract message shape naming `name` (optionally prefixed, e.g. options.candidates, and with a position). */
  const messagePatterns = (name) => [
    /^Expected [^]+ for [^]+ but received [^]*$/,
    new RegExp(` for (?:[A-Za-z]+\\.)?${escape(name)}(\\[[^\\]]*\\])? but received`),
  ];

  /**
   * An async-mode call may refuse synchronously (validation runs before the work is queued) or return a
   * rejected Promise; either way with exactly `cls` and matching `pats`. Returns the error.
   */
  async function refusedAsync(fn, cls, pats, what) {
    let err;
    let result;
    try {
      result = fn();
    } catch (e) {
      err = e;
    }
    if (!err) {
      assert.ok(result && typeof result.then === 'function', `${what}: accepted (returned ${result})`);
      try {
        await result;
      } catch (e) {
        err = e;
      }
    }
    assert.ok(err, `${what}: the Promise resolved`);
    assert.ok(err instanceof Error, `${what}: refused with a non-Error ${err}`);
    assert.is(err.constructor, cls, `${what}: ${err.constructor.name} instead of ${cls.name}: "${err.message}"`);
    for (const p of pats) assert.match(err.message, p, `${what}: message "${err.message}"`);
    return err;
  }

  // ---- the bad-argument table: [op, what, change, class, argument name in the message] ----
  const BIG = 268435459; // 16 · BIG = 2^32 + 48: a product that wraps to 48 in 32-bit arithmetic
  const CASES = [
    // knnGraph
    ['knnGraph', 'x is a Float64Array', { x: new Float64Array(42) }, TypeError, 'x'],
    ['knnGraph', 'x is a plain array', { x: new Array(42).fill(0) }, TypeError, 'x'],
    ['knnGraph', 'x is null', { x: null }, TypeError, 'x'],
    ['knnGraph', 'x is undefined', { x: undefined }, TypeError, 'x'],
    ['knnGraph', 'x is an Int32Array', { x: new Int32Array(42) }, TypeError, 'x'],
    ['knnGraph', 'y is a Float64Array', { y: new Float64Array(42) }, TypeError, 'candidates'],
    ['knnGraph', 'y is an Int32Array', { y: new Int32Array(42) }, TypeError, 'candidates'],
    ['knnGraph', 'y is undefined (must be null or an array)', { y: undefined }, TypeError, 'candidates'],
    ['knnGraph', 'B is a string', { B: '2' }, TypeError, 'B'],
    ['knnGraph', 'B < 0', { B: -1 }, RangeError, 'B'],
    ['knnGraph', 'B = 0', { B: 0 }, RangeError, 'B'],
    ['knnGraph', 'B is not an integer', { B: 2.5 }, RangeError, 'B'],
    ['knnGraph', 'B is NaN', { B: NaN }, RangeError, 'B'],
    ['knnGraph', 'B is Infinity', { B: Infinity }, RangeError, 'B'],
    ['knnGraph', 'B = 2^32 + 2 (2 after an int32 cast)', { B: 2 ** 32 + 2 }, RangeError, 'B'],
    ['knnGraph', 'B = 2^31 (negative after an int32 cast)', { B: 2 ** 31 }, RangeError, 'B'],
    ['knnGraph', 'N, M disagree with x.length', { N: 8, M: 8, out: i32out(48) }, RangeError, 'x.length'],
    ['knnGraph', 'D disagrees with x.length', { D: 4 }, RangeError, 'x.length'],
    ['knnGraph', 'M ≠ N without candidates', { M: 8 }, RangeError, 'M'],
    ['knnGraph', 'candidates shorter than B·M·D', (a) => ({ y: new Float32Array(2 * 9 * 3 - 1), M: 9 }), RangeError, 'candidates.length'],
    ['knnGraph', 'k = 0', { k: 0 }, RangeError, 'k'],
    ['knnGraph', 'k > M', { k: 8, out: i32out(2 * 7 * 8) }, RangeError, 'k'],
    ['knnGraph', 'k·dilation > M', { dilation: 3 }, RangeError, 'k'],
    ['knnGraph', 'dilation = 0', { dilation: 0 }, RangeError, 'dilation'],
    ['knnGraph', 'metric is "chebyshev"', { metric: 'chebyshev' }, RangeError, 'metric'],
    ['knnGraph', 'metric is "Euclidean" (case matters)', { metric: 'Euclidean' }, RangeError, 'metric'],
    ['knnGraph', 'metric is ""', { metric: '' }, RangeError, 'metric'],
    ['knnGraph', 'metric is a number (0)', { metric: 0 }, TypeError, 'metric'],
    ['knnGraph', 'metric is undefined', { metric: undefined }, TypeError, 'metric'],
    ['knnGraph', 'normalize is a number', { normalize: 1 }, TypeError, 'normalize'],
    ['knnGraph', 'normalize is a string', { normalize: 'false' }, TypeError, 'normalize'],
    ['knnGraph', 'out is one element short', { out: i32out(41) }, RangeError, 'out.length'],
    ['knnGraph', 'out is one element long', { out: i32out(43) }, RangeError, 'out.length'],
    ['knnGraph', 'out is empty', { out: new Int32Array(0) }, RangeError, 'out.length'],
    ['knnGraph', 'out is a Float32Array', { out: f32out(42) }, TypeError, 'out'],
    ['knnGraph', 'out is null', { out: null }, TypeError, 'out'],
    ['knnGraph', 'device = 2', { device: 2 }, RangeError, 'device'],
    ['knnGraph', 'device = −1', { device: -1 }, RangeError, 'device'],
    ['knnGraph', 'device is a string', { device: '0' }, TypeError, 'device'],
    ['knnGraph', 'async is a string', { async: 'yes' }, TypeError, 'async'],
    ['knnGraph', 'async is undefined', { async: undefined }, TypeError, 'async'],
    ['knnGraph', 'NaN in x', (a) => ({ x: Object.assign(a.x.slice(), { 10: NaN }) }), RangeError, 'x'],
    ['knnGraph', 'Infinity in the candidates', (a) => ({ y: Object.assign(new Float32Array(42), { 5: Infinity }) }), RangeError, 'candidates'],
    ['knnGraph', 'B·N·D > 2^31 − 1 but ≡ x.length (mod 2^32)', { B: 16, N: BIG, M: BIG, D: 1, k: 1, x: new Float32Array(48), out: i32out(48) },
      RangeError, 'x'],
    ['knnGraph', 'B·N·D = 2^32 (0 in 32-bit arithmetic) with empty arrays',
      { B: 65536, N: 65536, M: 65536, D: 1, k: 1, x: new Float32Array(0), out: new Int32Array(0) }, RangeError, 'x'],
    ['knnGraph', 'B·N·k overflows with a small x', { B: 1, N: 65536, M: 65536, D: 1, k: 65536, x: new Float32Array(65536), out: i32out(16) },
      RangeError, 'out'],
    ['knnGraph', 'x on a detached buffer', (a) => {
      structuredClone(a.x.buffer, { transfer: [a.x.buffer] });
      return {};
    }, RangeError, 'x.length'],

    // maxRelative
    ['maxRelative', 'x is a Float64Array', { x: new Float64Array(60) }, TypeError, 'x'],
    ['maxRelative', 'y is a Float64Array', { y: new Float64Array(60) }, TypeError, 'candidates'],
    ['maxRelative', 'idx is a Float32Array', { idx: new Float32Array(36) }, TypeError, 'idx'],
    ['maxRelative', 'idx is null', { idx: null }, TypeError, 'idx'],
    ['maxRelative', 'idx = −1', (a) => ({ idx: Object.assign(a.idx.slice(), { 7: -1 }) }), RangeError, 'idx'],
    ['maxRelative', 'idx = M', (a) => ({ idx: Object.assign(a.idx.slice(), { 35: 6 }) }), RangeError, 'idx'],
    ['maxRelative', 'idx = 2^31 − 1', (a) => ({ idx: Object.assign(a.idx.slice(), { 0: 2 ** 31 - 1 }) }), RangeError, 'idx'],
    ['maxRelative', 'idx = M with candidates', (a) => ({ y: new Float32Array(2 * 9 * 5), M: 9, idx: Object.assign(a.idx.slice(), { 3: 9 }) }),
      RangeError, 'idx'],
    ['maxRelative', 'M ≠ N without candidates', { M: 7 }, RangeError, 'M'],
    ['maxRelative', 'candidates shorter than B·M·C', { y: new Float32Array(2 * 9 * 5 - 1), M: 9 }, RangeError, 'candidates.length'],
    ['maxRelative', 'K disagrees with idx.length', { K: 4 }, RangeError, 'idx.length'],
    ['maxRelative', 'K = 0', { K: 0 }, RangeError, 'K'],
    ['maxRelative', 'C disagrees with x.length', { C: 6 }, RangeError, 'x.length'],
    ['maxRelative', 'N < 0', { N: -6 }, RangeError, 'N'],
    ['maxRelative', 'out one element short', { out: f32out(59) }, RangeError, 'out.length'],
    ['maxRelative', 'argmax one element short', { argmax: i32out(59) }, RangeError, 'argmax.length'],
    ['maxRelative', 'out is an Int32Array', { out: i32out(60) }, TypeError, 'out'],
    ['maxRelative', 'argmax is a Float32Array', { argmax: f32out(60) }, TypeError, 'argmax'],
    ['maxRelative', 'B·N·C > 2^31 − 1 but ≡ the lengths (mod 2^32)',
      { B: 16, N: BIG, M: BIG, C: 1, K: 1, x: new Float32Array(48), idx: new Int32Array(48), out: f32out(48), argmax: i32out(48) },
      RangeError, 'x'],
    ['maxRelative', 'device = 2', { device: 2 }, RangeError, 'device'],
    ['maxRelative', 'async is a number', { async: 1 }, TypeError, 'async'],

    // maxRelativeGrad
    ['maxRelativeGrad', 'dOut is a Float64Array', { dOut: new Float64Array(60) }, TypeError, 'dOut'],
    ['maxRelativeGrad', 'argmax = K', (a) => ({ argmax: Object.assign(a.argmax.slice(), { 12: 3 }) }), RangeError, 'argmax'],
    ['maxRelativeGrad', 'argmax = −1', (a) => ({ argmax: Object.assign(a.argmax.slice(), { 59: -1 }) }), RangeError, 'argmax'],
    ['maxRelativeGrad', 'idx = M', (a) => ({ idx: Object.assign(a.idx.slice(), { 20: 6 }) }), RangeError, 'idx'],
    ['maxRelativeGrad', 'idx = −2^31', (a) => ({ idx: Object.assign(a.idx.slice(), { 1: -(2 ** 31) }) }), RangeError, 'idx'],
    ['maxRelativeGrad', 'M ≠ N without dy', { M: 9 }, RangeError, 'M'],
    ['maxRelativeGrad', 'dy one element short', { M: 9, dy: f32out(2 * 9 * 5 - 1) }, RangeError, 'dy.length'],
    ['maxRelativeGrad', 'dy is a Float64Array', { M: 9, dy: new Float64Array(90).fill(SENTINEL) }, TypeError, 'dy'],
    ['maxRelativeGrad', 'dx one element short', { dx: f32out(59) }, RangeError, 'dx.length'],
    ['maxRelativeGrad', 'dx is an Int32Array', { dx: i32out(60) }, TypeError, 'dx'],
    ['maxRelativeGrad', 'argmax disagrees with B·N·C', { argmax: new Int32Array(59) }, RangeError, 'argmax.length'],
    ['maxRelativeGrad', 'C is a boolean', { C: true }, TypeError, 'C'],
    ['maxRelativeGrad', 'device = 7', { device: 7 }, RangeError, 'device'],

    // roiAlign
    ['roiAlign', 'features is a Float64Array', { features: new Float64Array(180) }, TypeError, 'features'],
    ['roiAlign', 'H disagrees with features.length', { H: 6 }, RangeError, 'features.length'],
    ['roiAlign', 'H < 0', { H: -5 }, RangeError, 'H'],
    ['roiAlign', 'W is a string', { W: '6' }, TypeError, 'W'],
    ['roiAlign', 'centers is an Int32Array', { centers: new Int32Array(16) }, TypeError, 'centers'],
    ['roiAlign', 'R disagrees with centers.length', { R: 5, out: f32out(2 * 5 * 9 * 3) }, RangeError, 'centers.length'],
    ['roiAlign', 'NaN centre', (a) => ({ centers: Object.assign(a.centers.slice(), { 13: NaN }) }), RangeError, 'centers'],
    ['roiAlign', '−Infinity centre', (a) => ({ centers: Object.assign(a.centers.slice(), { 0: -Infinity }) }), RangeError, 'centers'],
    ['roiAlign', 'S = 0', { S: 0 }, RangeError, 'size'],
    ['roiAlign', 'S = 4097', { S: 4097 }, RangeError, 'size'],
    ['roiAlign', 'S is not an integer', { S: 2.5 }, RangeError, 'size'],
    ['roiAlign', 'step = 0', { step: 0 }, RangeError, 'step'],
    ['roiAlign', 'step < 0', { step: -1 }, RangeError, 'step'],
    ['roiAlign', 'step is NaN', { step: NaN }, RangeError, 'step'],
    ['roiAlign', 'step is Infinity', { step: Infinity }, RangeError, 'step'],
    ['roiAlign', 'step is a string', { step: '1' }, TypeError, 'step'],
    ['roiAlign', 'out one element short', { out: f32out(215) }, RangeError, 'out.length'],
    ['roiAlign', 'out is an Int32Array', { out: i32out(216) }, TypeError, 'out'],
    ['roiAlign', 'H·W overflows with an empty features array',
      { H: 65536, W: 65536, B: 1, C: 1, features: new Float32Array(0), centers: new Float32Array(8), out: f32out(36) }, RangeError, 'features'],
    ['roiAlign', 'B·R·S·S·C overflows', { B: 1, H: 1, W: 1, C: 200, R: 1, S: 4096, features: new Float32Array(200),
      centers: new Float32Array(2), out: new Float32Array(0) }, RangeError, 'size'],
    ['roiAlign', 'device = 2', { device: 2 }, RangeError, 'device'],

    // roiAlignGrad
    ['roiAlignGrad', 'dOut disagrees with B·R·S·S·C', { dOut: new Float32Array(215) }, RangeError, 'dOut.length'],
    ['roiAlignGrad', 'dOut is null', { dOut: null }, TypeError, 'dOut'],
    ['roiAlignGrad', 'dFeatures one element short', { dFeatures: f32out(179) }, RangeError, 'dFeatures.length'],
    ['roiAlignGrad', 'dFeatures is an Int32Array', { dFeatures: i32out(180) }, TypeError, 'dFeatures'],
    ['roiAlignGrad', 'NaN centre', (a) => ({ centers: Object.assign(a.centers.slice(), { 2: NaN }) }), RangeError, 'centers'],
    ['roiAlignGrad', 'step = 0', { step: 0 }, RangeError, 'step'],
    ['roiAlignGrad', 'S = 0', { S: 0 }, RangeError, 'size'],
    ['roiAlignGrad', 'C disagrees with the arrays', { C: 4 }, RangeError, 'dOut.length'],
    ['roiAlignGrad', 'async is null', { async: null }, TypeError, 'async'],
  ];

  const test = suite('native addon: raw argument checks');

  test('the valid calls succeed and agree with the reference (so each refusal below comes from its one change)', async () => {
    // knnGraph: integer data, so distances are exact and the order is fully determined
    const k = build('knnGraph');
    assert.is(native.knnGraph(...argsOf('knnGraph', k)), undefined);
    const kRef = new Int32Array(42);
    knnGraphReference({ ...k, metric: 'euclidean' }, kRef);
    assertEqualValues(k.out, kRef, 'knnGraph vs reference');
    const kb = build('knnGraph', { y: ints(new Rng(7011), 2 * 9 * 3, -3, 3), M: 9, dilation: 3 });
    native.knnGraph(...argsOf('knnGraph', kb));
    const kbRef = new Int32Array(42);
    knnGraphReference({ ...kb, metric: 'euclidean' }, kbRef);
    assertEqualValues(kb.out, kbRef, 'bipartite knnGraph vs reference');

    const m = build('maxRelative');
    assert.is(native.maxRelative(...argsOf('maxRelative', m)), undefined);
    const mOut = new Float32Array(60);
    const mArg = new Int32Array(60);
    maxRelativeReference(m, mOut, mArg);
    assertEqualValues(m.out, mOut, 'maxRelative out vs reference');
    assertEqualValues(m.argmax, mArg, 'maxRelative argmax vs reference');
    const my = build('maxRelative', (a) => ({ y: floats(new Rng(7012), 90), M: 9, idx: Object.assign(a.idx.slice(), { 3: 8 }) }));
    native.maxRelative(...argsOf('maxRelative', my));
    maxRelativeReference(my, mOut, mArg);
    assertEqualValues(my.out, mOut, 'bipartite maxRelative vs reference');

    const g = build('maxRelativeGrad');
    native.maxRelativeGrad(...argsOf('maxRelativeGrad', g));
    const gRef = new Float32Array(60);
    maxRelativeGradReference(g, gRef, null);
    assertClose(g.dx, gRef, { rtol: 1e-6, atol: 1e-6 }, 'maxRelativeGrad vs reference');
    const gy = build('maxRelativeGrad', { M: 9, dy: f32out(90), idx: index(new Rng(7013), 36, 9) });
    native.maxRelativeGrad(...argsOf('maxRelativeGrad', gy));
    const gyRef = new Float32Array(90);
    maxRelativeGradReference(gy, gRef, gyRef);
    assertClose(gy.dx, gRef, { rtol: 1e-6, atol: 1e-6 }, 'maxRelativeGrad dx (bipartite) vs reference');
    assertClose(gy.dy, gyRef, { rtol: 1e-6, atol: 1e-6 }, 'maxRelativeGrad dy vs reference');

    const r = build('roiAlign');
    assert.is(native.roiAlign(...argsOf('roiAlign', r)), undefined);
    const rRef = new Float32Array(216);
    roiAlignReference(r, rRef);
    assertClose(r.out, rRef, { rtol: 1e-5, atol: 1e-6 }, 'roiAlign vs reference');
    const rg = build('roiAlignGrad', { step: 0.5 });
    native.roiAlignGrad(...argsOf('roiAlignGrad', rg));
    const rgRef = new Float32Array(180);
    roiAlignGradReference(rg, rgRef);
    assertClose(rg.dFeatures, rgRef, { rtol: 1e-5, atol: 1e-6 }, 'roiAlignGrad vs reference');

    // async: a Promise resolving to undefined, same answer
    for (const op of Object.keys(POS)) {
      const a = build(op);
      native[op](...argsOf(op, a));
      const b = build(op, { async: true });
      const p = native[op](...argsOf(op, b));
      assert.ok(p instanceof Promise, `${op}: the async form must return a Promise`);
      assert.is(await p, undefined);
      for (const key of OUTPUTS[op]) if (a[key]) assertBitIdentical(b[key], a[key], `${op} async ${key}`);
    }
  });

  for (const op of Object.keys(POS)) {
    test(`${op}: not one argument object → TypeError naming arguments; a missing property → TypeError naming it`, () => {
      const [object] = argsOf(op, build(op));
      const lists = [[], [object, false], [null], [42], [[...Object.values(object)]], Object.values(object), [object.B]];
      for (const list of lists) {
        assertThrowsWith(() => native[op](...list), TypeError, messagePatterns('arguments'), `${op} with ${list.length} arguments`);
      }
      for (const key of POS[op]) {
        const a = build(op);
        const [partial] = argsOf(op, a);
        delete partial[key];
        // y / dy may be null but not missing; the message names a property by its public name
        const named = { y: 'candidates', S: 'size' }[key] ?? key;
        assertThrowsWith(() => native[op](partial), TypeError, messagePatterns(named), `${op} without ${key}`);
        assertUntouched(op, a, `${op} without ${key}`);
      }
    });
  }

  for (const [op, what, change, cls, name] of CASES) {
    test(`${op}: ${what} → ${cls.name} naming ${name}, nothing written (sync and async)`, async () => {
      const a = build(op, change);
      assertThrowsWith(() => native[op](...argsOf(op, a)), cls, messagePatterns(name), `${op} sync`);
      assertUntouched(op, a, `${op} sync`);
      if ('async' in (typeof change === 'function' ? {} : change)) return;
      const b = build(op, change);
      await refusedAsync(() => native[op](...argsOf(op, { ...b, async: true })), cls, messagePatterns(name), `${op} async`);
      assertUntouched(op, b, `${op} async`);
    });
  }

  test('huge finite centres and steps sample outside the map: zeros, no crash (no float → int overflow)', () => {
    const centers = Float32Array.from([1e30, 3, -1e30, 2, 3e9, -3e9, 3.4e38, -3.4e38, 2, 1e20, -2147483648, 2147483648]);
    const r = build('roiAlign', { B: 1, R: 6, centers, out: f32out(6 * 9 * 3), features: floats(new Rng(7020), 90) });
    native.roiAlign(...argsOf('roiAlign', r));
    assert.ok(r.out.every((v) => v === 0), 'samples far outside the map must be 0');
    const g = build('roiAlignGrad', { B: 1, R: 6, centers, dOut: floats(new Rng(7021), 6 * 9 * 3), dFeatures: f32out(90) });
    native.roiAlignGrad(...argsOf('roiAlignGrad', g));
    assert.ok(g.dFeatures.every((v) => v === 0), 'samples far outside the map scatter nothing');
    const s = build('roiAlign', { step: 1e30 });
    native.roiAlign(...argsOf('roiAlign', s));
    const ref = new Float32Array(216);
    roiAlignReference(s, ref);
    assertClose(s.out, ref, { rtol: 1e-6, atol: 1e-7 }, 'step 1e30: only the centre samples can be inside');
    assert.ok(s.out.some((v) => v !== 0), 'the centre samples should be inside the map');
  });

  test(`device 1 (CUDA) ${cudaAvailable ? 'agrees with the CPU' : 'is refused with an Error saying why (CUDA not available)'}`, async () => {
    for (const op of Object.keys(POS)) {
      if (!cudaAvailable) {
        const a = build(op, { device: 1 });
        const err = assertThrowsWith(() => native[op](...argsOf(op, a)), Error, [/cuda/i], `${op} on device 1`);
        assert.ok(err.message.includes(info0.cuda.reason), `${op}: the message should carry info().cuda.reason: "${err.message}"`);
        assertUntouched(op, a, `${op} on device 1`);
        await refusedAsync(() => native[op](...argsOf(op, build(op, { device: 1, async: true }))), Error, [/cuda/i], `${op} async on device 1`);
      } else {
        const cpu = build(op);
        native[op](...argsOf(op, cpu));
        const gpu = build(op, { device: 1 });
        native[op](...argsOf(op, gpu));
        for (const key of OUTPUTS[op]) {
          if (!cpu[key]) continue;
          if (op === 'knnGraph' || key === 'argmax') assertEqualValues(gpu[key], cpu[key], `${op} ${key}: cuda vs cpu`);
          else assertClose(gpu[key], cpu[key], { rtol: 1e-5, atol: 1e-5 }, `${op} ${key}: cuda vs cpu`);
        }
      }
    }
  });

  /**
   * The synchronous bindings' argument objects (NativeAddon, src/backends/native.ts): the fused kernels and
   * the tfjs kernels' (matMul … avgPoolGrad), valid; outputs filled with SENTINEL.
   */
  const f32 = (n) => Float32Array.from({ length: n }, (_, i) => 0.5 + 0.25 * (i % 5));
  const CONV = { B: 1, H: 4, W: 4, Ci: 2, KH: 3, KW: 3, Co: 3, OH: 2, OW: 2, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 };
  const RESIZE = { batch: 1, inHeight: 2, inWidth: 2, channels: 1, outHeight: 3, outWidth: 3, alignCorners: false, halfPixelCenters: false };
  const POOL = { batch: 1, inHeight: 2, inWidth: 2, channels: 1, outHeight: 1, outWidth: 1, filterHeight: 2, filterWidth: 2, strideHeight: 2,
    strideWidth: 2, padTop: 0, padLeft: 0 };
  const SYNC = {
    gelu: () => ({ x: f32(6), bias: f32(3), y: f32out(6) }),
    geluGrad: () => ({ dy: f32(6), x: f32(6), bias: null, dx: f32out(6) }),
    batchNorm: () => ({ x: f32(6), rows: 2, C: 3, gamma: f32(3), beta: f32(3), eps: 1e-5, relu: true, y: f32out(6), mean: f32out(3), variance: f32out(3) }),
    batchNormGrad: () => ({
      dy: f32(6), x: f32(6), y: f32(6), rows: 2, C: 3, gamma: f32(3), mean: f32(3), variance: f32(3), dMean: null, dVariance: f32(3),
      eps: 1e-5, relu: true, dx: f32out(6), dGamma: f32out(3), dBeta: f32out(3),
    }),
    layerNorm: () => ({ x: f32(6), gamma: f32(3), beta: f32(3), eps: 1e-5, rows: 2, n: 3, y: f32out(6), mean: f32out(2), rstd: f32out(2) }),
    layerNormGrad: () => ({ dy: f32(6), x: f32(6), mean: f32(2), rstd: f32(2), gamma: f32(3), rows: 2, n: 3, dx: f32out(6), dgamma: f32out(3), dbeta: f32out(3) }),
    sgdStats: () => ({ grads: [f32(2), f32(3)], out: f32out(3) }),
    sgdUpdate: () => ({ w: [f32(3)], g: [f32(3)], buf: [null], wOut: [f32out(3)], bufOut: [f32out(3)], lr: 0.1, momentum: 0.9, weightDecay: 0, scale: 1 }),
    matMul: () => ({ a: f32(4), b: f32(6), batchA: 1, batchB: 1, M: 2, N: 3, K: 2, transA: false, transB: false, out: f32out(6) }),
    unary: () => ({ op: 0, x: f32(5), y: f32out(5) }),
    binary: () => ({ op: 0, a: f32(6), aShape: [2, 3], b: f32(3), bShape: [3], out: f32out(6), outShape: [2, 3] }),
    reduce: () => ({ op: 0, x: f32(6), shape: [2, 3], axes: [1], out: f32out(2) }),
    softmax: () => ({ x: f32(6), y: f32out(6), rows: 2, n: 3 }),
    argReduce: () => ({ isMax: true, x: f32(6), outer: 2, n: 3, inner: 1, out: i32out(2) }),
    conv2d: () => ({ ...CONV, x: f32(32), filter: f32(54), y: f32out(12) }),
    conv2dBackpropFilter: () => ({ ...CONV, x: f32(32), dy: f32(12), dw: f32out(54) }),
    conv2dBackpropInput: () => ({ ...CONV, dy: f32(12), filter: f32(54), dx: f32out(32) }),
    depthwiseConv2d: () => ({ ...CONV, Co: 4, x: f32(32), filter: f32(36), y: f32out(16) }),
    depthwiseBackpropInput: () => ({ ...CONV, Co: 4, dy: f32(16), filter: f32(36), dx: f32out(32) }),
    depthwiseBackpropFilter: () => ({ ...CONV, Co: 4, x: f32(32), dy: f32(16), dw: f32out(36) }),
    copyStrided: () => ({ src: f32(6), srcOffset: 0, srcStrides: [3, 1], dst: f32out(6), dstOffset: 0, dstStrides: [1, 2], shape: [2, 3] }),
    gather: () => ({ x: f32(6), indices: Int32Array.from([2, 0]), batch: 1, outer: 2, dimSize: 3, slice: 1, count: 2, out: f32out(4) }),
    unsortedSegmentSum: () => ({ x: f32(6), segmentIds: Int32Array.from([1, 0, 1]), rows: 3, inner: 2, numSegments: 2, out: f32out(4) }),
    resizeBilinear: () => ({ ...RESIZE, x: f32(4), out: f32out(9) }),
    resizeBilinearGrad: () => ({ ...RESIZE, dy: f32(9), dx: f32out(4) }),
    maxPool: () => ({ ...POOL, x: f32(4), out: f32out(1) }),
    avgPool: () => ({ ...POOL, x: f32(4), out: f32out(1) }),
    avgPoolGrad: () => ({ ...POOL, dy: f32(1), dx: f32out(4) }),
    maxPoolGrad: () => ({ ...POOL, dy: f32(1), x: f32(4), dx: f32out(4) }),
  };
  /** Every output array of a fused call (lists flattened): the f32out ones, which start as SENTINEL. */
  const SYNC_OUTPUTS = {
    gelu: ['y'], geluGrad: ['dx'], batchNorm: ['y', 'mean', 'variance'], batchNormGrad: ['dx', 'dGamma', 'dBeta'],
    layerNorm: ['y', 'mean', 'rstd'], layerNormGrad: ['dx', 'dgamma', 'dbeta'], sgdStats: ['out'], sgdUpdate: ['wOut', 'bufOut'],
    matMul: ['out'], unary: ['y'], binary: ['out'], reduce: ['out'], softmax: ['y'], argReduce: ['out'], conv2d: ['y'],
    conv2dBackpropFilter: ['dw'], conv2dBackpropInput: ['dx'], depthwiseConv2d: ['y'], depthwiseBackpropInput: ['dx'],
    depthwiseBackpropFilter: ['dw'], copyStrided: ['dst'], gather: ['out'], unsortedSegmentSum: ['out'], resizeBilinear: ['out'],
    resizeBilinearGrad: ['dx'], maxPool: ['out'], avgPool: ['out'], avgPoolGrad: ['dx'], maxPoolGrad: ['dx'],
  };
  const syncOutputs = (op, a) => SYNC_OUTPUTS[op].filter((k) => a[k]).flatMap((k) => [a[k]].flat());

  for (const [op, make] of Object.entries(SYNC)) {
    test(`${op}: not one argument object → TypeError naming arguments; a missing property → TypeError naming it, nothing written`, () => {
      const valid = make();
      assert.is(native[op](valid), undefined);
      assert.ok(syncOutputs(op, valid).some((o) => o.some((v) => v !== SENTINEL)), `${op}: a valid call writes its outputs`);
      const object = make();
      for (const list of [[], [object, false], [null], [42], [Object.values(object)], Object.values(object)]) {
        assertThrowsWith(() => native[op](...list), TypeError, messagePatterns('arguments'), `${op} with ${list.length} arguments`);
      }
      for (const key of Object.keys(object)) {
        const partial = make();
        delete partial[key];
        assertThrowsWith(() => native[op](partial), TypeError, messagePatterns(key), `${op} without ${key}`);
        for (const o of syncOutputs(op, partial)) assert.ok(o.every((v) => v === SENTINEL), `${op} without ${key}: an output was written`);
      }
    });

    test(`${op}: a property of the wrong type → TypeError naming it, expected vs received, nothing written`, () => {
      for (const key of Object.keys(make())) {
        const bad = { ...make(), [key]: 'wrong' };
        assertThrowsWith(() => native[op](bad), TypeError, [...messagePatterns(key), /but received "wrong"$/], `${op} with a string ${key}`);
        for (const o of syncOutputs(op, { ...bad, [key]: null })) assert.ok(o.every((v) => v === SENTINEL), `${op} with a string ${key}: an output was written`);
      }
    });
  }

  test('after every refusal above the addon still works (no corrupted state)', () => {
    const k = build('knnGraph');
    native.knnGraph(...argsOf('knnGraph', k));
    const ref = new Int32Array(42);
    knnGraphReference({ ...k, metric: 'euclidean' }, ref);
    assertEqualValues(k.out, ref);
  });

  test.run();

  // ---------------------------------------------------------------------------------------------------------

  const t2 = suite('native addon: info, threads, async lifetime');
  /** A 9-NN Euclidean call on B batches of 1024 rows of 64 values. */
  const knnCall = (x, y, B, out, async) =>
    ({ x, y, B, N: 1024, M: 1024, D: 64, k: 9, dilation: 1, metric: 'euclidean', normalize: false, out, device: 0, async });

  t2('info() returns { version, threads, isa, cuda: { compiled, available, devices, reason } }', () => {
    const info = native.info();
    assert.type(info.version, 'string');
    assert.ok(/^\d+\.\d+\.\d+/.test(info.version), `version "${info.version}"`);
    assert.ok(Number.isInteger(info.threads) && info.threads >= 1, `threads ${info.threads}`);
    assert.type(info.isa, 'string');
    assert.ok(info.isa.length > 0, 'isa is empty');
    assert.type(info.cuda, 'object');
    assert.type(info.cuda.compiled, 'boolean');
    assert.type(info.cuda.available, 'boolean');
    assert.ok(Number.isInteger(info.cuda.devices) && info.cuda.devices >= 0, `devices ${info.cuda.devices}`);
    assert.type(info.cuda.reason, 'string');
    if (info.cuda.available) {
      assert.ok(info.cuda.compiled, 'cuda available but not compiled');
      assert.ok(info.cuda.devices >= 1, 'cuda available with no devices');
    } else {
      assert.ok(info.cuda.reason.trim().length > 0, 'cuda unavailable without a reason');
    }
  });

  t2(`backends() agrees with info()${disabled ? ' (SACL_NATIVE=0: cpu reported disabled)' : ''}`, () => {
    const infos = backends();
    const cpu = infos.find((b) => b.name === 'cpu');
    const cuda = infos.find((b) => b.name === 'cuda');
    const info = native.info();
    if (disabled) {
      assert.is(cpu.available, false);
      assert.match(cpu.reason, /SACL_NATIVE=0/);
      return;
    }
    assert.is(cpu.available, true);
    assert.is(cpu.compiled, true);
    assert.is(cpu.threads, info.threads);
    assert.is(cpu.isa, info.isa);
    assert.is(cuda.available, info.cuda.available);
    assert.is(cuda.compiled, info.cuda.compiled);
    if (!info.cuda.available) assert.is(cuda.reason, info.cuda.reason);
    else assert.is(cuda.devices, info.cuda.devices);
  });

  t2('setNumThreads refuses bad counts with TypeError / RangeError and keeps the old count', () => {
    const before = native.info().threads;
    assertThrowsWith(() => native.setNumThreads(0), RangeError, messagePatterns('n'));
    assertThrowsWith(() => native.setNumThreads(-1), RangeError, messagePatterns('n'));
    assertThrowsWith(() => native.setNumThreads(1.5), RangeError, messagePatterns('n'));
    assertThrowsWith(() => native.setNumThreads(NaN), RangeError, messagePatterns('n'));
    assertThrowsWith(() => native.setNumThreads(1e9), RangeError, messagePatterns('n'));
    assertThrowsWith(() => native.setNumThreads('2'), TypeError, messagePatterns('n'));
    assertThrowsWith(() => native.setNumThreads(), TypeError, []);
    assert.is(native.info().threads, before, 'a refused setNumThreads changed the thread count');
  });

  t2('setNumThreads(1) and setNumThreads(2) give bit-identical results on every op (seed 7100)', () => {
    const before = native.info().threads;
    const rng = new Rng(7100);
    // sizes large enough to be split across threads
    const kx = floats(rng, 4 * 300 * 32);
    const ky = floats(rng, 4 * 350 * 32);
    const mx = floats(rng, 16 * 18 * 256);
    const midx = index(rng, 16 * 18 * 9, 18);
    const my = floats(rng, 16 * 49 * 256);
    const myIdx = index(rng, 16 * 18 * 9, 49);
    const dOut = floats(rng, 16 * 18 * 256);
    const feat = floats(rng, 4 * 56 * 56 * 64);
    const centers = floats(rng, 4 * 18 * 2, -2, 58);
    const rdOut = floats(rng, 4 * 18 * 8 * 8 * 64);
    const runAll = () => {
      const o = {};
      o.knn = new Int32Array(4 * 300 * 9);
      native.knnGraph({ x: kx, y: null, B: 4, N: 300, M: 300, D: 32, k: 9, dilation: 1, metric: 'euclidean', normalize: false, out: o.knn, device: 0, async: false });
      o.knnY = new Int32Array(4 * 300 * 5);
      native.knnGraph({ x: kx, y: ky, B: 4, N: 300, M: 350, D: 32, k: 5, dilation: 2, metric: 'cosine', normalize: true, out: o.knnY, device: 0, async: false });
      o.knnM = new Int32Array(4 * 300 * 7);
      native.knnGraph({ x: kx, y: ky, B: 4, N: 300, M: 350, D: 32, k: 7, dilation: 1, metric: 'manhattan', normalize: false, out: o.knnM, device: 0, async: false });
      o.mr = new Float32Array(16 * 18 * 256);
      o.am = new Int32Array(16 * 18 * 256);
      native.maxRelative({ x: mx, y: null, idx: midx, B: 16, N: 18, M: 18, C: 256, K: 9, out: o.mr, argmax: o.am, device: 0, async: false });
      o.dx = new Float32Array(16 * 18 * 256);
      native.maxRelativeGrad({ dOut, idx: midx, argmax: o.am, B: 16, N: 18, M: 18, C: 256, K: 9, dx: o.dx, dy: null, device: 0, async: false });
      o.mrY = new Float32Array(16 * 18 * 256);
      o.amY = new Int32Array(16 * 18 * 256);
      native.maxRelative({ x: mx, y: my, idx: myIdx, B: 16, N: 18, M: 49, C: 256, K: 9, out: o.mrY, argmax: o.amY, device: 0, async: false });
      o.dxY = new Float32Array(16 * 18 * 256);
      o.dyY = new Float32Array(16 * 49 * 256);
      native.maxRelativeGrad({ dOut, idx: myIdx, argmax: o.amY, B: 16, N: 18, M: 49, C: 256, K: 9, dx: o.dxY, dy: o.dyY, device: 0, async: false });
      o.roi = new Float32Array(4 * 18 * 8 * 8 * 64);
      native.roiAlign({ features: feat, B: 4, H: 56, W: 56, C: 64, centers, R: 18, S: 8, step: 1, out: o.roi, device: 0, async: false });
      o.roiG = new Float32Array(4 * 56 * 56 * 64);
      native.roiAlignGrad({ dOut: rdOut, B: 4, H: 56, W: 56, C: 64, centers, R: 18, S: 8, step: 1, dFeatures: o.roiG, device: 0, async: false });
      return o;
    };
    try {
      native.setNumThreads(1);
      assert.is(native.info().threads, 1, 'info().threads after setNumThreads(1)');
      const one = runAll();
      native.setNumThreads(2);
      assert.ok(native.info().threads >= 1);
      const two = runAll();
      for (const key of Object.keys(one)) assertBitIdentical(two[key], one[key], `${key}: 1 thread vs 2 threads`);
      assert.ok(one.roiG.some((v) => v !== 0) && one.dyY.some((v) => v !== 0), 'the outputs are all zero; the test tests nothing');
    } finally {
      native.setNumThreads(before);
    }
    assert.is(native.info().threads, before);
  });

  t2('async calls keep their inputs alive: the inputs are dropped and garbage-collected while the work runs (seed 7200)', async () => {
    let gc = globalThis.gc;
    if (typeof gc !== 'function') {
      try {
        v8.setFlagsFromString('--expose-gc');
        gc = vm.runInNewContext('gc');
      } catch {
        gc = () => {};
      }
    }
    const make = () => {
      const rng = new Rng(7200);
      return { x: floats(rng, 4 * 1024 * 64), y: floats(rng, 4 * 1024 * 64) };
    };
    const want = new Int32Array(4 * 1024 * 9);
    const w = make();
    native.knnGraph(knnCall(w.x, w.y, 4, want, false));
    const outs = [];
    const pending = [];
    for (let i = 0; i < 3; i++) {
      const out = new Int32Array(4 * 1024 * 9);
      outs.push(out);
      // the only references to x and y are the ones the call keeps
      pending.push((() => {
        const { x, y } = make();
        return native.knnGraph(knnCall(x, y, 4, out, true));
      })());
    }
    const timer = setInterval(() => {
      gc();
      // churn: freed backing stores get reused by new arrays
      for (let j = 0; j < 8; j++) new Float32Array(4 * 1024 * 64).fill(1e6 + j);
    }, 0);
    try {
      await Promise.all(pending);
    } finally {
      clearInterval(timer);
    }
    outs.forEach((out, i) => assertEqualValues(out, want, `call ${i}`));
  });

  t2('async work runs off the event loop and several calls may be in flight (seed 7300)', async () => {
    const rng = new Rng(7300);
    const x = floats(rng, 8 * 1024 * 64);
    const outs = [0, 1, 2].map(() => new Int32Array(8 * 1024 * 9));
    let ticked = false;
    setImmediate(() => { ticked = true; });
    const ps = outs.map((o) => native.knnGraph(knnCall(x, null, 8, o, true)));
    assert.ok(ps.every((p) => p instanceof Promise));
    await Promise.all(ps);
    assert.ok(ticked, 'the event loop was blocked until the async calls finished');
    const sync = new Int32Array(8 * 1024 * 9);
    native.knnGraph(knnCall(x, null, 8, sync, false));
    outs.forEach((o, i) => assertEqualValues(o, sync, `concurrent call ${i}`));
  });

  t2.run();
}
