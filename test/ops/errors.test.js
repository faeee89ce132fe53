/**
 * Bad inputs (docs/ops.md, Errors) for all five ops, in their sync and async forms, on every available backend: the
 * exact error class (TypeError for a wrong kind, RangeError for a wrong value, Error for an unavailable
 * backend), a message of the shape "Expected <what> for <name> but received <what>" naming the argument,
 * and a rejected Promise (never a synchronous throw) from the async forms. A few messages are pinned
 * exactly. Every case mutates one thing of a call that is shown to succeed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  backends,
  knnGraph, knnGraphAsync, maxRelative, maxRelativeAsync, maxRelativeGrad, maxRelativeGradAsync, roiAlign, roiAlignAsync,
  roiAlignGrad, roiAlignGradAsync, setDefaultBackend, setNumThreads, getDefaultBackend,
} from '../../dist/index.js';
import { assertRejectsWith, assertThrowsWith } from '../helpers/assert.js';
import { availableBackends } from '../helpers/backends.js';
import { Rng, f32, i32, numel, randomFloat32, randomIndex } from '../helpers/random.js';

const OPS = {
  knnGraph: [knnGraph, knnGraphAsync],
  maxRelative: [maxRelative, maxRelativeAsync],
  maxRelativeGrad: [maxRelativeGrad, maxRelativeGradAsync],
  roiAlign: [roiAlign, roiAlignAsync],
  roiAlignGrad: [roiAlignGrad, roiAlignGradAsync],
};

// ---- fixtures: one valid call per op (fresh arrays every time; seed 9000) ----
const rng = () => new Rng(9000);
/** knnGraph: x [2, 5, 3], candidates [2, 6, 3]. */
const kx = () => randomFloat32(rng(), [2, 5, 3]);
const ky = () => randomFloat32(new Rng(9001), [2, 6, 3]);
/** maxRelative: x / dOut [2, 5, 4], idx [2, 5, 3] into 5 rows (6 with candidates [2, 6, 4]), argmax [2, 5, 4] in [0, 3). */
const mx = () => randomFloat32(rng(), [2, 5, 4]);
const my = () => randomFloat32(new Rng(9002), [2, 6, 4]);
const midx = (M = 5) => randomIndex(new Rng(9003), [2, 5, 3], M);
const mam = () => randomIndex(new Rng(9004), [2, 5, 4], 3);
/** roiAlign: features [2, 6, 7, 3], centers [2, 4, 2] inside the map, size 3; dOut [2, 4, 3, 3, 3]. */
const FS = [2, 6, 7, 3];
const rf = () => randomFloat32(rng(), FS);
const rc = () => randomFloat32(new Rng(9005), [2, 4, 2], 0, 5);
const rg = () => randomFloat32(new Rng(9006), [2, 4, 3, 3, 3]);

/** t with data[position] = value (flat position computed from a multi-index). */
function poke(t, at, value) {
  let flat = 0;
  at.forEach((a, i) => { flat = flat * t.shape[i] + a; });
  t.data[flat] = value;
  return t;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SHAPE = /^Expected [^]+ for [^]+ but received [^]+$/;

/**
 * The patterns an error message must match: the contract shape, the argument name in the "for NAME but
 * received" slot, and optionally what was received (a string matched literally at the end, or a RegExp).
 */
function patterns(name, received) {
  const out = [SHAPE, new RegExp(` for ${escape(name)} but received `)];
  if (typeof received === 'string') out.push(new RegExp(`but received ${escape(received)}$`));
  else if (received instanceof RegExp) out.push(received);
  return out;
}

/** A string value the caller passed: shown quoted, as JSON (the native layer does the same). */
const str = (s) => new RegExp(`but received ${escape(JSON.stringify(s))}$`);

/**
 * Each case: op, what, args(on) → the argument list (on = { backend } to merge into the options), the
 * error class, the argument name, and optionally what was received and the exact message.
 */
const CASES = [];
function bad(op, what, args, cls, name, received, exact, loose = false) {
  CASES.push({ op, what, args, cls, name, received, exact, loose });
}

// ---- knnGraph ----
{
  const op = 'knnGraph';
  const xs = (shape, data) => ({ shape, data: data ?? new Float32Array(numel(shape)) });
  bad(op, 'x is a bare Float32Array', (o) => [new Float32Array(30), 2, o], TypeError, 'x', 'Float32Array',
    'Expected a { shape, data: Float32Array } object for x but received Float32Array');
  bad(op, 'x is null', (o) => [null, 2, o], TypeError, 'x', 'null');
  bad(op, 'x is undefined', (o) => [undefined, 2, o], TypeError, 'x', 'undefined');
  bad(op, 'x is a nested plain array', (o) => [[[[1, 2, 3]]], 1, o], TypeError, 'x', /received array \[array/,
    'Expected a { shape, data: Float32Array } object for x but received array [array [array [1, 2, 3]]]');
  bad(op, 'x.data is a Float64Array', (o) => [xs([2, 5, 3], new Float64Array(30)), 2, o], TypeError, 'x.data', 'Float64Array',
    'Expected a Float32Array for x.data but received Float64Array');
  bad(op, 'x.data is a plain array', (o) => [xs([1, 3, 1], [1, 2, 3]), 2, o], TypeError, 'x.data', /received array \[1, 2, 3\]$/);
  bad(op, 'x.data is an Int32Array', (o) => [xs([2, 5, 3], new Int32Array(30)), 2, o], TypeError, 'x.data', 'Int32Array');
  bad(op, 'x.shape is a string', (o) => [xs('2,5,3', new Float32Array(30)), 2, o], TypeError, 'x.shape');
  bad(op, 'x.shape is missing', (o) => [{ data: new Float32Array(30) }, 2, o], TypeError, 'x.shape', 'undefined');
  bad(op, 'x has rank 2', (o) => [xs([10, 3]), 2, o], RangeError, 'x.shape', 'rank 2 [10, 3]',
    'Expected rank 3 [B, N, D] for x.shape but received rank 2 [10, 3]');
  bad(op, 'x has rank 4', (o) => [xs([2, 5, 3, 1]), 2, o], RangeError, 'x.shape', 'rank 4 [2, 5, 3, 1]');
  bad(op, 'N = 0', (o) => [xs([2, 0, 3]), 1, o], RangeError, 'x.shape[1] (N)', '0');
  bad(op, 'B < 0', (o) => [xs([-2, 5, 3], new Float32Array(30)), 2, o], RangeError, 'x.shape[0] (B)', '-2');
  bad(op, 'D is not an integer', (o) => [xs([2, 5, 1.5], new Float32Array(15)), 2, o], RangeError, 'x.shape[2] (D)', '1.5');
  bad(op, 'B is NaN', (o) => [xs([NaN, 5, 3], new Float32Array(30)), 2, o], RangeError, 'x.shape[0] (B)', 'NaN');
  bad(op, 'B is a string', (o) => [xs(['2', 5, 3], new Float32Array(30)), 2, o], TypeError, 'x.shape[0] (B)');
  bad(op, 'x.data shorter than the shape', (o) => [xs([2, 5, 3], new Float32Array(29)), 2, o], RangeError, 'x.data.length', '29');
  bad(op, 'x.data longer than the shape', (o) => [xs([2, 5, 3], new Float32Array(31)), 2, o], RangeError, 'x.data.length', '31');
  bad(op, 'x.shape has more than 2^31 − 1 elements', (o) => [xs([65536, 65536, 1], new Float32Array(3)), 1, o], RangeError, 'x.shape',
    '[65536, 65536, 1] (4294967296 elements)',
    'Expected at most 2147483647 elements for x.shape but received [65536, 65536, 1] (4294967296 elements)');
  bad(op, 'k = 0', (o) => [kx(), 0, o], RangeError, 'k', '0', 'Expected an integer between 1 and 2147483647 for k but received 0');
  bad(op, 'k < 0', (o) => [kx(), -1, o], RangeError, 'k', '-1');
  bad(op, 'k is not an integer', (o) => [kx(), 1.5, o], RangeError, 'k', '1.5');
  bad(op, 'k is NaN', (o) => [kx(), NaN, o], RangeError, 'k', 'NaN');
  bad(op, 'k is Infinity', (o) => [kx(), Infinity, o], RangeError, 'k', 'Infinity');
  bad(op, 'k is a string', (o) => [kx(), '2', o], TypeError, 'k', str('2'));
  bad(op, 'k is missing', (o) => [kx(), undefined, o], TypeError, 'k', 'undefined');
  bad(op, 'k is null', (o) => [kx(), null, o], TypeError, 'k', 'null');
  bad(op, 'k > N', (o) => [kx(), 6, o], RangeError, 'k', 'k = 6 with dilation 1 (6)',
    'Expected k·dilation ≤ M = 5 for k but received k = 6 with dilation 1 (6)');
  bad(op, 'k·dilation > N', (o) => [kx(), 3, { ...o, dilation: 2 }], RangeError, 'k', 'k = 3 with dilation 2 (6)');
  bad(op, 'k > M (bipartite)', (o) => [kx(), 4, { ...o, candidates: randomFloat32(rng(), [2, 3, 3]) }], RangeError, 'k', /M = 3 for k/);
  bad(op, 'B·N·k overflows int32', (o) => [xs([1, 65536, 1]), 65536, o], RangeError, 'k', '1·65536·65536 = 4294967296',
    'Expected B·N·k ≤ 2147483647 for k but received 1·65536·65536 = 4294967296');
  bad(op, 'metric misspelt', (o) => [kx(), 2, { ...o, metric: 'cosin' }], RangeError, 'options.metric', str('cosin'));
  bad(op, 'metric in the wrong case', (o) => [kx(), 2, { ...o, metric: 'Euclidean' }], RangeError, 'options.metric', str('Euclidean'));
  bad(op, 'metric is a number', (o) => [kx(), 2, { ...o, metric: 1 }], TypeError, 'options.metric', '1');
  bad(op, 'metric is null', (o) => [kx(), 2, { ...o, metric: null }], TypeError, 'options.metric', 'null');
  bad(op, 'normalize is a string', (o) => [kx(), 2, { ...o, normalize: 'yes' }], TypeError, 'options.normalize', str('yes'));
  bad(op, 'normalize is a number', (o) => [kx(), 2, { ...o, normalize: 1 }], TypeError, 'options.normalize', '1');
  bad(op, 'normalize is null', (o) => [kx(), 2, { ...o, normalize: null }], TypeError, 'options.normalize', 'null');
  bad(op, 'dilation = 0', (o) => [kx(), 2, { ...o, dilation: 0 }], RangeError, 'options.dilation', '0');
  bad(op, 'dilation < 0', (o) => [kx(), 2, { ...o, dilation: -1 }], RangeError, 'options.dilation', '-1');
  bad(op, 'dilation is not an integer', (o) => [kx(), 2, { ...o, dilation: 1.5 }], RangeError, 'options.dilation', '1.5');
  bad(op, 'dilation is NaN', (o) => [kx(), 2, { ...o, dilation: NaN }], RangeError, 'options.dilation', 'NaN');
  bad(op, 'dilation is a string', (o) => [kx(), 2, { ...o, dilation: '2' }], TypeError, 'options.dilation', str('2'));
  bad(op, 'candidates.data is a Float64Array', (o) => [kx(), 2, { ...o, candidates: xs([2, 6, 3], new Float64Array(36)) }],
    TypeError, 'options.candidates.data', 'Float64Array');
  bad(op, 'candidates is a bare Float32Array', (o) => [kx(), 2, { ...o, candidates: new Float32Array(36) }],
    TypeError, 'options.candidates', 'Float32Array');
  bad(op, 'candidates is null', (o) => [kx(), 2, { ...o, candidates: null }], TypeError, 'options.candidates', 'null');
  bad(op, 'candidates has rank 2', (o) => [kx(), 2, { ...o, candidates: xs([12, 3]) }], RangeError, 'options.candidates.shape');
  bad(op, 'candidates B ≠ x B', (o) => [kx(), 2, { ...o, candidates: randomFloat32(rng(), [3, 5, 3]) }], RangeError,
    'options.candidates.shape[0] (B)', '3 in [3, 5, 3]',
    'Expected 2 (x.shape[0]) for options.candidates.shape[0] (B) but received 3 in [3, 5, 3]');
  bad(op, 'candidates D ≠ x D', (o) => [kx(), 2, { ...o, candidates: randomFloat32(rng(), [2, 6, 4]) }], RangeError,
    'options.candidates.shape[2] (D)', '4 in [2, 6, 4]');
  bad(op, 'NaN in x (the first bad position is named)', (o) => [poke(poke(kx(), [1, 2, 0], NaN), [1, 4, 2], NaN), 2, o], RangeError,
    'x[1, 2, 0]', 'NaN', 'Expected a finite number for x[1, 2, 0] but received NaN');
  bad(op, 'Infinity in x', (o) => [poke(kx(), [0, 0, 2], Infinity), 2, o], RangeError, 'x[0, 0, 2]', 'Infinity');
  bad(op, '−Infinity in x', (o) => [poke(kx(), [1, 4, 2], -Infinity), 2, o], RangeError, 'x[1, 4, 2]', '-Infinity');
  bad(op, 'NaN in the candidates', (o) => [kx(), 2, { ...o, candidates: poke(ky(), [1, 5, 1], NaN) }], RangeError,
    'options.candidates[1, 5, 1]', 'NaN');
  bad(op, 'Infinity in the candidates', (o) => [kx(), 2, { ...o, candidates: poke(ky(), [0, 3, 0], Infinity) }], RangeError,
    'options.candidates[0, 3, 0]', 'Infinity');
}

// ---- maxRelative ----
{
  const op = 'maxRelative';
  bad(op, 'x.data is a Float64Array', (o) => [{ shape: [2, 5, 4], data: new Float64Array(40) }, midx(), o], TypeError, 'x.data', 'Float64Array');
  bad(op, 'x is a bare Float32Array', (o) => [new Float32Array(40), midx(), o], TypeError, 'x', 'Float32Array');
  bad(op, 'x.data is a plain array', (o) => [{ shape: [2, 5, 4], data: Array.from(mx().data) }, midx(), o], TypeError, 'x.data',
    /received array \[/);
  bad(op, 'x has rank 2', (o) => [f32([10, 4], mx().data), midx(), o], RangeError, 'x.shape', 'rank 2 [10, 4]');
  bad(op, 'C = 0', (o) => [f32([2, 5, 0], []), midx(), o], RangeError, 'x.shape[2] (C)', '0');
  bad(op, 'idx.data is a Float32Array', (o) => [mx(), { shape: [2, 5, 3], data: new Float32Array(30) }, o], TypeError, 'idx.data',
    'Float32Array');
  bad(op, 'idx.data is a plain array', (o) => [mx(), { shape: [2, 5, 3], data: Array.from(midx().data) }, o], TypeError, 'idx.data');
  bad(op, 'idx is a bare Int32Array', (o) => [mx(), midx().data, o], TypeError, 'idx', 'Int32Array');
  bad(op, 'idx is missing', (o) => [mx(), undefined, o], TypeError, 'idx', 'undefined');
  bad(op, 'idx has rank 2', (o) => [mx(), i32([10, 3], midx().data), o], RangeError, 'idx.shape', 'rank 2 [10, 3]');
  bad(op, 'idx B ≠ x B', (o) => [mx(), i32([1, 5, 3], new Int32Array(15)), o], RangeError, 'idx.shape[0] (B)', '1 in [1, 5, 3]');
  bad(op, 'idx N ≠ x N', (o) => [mx(), i32([2, 4, 3], new Int32Array(24)), o], RangeError, 'idx.shape[1] (N)', '4 in [2, 4, 3]');
  bad(op, 'K = 0', (o) => [mx(), i32([2, 5, 0], []), o], RangeError, 'idx.shape[2] (K)', '0');
  bad(op, 'idx = −1', (o) => [mx(), poke(midx(), [0, 2, 1], -1), o], RangeError, 'idx[0, 2, 1]', '-1',
    'Expected an index in [0, 5) (M, the number of neighbour rows) for idx[0, 2, 1] but received -1');
  bad(op, 'idx = M (the first bad position is named)', (o) => [mx(), poke(poke(midx(), [1, 4, 2], 5), [1, 4, 0], 7), o], RangeError,
    'idx[1, 4, 0]', '7');
  bad(op, 'idx = M with candidates', (o) => [mx(), poke(midx(6), [1, 0, 0], 6), { ...o, candidates: my() }], RangeError,
    'idx[1, 0, 0]', /an index in \[0, 6\)[^]*received 6$/);
  bad(op, 'idx = 2^31 − 1', (o) => [mx(), poke(midx(), [0, 0, 0], 2 ** 31 - 1), o], RangeError, 'idx[0, 0, 0]', '2147483647');
  bad(op, 'candidates.data is a Float64Array', (o) => [mx(), midx(), { ...o, candidates: { shape: [2, 6, 4], data: new Float64Array(48) } }],
    TypeError, 'options.candidates.data', 'Float64Array');
  bad(op, 'candidates has rank 4', (o) => [mx(), midx(), { ...o, candidates: f32([2, 6, 4, 1], my().data) }], RangeError,
    'options.candidates.shape');
  bad(op, 'candidates B ≠ x B', (o) => [mx(), midx(), { ...o, candidates: randomFloat32(rng(), [1, 6, 4]) }], RangeError,
    'options.candidates.shape[0] (B)', '1 in [1, 6, 4]');
  bad(op, 'candidates C ≠ x C', (o) => [mx(), midx(), { ...o, candidates: randomFloat32(rng(), [2, 6, 5]) }], RangeError,
    'options.candidates.shape[2] (C)', '5 in [2, 6, 5]');
}

// ---- maxRelativeGrad ----
{
  const op = 'maxRelativeGrad';
  bad(op, 'dOut.data is a Float64Array', (o) => [{ shape: [2, 5, 4], data: new Float64Array(40) }, midx(), mam(), o], TypeError,
    'dOut.data', 'Float64Array');
  bad(op, 'dOut is null', (o) => [null, midx(), mam(), o], TypeError, 'dOut', 'null');
  bad(op, 'dOut has rank 4', (o) => [f32([2, 5, 4, 1], mx().data), midx(), mam(), o], RangeError, 'dOut.shape');
  bad(op, 'dOut length ≠ shape', (o) => [f32([2, 5, 4], new Float32Array(39)), midx(), mam(), o], RangeError, 'dOut.data.length', '39');
  bad(op, 'idx = −1', (o) => [mx(), poke(midx(), [1, 3, 2], -1), mam(), o], RangeError, 'idx[1, 3, 2]', '-1');
  bad(op, 'idx = M', (o) => [mx(), poke(midx(), [0, 0, 1], 5), mam(), o], RangeError, 'idx[0, 0, 1]', '5');
  bad(op, 'idx N ≠ dOut N', (o) => [mx(), i32([2, 6, 3], new Int32Array(36)), mam(), o], RangeError, 'idx.shape[1] (N)');
  bad(op, 'argmax.data is a Float32Array', (o) => [mx(), midx(), { shape: [2, 5, 4], data: new Float32Array(40) }, o], TypeError,
    'argmax.data', 'Float32Array');
  bad(op, 'argmax is missing', (o) => [mx(), midx(), undefined, o], TypeError, 'argmax', 'undefined');
  bad(op, 'argmax has rank 2', (o) => [mx(), midx(), i32([10, 4], mam().data), o], RangeError, 'argmax.shape');
  bad(op, 'argmax N ≠ dOut N', (o) => [mx(), midx(), i32([2, 4, 5], new Int32Array(40)), o], RangeError, 'argmax.shape[1] (N)');
  bad(op, 'argmax C ≠ dOut C', (o) => [mx(), midx(), i32([2, 5, 5], new Int32Array(50)), o], RangeError, 'argmax.shape[2] (C)',
    '5 in [2, 5, 5]');
  bad(op, 'argmax = K', (o) => [mx(), midx(), poke(mam(), [1, 0, 3], 3), o], RangeError, 'argmax[1, 0, 3]', '3',
    'Expected an index in [0, 3) (K, the number of neighbour slots) for argmax[1, 0, 3] but received 3');
  bad(op, 'argmax = −1', (o) => [mx(), midx(), poke(mam(), [0, 4, 0], -1), o], RangeError, 'argmax[0, 4, 0]', '-1');
  bad(op, 'candidates C ≠ dOut C', (o) => [mx(), midx(), mam(), { ...o, candidates: randomFloat32(rng(), [2, 6, 3]) }], RangeError,
    'options.candidates.shape[2] (C)');
  bad(op, 'idx = M with candidates', (o) => [mx(), poke(midx(6), [0, 1, 2], 6), mam(), { ...o, candidates: my() }], RangeError,
    'idx[0, 1, 2]', '6');
}

// ---- roiAlign ----
{
  const op = 'roiAlign';
  bad(op, 'features.data is a Float64Array', (o) => [{ shape: FS, data: new Float64Array(numel(FS)) }, rc(), 3, o], TypeError,
    'features.data', 'Float64Array');
  bad(op, 'features is a bare Float32Array', (o) => [rf().data, rc(), 3, o], TypeError, 'features', 'Float32Array');
  bad(op, 'features has rank 3', (o) => [f32([12, 7, 3], rf().data), rc(), 3, o], RangeError, 'features.shape',
    'rank 3 [12, 7, 3]');
  bad(op, 'H = 0', (o) => [f32([2, 0, 7, 3], []), rc(), 3, o], RangeError, 'features.shape[1] (H)', '0');
  bad(op, 'features length ≠ shape', (o) => [f32(FS, new Float32Array(numel(FS) - 1)), rc(), 3, o], RangeError, 'features.data.length');
  bad(op, 'centers.data is an Int32Array', (o) => [rf(), { shape: [2, 4, 2], data: new Int32Array(16) }, 3, o], TypeError,
    'centers.data', 'Int32Array');
  bad(op, 'centers.data is a plain array', (o) => [rf(), { shape: [2, 4, 2], data: Array.from(rc().data) }, 3, o], TypeError,
    'centers.data');
  bad(op, 'centers is missing', (o) => [rf(), undefined, 3, o], TypeError, 'centers', 'undefined');
  bad(op, 'centers has rank 2', (o) => [rf(), f32([8, 2], rc().data), 3, o], RangeError, 'centers.shape', 'rank 2 [8, 2]');
  bad(op, 'centers last axis is not 2', (o) => [rf(), randomFloat32(rng(), [2, 4, 3]), 3, o], RangeError, 'centers.shape[2] (2)',
    '3 in [2, 4, 3]');
  bad(op, 'centers B ≠ features B', (o) => [rf(), randomFloat32(rng(), [3, 4, 2]), 3, o], RangeError, 'centers.shape[0] (B)',
    '3 in [3, 4, 2]');
  bad(op, 'size = 0', (o) => [rf(), rc(), 0, o], RangeError, 'size', '0');
  bad(op, 'size < 0', (o) => [rf(), rc(), -1, o], RangeError, 'size', '-1');
  bad(op, 'size is not an integer', (o) => [rf(), rc(), 2.5, o], RangeError, 'size', '2.5');
  bad(op, 'size is NaN', (o) => [rf(), rc(), NaN, o], RangeError, 'size', 'NaN');
  bad(op, 'size is Infinity', (o) => [rf(), rc(), Infinity, o], RangeError, 'size', 'Infinity');
  bad(op, 'size > 4096', (o) => [rf(), rc(), 4097, o], RangeError, 'size', '4097',
    'Expected an integer between 1 and 4096 for size but received 4097');
  bad(op, 'size is a string', (o) => [rf(), rc(), '3', o], TypeError, 'size', str('3'));
  bad(op, 'size is missing', (o) => [rf(), rc(), undefined, o], TypeError, 'size', 'undefined');
  bad(op, 'B·R·S·S·C overflows int32', (o) => [f32([1, 1, 1, 1], [1]), f32([1, 200, 2], new Float32Array(400)), 4096, o], RangeError,
    'size', '1·200·4096·4096·1 = 3355443200', 'Expected B·R·S·S·C ≤ 2147483647 for size but received 1·200·4096·4096·1 = 3355443200');
  bad(op, 'step = 0', (o) => [rf(), rc(), 3, { ...o, step: 0 }], RangeError, 'options.step', '0');
  bad(op, 'step < 0', (o) => [rf(), rc(), 3, { ...o, step: -1 }], RangeError, 'options.step', '-1');
  bad(op, 'step is NaN', (o) => [rf(), rc(), 3, { ...o, step: NaN }], RangeError, 'options.step', 'NaN');
  bad(op, 'step is Infinity', (o) => [rf(), rc(), 3, { ...o, step: Infinity }], RangeError, 'options.step', 'Infinity');
  bad(op, 'step is a string', (o) => [rf(), rc(), 3, { ...o, step: '1' }], TypeError, 'options.step', str('1'));
  bad(op, 'step is null', (o) => [rf(), rc(), 3, { ...o, step: null }], TypeError, 'options.step', 'null');
  bad(op, 'NaN centre (the first bad position is named)', (o) => [rf(), poke(poke(rc(), [1, 2, 1], NaN), [1, 3, 0], NaN), 3, o],
    RangeError, 'centers[1, 2, 1]', 'NaN', 'Expected a finite number for centers[1, 2, 1] but received NaN');
  bad(op, 'Infinity centre', (o) => [rf(), poke(rc(), [0, 3, 0], Infinity), 3, o], RangeError, 'centers[0, 3, 0]', 'Infinity');
  bad(op, '−Infinity centre', (o) => [rf(), poke(rc(), [0, 0, 1], -Infinity), 3, o], RangeError, 'centers[0, 0, 1]', '-Infinity');
}

// ---- roiAlignGrad ----
{
  const op = 'roiAlignGrad';
  bad(op, 'featureShape is a string', (o) => [rg(), rc(), '2,6,7,3', o], TypeError, 'featureShape', str('2,6,7,3'));
  bad(op, 'featureShape is an Int32Array', (o) => [rg(), rc(), Int32Array.from(FS), o], TypeError, 'featureShape', 'Int32Array');
  bad(op, 'featureShape is missing', (o) => [rg(), rc(), undefined, o], TypeError, 'featureShape', 'undefined');
  bad(op, 'featureShape has 3 sizes', (o) => [rg(), rc(), [2, 6, 7], o], RangeError, 'featureShape', '3 sizes');
  bad(op, 'featureShape has a 0', (o) => [rg(), rc(), [2, 6, 0, 3], o], RangeError, 'featureShape[2]', '0');
  bad(op, 'featureShape has a non-integer', (o) => [rg(), rc(), [2, 6, 7.5, 3], o], RangeError, 'featureShape[2]', '7.5');
  bad(op, 'featureShape has a negative size', (o) => [rg(), rc(), [2, -6, 7, 3], o], RangeError, 'featureShape[1]', '-6');
  bad(op, 'featureShape has a string', (o) => [rg(), rc(), [2, '6', 7, 3], o], TypeError, 'featureShape[1]', str('6'));
  bad(op, 'featureShape overflows int32', (o) => [rg(), rc(), [65536, 65536, 1, 1], o], RangeError, 'featureShape', '4294967296');
  bad(op, 'dOut.data is a Float64Array', (o) => [{ shape: [2, 4, 3, 3, 3], data: new Float64Array(216) }, rc(), FS, o], TypeError,
    'dOut.data', 'Float64Array');
  bad(op, 'dOut has rank 4', (o) => [f32([2, 4, 9, 3], rg().data), rc(), FS, o], RangeError, 'dOut.shape');
  bad(op, 'dOut B ≠ featureShape B', (o) => [f32([1, 4, 3, 3, 3], new Float32Array(108)), f32([1, 4, 2], new Float32Array(8)), FS, o],
    RangeError, 'dOut.shape[0] (B)', '1 in [1, 4, 3, 3, 3]');
  bad(op, 'dOut crops are not square', (o) => [f32([2, 4, 3, 2, 3], new Float32Array(144)), rc(), FS, o], RangeError, 'dOut.shape[3] (S)',
    '2 in [2, 4, 3, 2, 3]', 'Expected 3 (dOut.shape[2]: crops are square) for dOut.shape[3] (S) but received 2 in [2, 4, 3, 2, 3]');
  bad(op, 'dOut C ≠ featureShape C', (o) => [f32([2, 4, 3, 3, 4], new Float32Array(288)), rc(), FS, o], RangeError, 'dOut.shape[4] (C)',
    '4 in [2, 4, 3, 3, 4]');
  bad(op, 'centers R ≠ dOut R', (o) => [rg(), randomFloat32(rng(), [2, 5, 2]), FS, o], RangeError, 'centers.shape[1] (R)',
    '5 in [2, 5, 2]', 'Expected 4 (dOut.shape[1]) for centers.shape[1] (R) but received 5 in [2, 5, 2]');
  bad(op, 'centers B ≠ featureShape B', (o) => [rg(), randomFloat32(rng(), [1, 4, 2]), FS, o], RangeError, 'centers.shape[0] (B)');
  bad(op, 'centers.data is a Float64Array', (o) => [rg(), { shape: [2, 4, 2], data: new Float64Array(16) }, FS, o], TypeError,
    'centers.data', 'Float64Array');
  bad(op, 'NaN centre', (o) => [rg(), poke(rc(), [1, 1, 0], NaN), FS, o], RangeError, 'centers[1, 1, 0]', 'NaN');
  bad(op, 'Infinity centre', (o) => [rg(), poke(rc(), [0, 2, 1], Infinity), FS, o], RangeError, 'centers[0, 2, 1]', 'Infinity');
  bad(op, 'step = 0', (o) => [rg(), rc(), FS, { ...o, step: 0 }], RangeError, 'options.step', '0');
  bad(op, 'step is NaN', (o) => [rg(), rc(), FS, { ...o, step: NaN }], RangeError, 'options.step', 'NaN');
  bad(op, 'step is a boolean', (o) => [rg(), rc(), FS, { ...o, step: true }], TypeError, 'options.step', 'boolean true');
}

// ---- options and backend names, for every op ----
const VALID = {
  knnGraph: (opts) => [kx(), 2, opts],
  maxRelative: (opts) => [mx(), midx(), opts],
  maxRelativeGrad: (opts) => [mx(), midx(), mam(), opts],
  roiAlign: (opts) => [rf(), rc(), 3, opts],
  roiAlignGrad: (opts) => [rg(), rc(), FS, opts],
};
for (const op of Object.keys(OPS)) {
  const call = VALID[op];
  bad(op, 'options is null', () => call(null), TypeError, 'options', 'null',
    'Expected an options object for options but received null');
  bad(op, 'options is a string', () => call('euclidean'), TypeError, 'options', str('euclidean'));
  bad(op, 'options is a number', () => call(5), TypeError, 'options', '5');
  bad(op, 'options is an array', () => call([]), TypeError, 'options');
  bad(op, 'options is a function', () => call(() => {}), TypeError, 'options', 'function');
  bad(op, 'unknown backend name', () => call({ backend: 'gpu' }), RangeError, 'options.backend', str('gpu'));
  bad(op, 'backend name in the wrong case', () => call({ backend: 'CPU' }), RangeError, 'options.backend', str('CPU'));
  // (the received value is not checked here: the empty string currently prints as nothing, see the report)
  bad(op, 'empty backend name', () => call({ backend: '' }), RangeError, 'options.backend', undefined, undefined, true);
  bad(op, 'backend is a number', () => call({ backend: 1 }), TypeError, 'options.backend', '1');
  bad(op, 'backend is null', () => call({ backend: null }), TypeError, 'options.backend', 'null');
}

// ---------------------------------------------------------------------------------------------------------

for (const name of availableBackends) {
  const test = suite(`errors [${name}]`);
  const on = { backend: name };

  test('the unmutated calls succeed (sync and async), so every failure below comes from its one change', async () => {
    for (const op of Object.keys(OPS)) {
      const [sync, async] = OPS[op];
      assert.ok(sync(...VALID[op](on)), `${op} sync`);
      assert.ok(await async(...VALID[op](on)), `${op} async`);
    }
    // the variants the cases start from are valid too
    const withY = { ...on, candidates: my() };
    assert.ok(maxRelative(mx(), midx(6), withY).out);
    assert.ok((await maxRelativeAsync(mx(), midx(6), withY)).out);
    assert.ok(maxRelativeGrad(mx(), midx(6), mam(), withY).dy);
    assert.ok((await maxRelativeGradAsync(mx(), midx(6), mam(), withY)).dy);
    assert.ok(maxRelative(mx(), poke(midx(), [1, 4, 2], 4), on));
    assert.ok(maxRelativeGrad(mx(), midx(), poke(mam(), [1, 0, 3], 2), on));
    assert.ok(knnGraph(kx(), 2, { ...on, candidates: ky(), dilation: 3 }));
    assert.ok(knnGraph(kx(), 5, { ...on, metric: 'manhattan', normalize: true }));
    assert.ok(knnGraph(kx(), 2, { ...on, candidates: randomFloat32(rng(), [2, 3, 3]) }));
    assert.ok(roiAlign(rf(), rc(), 3, { ...on, step: 0.5 }));
    assert.ok(roiAlign(rf(), rc(), 4096 / 64, on));
    assert.ok(roiAlignGrad(rg(), rc(), FS, { ...on, step: 2 }));
  });

  for (const c of CASES) {
    const [sync, async] = OPS[c.op];
    test(`${c.op}: ${c.what} → ${c.cls.name} naming ${c.name} (sync and async)`, async () => {
      const pats = c.loose ? [new RegExp(`^Expected [^]+ for ${escape(c.name)} but received`)] : patterns(c.name, c.received);
      const e1 = assertThrowsWith(() => sync(...c.args(on)), c.cls, pats, `${c.op} sync`);
      const e2 = await assertRejectsWith(() => async(...c.args(on)), c.cls, pats, `${c.op}Async`);
      if (c.exact) {
        assert.is(e1.message, c.exact, `${c.op}: exact message`);
        assert.is(e2.message, c.exact, `${c.op}Async: exact message`);
      }
      assert.is(e2.message, e1.message, 'the sync and async forms give different messages');
    });
  }

  test.run();
}

// ---- backends that are not available here, and the registry's own arguments ----
{
  const test = suite('errors [registry]');
  // what the registry says, not the backends under test (SACL_TEST_BACKENDS may leave some out)
  const missing = ['cpu', 'cuda'].filter((n) => !backends().find((b) => b.name === n)?.available);

  for (const name of missing) {
    test(`backend '${name}' is not available here: every op (sync and async) throws Error saying why`, async () => {
      const pats = [new RegExp(`^The '${name}' backend is not available: .+`)];
      for (const op of Object.keys(OPS)) {
        const [sync, async] = OPS[op];
        assertThrowsWith(() => sync(...VALID[op]({ backend: name })), Error, pats, `${op} on ${name}`);
        await assertRejectsWith(() => async(...VALID[op]({ backend: name })), Error, pats, `${op}Async on ${name}`);
      }
      const before = getDefaultBackend();
      assertThrowsWith(() => setDefaultBackend(name), Error, pats, `setDefaultBackend('${name}')`);
      assert.is(getDefaultBackend(), before, 'a refused setDefaultBackend changed the default');
    });
  }

  test('setDefaultBackend refuses unknown names, leaving the default alone', () => {
    const before = getDefaultBackend();
    assertThrowsWith(() => setDefaultBackend('gpu'), RangeError, patterns('name', str('gpu')));
    assertThrowsWith(() => setDefaultBackend(undefined), TypeError, patterns('name', 'undefined'));
    assertThrowsWith(() => setDefaultBackend(0), TypeError, patterns('name', '0'));
    assert.is(getDefaultBackend(), before);
  });

  test('setNumThreads refuses counts outside [1, 1024] and non-numbers before touching the addon', () => {
    assertThrowsWith(() => setNumThreads(0), RangeError, patterns('n', '0'));
    assertThrowsWith(() => setNumThreads(-2), RangeError, patterns('n', '-2'));
    assertThrowsWith(() => setNumThreads(1.5), RangeError, patterns('n', '1.5'));
    assertThrowsWith(() => setNumThreads(1025), RangeError, patterns('n', '1025'));
    assertThrowsWith(() => setNumThreads(NaN), RangeError, patterns('n', 'NaN'));
    assertThrowsWith(() => setNumThreads('2'), TypeError, patterns('n', str('2')));
    assertThrowsWith(() => setNumThreads(), TypeError, patterns('n', 'undefined'));
  });

  test.run();
}
