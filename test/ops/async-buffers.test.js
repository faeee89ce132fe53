/**
 * The async contract (docs/ops.md, "Async calls and the caller's buffers") on every backend: an async call
 * reads its inputs as they were when it was called, whatever the caller does to them while it runs
 * (rewrites them, shrinks a resizable buffer, transfers the buffer away); an output array that is
 * resized or transferred while a native call runs makes the Promise reject, naming it; and an output
 * that shares memory with an input is refused even through two clones of one SharedArrayBuffer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  knnGraph, knnGraphAsync, maxRelative, maxRelativeGrad, maxRelativeGradAsync, roiAlign, roiAlignAsync,
} from '../../dist/index.js';
import { assertBitIdentical, assertRejectsWith, assertThrowsWith } from '../helpers/assert.js';
import { availableBackends, isNative, loadRawAddon } from '../helpers/backends.js';
import { Rng, numel, randomFloat32, randomIndex } from '../helpers/random.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** A copy of t whose data lives on a resizable ArrayBuffer (of exactly its size, growable to twice). */
function onResizable(t) {
  const bytes = t.data.byteLength;
  const buffer = new ArrayBuffer(bytes, { maxByteLength: 2 * bytes });
  const data = new t.data.constructor(buffer, 0, t.data.length);
  data.set(t.data);
  return { shape: t.shape.slice(), data };
}

/** A copy of t on a SharedArrayBuffer, and a view of the same memory through a clone of that buffer. */
function onSharedTwins(t) {
  const sab = new SharedArrayBuffer(t.data.byteLength);
  const data = new t.data.constructor(sab);
  data.set(t.data);
  const twin = new t.data.constructor(structuredClone(sab));
  return [{ shape: t.shape.slice(), data }, { shape: t.shape.slice(), data: twin }];
}

/** Drops the transferred memory and lets the collector and the allocator reuse it. */
function churn() {
  for (let i = 0; i < 4; ++i) {
    gc();
    const garbage = [];
    for (let j = 0; j < 64; ++j) garbage.push(new Float32Array(4096).fill(1e30));
  }
}

for (const backend of availableBackends) {
  const test = suite(`async calls and the caller's buffers [${backend}]`);
  const rng = new Rng(9001);
  // large enough that a native call is still running when the caller acts on its buffers
  const x = randomFloat32(rng, [4, 600, 32]);
  const idx = randomIndex(rng, [4, 600, 9], 600);
  const features = randomFloat32(rng, [2, 56, 56, 64]);
  const centers = randomFloat32(rng, [2, 18, 2], 0, 56);

  test('inputs rewritten right after the call do not change its result', async () => {
    const fwd = maxRelative(x, idx, { backend });
    const want = maxRelativeGrad(fwd.out, idx, fwd.argmax, { backend });
    const dOut = { shape: fwd.out.shape, data: fwd.out.data.slice() };
    const idxCopy = { shape: idx.shape, data: idx.data.slice() };
    const argmax = { shape: fwd.argmax.shape, data: fwd.argmax.data.slice() };
    const pending = maxRelativeGradAsync(dOut, idxCopy, argmax, { backend });
    idxCopy.data.fill(1003); // out of range, if the worker read it
    argmax.data.fill(1 << 30);
    dOut.data.fill(Number.NaN);
    assertBitIdentical(await pending, want, 'maxRelativeGrad');

    const knnWant = knnGraph(x, 9, { backend });
    const xCopy = { shape: x.shape, data: x.data.slice() };
    const knnPending = knnGraphAsync(xCopy, 9, { backend });
    xCopy.data.fill(Number.NaN);
    assertBitIdentical(await knnPending, knnWant, 'knnGraph');

    const roiWant = roiAlign(features, centers, 8, { backend });
    const centersCopy = { shape: centers.shape, data: centers.data.slice() };
    const roiPending = roiAlignAsync(features, centersCopy, 8, { backend });
    centersCopy.data.fill(Number.NaN);
    assertBitIdentical(await roiPending, roiWant, 'roiAlign');
  });

  test('an input buffer shrunk to nothing or transferred away while the call runs', async () => {
    const want = roiAlign(features, centers, 8, { backend });
    const shrunk = onResizable(features);
    const pending = roiAlignAsync(shrunk, centers, 8, { backend });
    shrunk.data.buffer.resize(0);
    assertBitIdentical(await pending, want, 'resize(0)');

    const moved = onResizable(features);
    const pending2 = roiAlignAsync(moved, centers, 8, { backend });
    structuredClone(moved.data.buffer, { transfer: [moved.data.buffer] });
    churn();
    assertBitIdentical(await pending2, want, 'transfer');
  });

  if (isNative(backend)) {
    test('an output array resized or transferred while the call runs: the Promise rejects, naming it', async () => {
      const into = onResizable({ shape: [2, 18, 8, 8, 64], data: new Float32Array(numel([2, 18, 8, 8, 64])) });
      await assertRejectsWith(() => {
        const p = roiAlignAsync(features, centers, 8, { backend, into });
        into.data.buffer.resize(16);
        return p;
      }, RangeError, [/^Expected an array of 147456 elements until the async call settles for out but received one resized to 0 elements while it ran$/]);

      const intoKnn = onResizable({ shape: [4, 600, 9], data: new Int32Array(4 * 600 * 9) });
      await assertRejectsWith(() => {
        const p = knnGraphAsync(x, 9, { backend, into: intoKnn });
        structuredClone(intoKnn.data.buffer, { transfer: [intoKnn.data.buffer] });
        return p;
      }, RangeError, [/for out but received one detached while it ran$/]);
    });
  }

  test('an output on a clone of an input\'s SharedArrayBuffer is refused, sync and async', async () => {
    const [xs, twin] = onSharedTwins(x);
    const before = twin.data.slice();
    assertThrowsWith(() => maxRelative(xs, idx, { backend, into: { out: twin, argmax: { shape: x.shape, data: new Int32Array(numel(x.shape)) } } }),
      RangeError, [/for options\.into\.out but received one that overlaps x$/]);
    await assertRejectsWith(() => maxRelativeGradAsync(xs, idx, maxRelative(x, idx, { backend }).argmax, { backend, into: { dx: twin } }),
      RangeError, [/for options\.into\.dx but received one that overlaps dOut$/]);
    assertBitIdentical(twin, { shape: x.shape, data: before }, 'the refused output is left as it was');
    // separate shared memories of equal size are not confused with twins
    const other = { shape: x.shape, data: new Float32Array(new SharedArrayBuffer(x.data.byteLength)) };
    const argmax = { shape: x.shape, data: new Int32Array(numel(x.shape)) };
    assertBitIdentical(maxRelative(xs, idx, { backend, into: { out: other, argmax } }).out, maxRelative(x, idx, { backend }).out);
  });

  test.run();
}

const { addon } = loadRawAddon();
if (addon) {
  const test = suite('the raw addon compares memory, not buffer objects');
  test('an output on a SharedArrayBuffer clone of an input throws, sync and async', async () => {
    const rng = new Rng(77);
    const x = randomFloat32(rng, [1, 16, 4]);
    const [xs, twin] = onSharedTwins(x);
    const out = new Int32Array(new SharedArrayBuffer(16 * 2 * 4));
    const knn = (o) => ({ x: xs.data, y: null, B: 1, N: 16, M: 16, D: 4, k: 2, dilation: 1, metric: 'euclidean', normalize: false,
      out: o, device: 0, async: false });
    assertThrowsWith(() => addon.knnGraph(knn(new Int32Array(twin.data.buffer, 0, 32))),
      RangeError, [/^Expected an array that shares no memory with the inputs for out but received one that overlaps x$/]);
    assertThrowsWith(() => addon.roiAlign({ features: xs.data, B: 1, H: 4, W: 4, C: 4, centers: new Float32Array(2).fill(1), R: 1, S: 1, step: 1,
      out: twin.data.subarray(60), device: 0, async: true }),
      RangeError, [/for out but received one that overlaps features$/]);
    addon.knnGraph(knn(out)); // disjoint shared memory is fine
    assert.equal(Array.from(out), Array.from(knnGraph(x, 2, { backend: 'reference' }).data));
  });
  test.run();
}
