/**
 * Prompt release of our kernels' outputs on the cpu backend (src/tf/kernels/release.ts): on the addon's host
 * blocks, freed (detached) when the last tensor on them is disposed; kept while another tensor shares them;
 * a reader (dataSync, data, array) gets a copy of its own; values a user handed in are never touched.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { registerFastKernels, releaseKeptBlocks } from '../../dist/tf/index.js';
import { loadNative } from '../../dist/backends/native.js';

const test = suite('cpu kernel outputs released on dispose');

/** The values array the cpu backend holds for t, looked up without a read (which would mark it). */
const held = (t) => tf.backend().data.get(t.dataId).values;

/** A native matMul output (BatchMatMul is ours on cpu). */
function nativeOutput() {
  const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
  const y = tf.matMul(a, b);
  tf.dispose([a, b]);
  return y;
}

test.before(async () => {
  await tf.setBackend('cpu');
  assert.ok(registerFastKernels('cpu').includes(tf.BatchMatMul));
});

test('the last dispose frees the buffer (its views read empty)', () => {
  const y = nativeOutput();
  const values = held(y);
  assert.is(values.length, 4);
  y.dispose();
  assert.is(values.length, 0, 'detached');
});

test("outputs live on the addon's host blocks, freed with the last dispose (V8 allocates none of them)", () => {
  const { addon } = loadNative();
  const before = addon.info().hostBlocks;
  const y = nativeOutput();
  assert.is(addon.info().hostBlocks, before + 1);
  y.dispose();
  assert.is(addon.info().hostBlocks, before);
});

test('an output over 64 MB is kept at its release and reused by the next of its size; releaseKeptBlocks frees it', () => {
  const { addon } = loadNative();
  releaseKeptBlocks();
  const before = addon.info().hostBlocks;
  const a = tf.ones([4096, 1]);
  const b = tf.ones([1, 4224]); // 4096 × 4224 floats: 66 MB
  const first = tf.matMul(a, b);
  const buffer = held(first).buffer;
  first.dispose();
  assert.is(buffer.byteLength, 4096 * 4224 * 4, 'kept, not detached');
  assert.is(addon.info().hostBlocks, before + 1);
  const second = tf.matMul(a, b);
  assert.is(held(second).buffer, buffer, 'the same block again');
  assert.is(held(second)[12345], 1);
  second.dispose();
  const small = nativeOutput();
  small.dispose();
  assert.is(addon.info().hostBlocks, before + 1, 'small outputs are freed at once');
  assert.is(releaseKeptBlocks(), 4096 * 4224 * 4);
  assert.is(buffer.byteLength, 0, 'freed');
  assert.is(addon.info().hostBlocks, before);
  tf.dispose([a, b]);
});

test('a reshape shares the buffer: freed only when both are disposed', () => {
  const y = nativeOutput();
  const r = tf.reshape(y, [4]);
  const values = held(y);
  y.dispose();
  assert.is(values.length, 4);
  assert.equal([...held(r)], [4, 5, 10, 11]);
  r.dispose();
  assert.is(values.length, 0);
});

test('a slice and a clone keep what they share alive', () => {
  const y = nativeOutput();
  const s = tf.slice(tf.reshape(y, [4]), [1], [2]);
  const c = tf.clone(y);
  y.dispose();
  assert.equal([...s.dataSync()], [5, 10]);
  assert.equal([...c.dataSync()], [4, 5, 10, 11]);
  tf.dispose([s, c]);
});

test('values read out before the dispose stay with the reader', async () => {
  const y = nativeOutput();
  const read = y.dataSync();
  y.dispose();
  assert.equal([...read], [4, 5, 10, 11]);
  const z = nativeOutput();
  const asyncRead = await z.data();
  z.dispose();
  assert.equal([...asyncRead], [4, 5, 10, 11]);
  const early = nativeOutput();
  const pending = early.data(); // disposed before the read settles
  early.dispose();
  assert.equal([...(await pending)], [4, 5, 10, 11]);
  const w = nativeOutput();
  const nested = w.arraySync();
  const values = held(w);
  w.dispose();
  assert.equal(nested, [[4, 5], [10, 11]]);
  assert.is(values.length, 4, 'arraySync reads through the engine: left to the GC');
});

test('a read hands out a copy: the output itself goes at once, the copy stays with the reader', () => {
  const y = nativeOutput();
  const values = held(y);
  const read = y.dataSync();
  assert.ok(read !== values);
  assert.is(values.length, 0, 'the output was freed: the tensor now holds the copy');
  assert.is(held(y), read);
  y.dispose();
  assert.equal([...read], [4, 5, 10, 11]);
});

test("a user's own values are never freed", () => {
  const mine = new Float32Array([1, 2, 3]);
  const t = tf.tensor1d(mine);
  const doubled = tf.add(t, t);
  tf.dispose([t, doubled]);
  assert.equal([...mine], [1, 2, 3]);
});

test("values JavaScript made have their .buffer read once, at the store: not again at a read, a clone or the dispose", () => {
  // .buffer on a small (on-heap) typed array makes V8 allocate it a backing store, a young GC with the
  // step's large outputs alive; an instance getter counts the reads
  nativeOutput().dispose(); // the storage is watched from the first native output on
  let reads = 0;
  const values = new Float32Array([1.5, 2.5]);
  const own = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Float32Array.prototype), 'buffer').get;
  Object.defineProperty(values, 'buffer', { get() { reads++; return own.call(this); } });
  const t = tf.tensor1d(values);
  assert.is(held(t), values, 'stored as it is');
  assert.is(reads, 1, 'read at the store');
  const c = t.clone();
  assert.equal(Array.from(t.dataSync()), [1.5, 2.5]);
  tf.dispose([t, c]);
  assert.is(reads, 1, 'no read after the store');
});

test('a training-style round: nothing read, everything disposed, every native buffer freed', () => {
  const before = tf.memory().numTensors;
  const kept = [];
  tf.tidy(() => {
    let x = tf.ones([8, 8]);
    for (let i = 0; i < 5; i++) {
      x = tf.matMul(x, tf.eye(8));
      kept.push(held(x));
    }
  });
  assert.is(tf.memory().numTensors, before);
  for (const v of kept) assert.is(v.length, 0);
});

test.run();
