/**
 * Weights I/O without tfjs-node: a layers model saved to a directory loads back with bit-identical
 * predictions; optimizer state round-trips; an interrupted save leaves the previous model loadable;
 * missing or corrupt files give errors that name them.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileSystem, loadTensors, saveTensors } from '../../dist/tf/index.js';
import { assertBitIdentical, assertRejectsWith } from '../helpers/assert.js';

const test = suite('weights I/O');
test.before(async () => { await tf.setBackend('cpu'); });
const scratch = mkdtempSync(path.join(tmpdir(), 'sacl-weights-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function model(seed) {
  const m = tf.sequential({ layers: [
    tf.layers.dense({ units: 5, inputShape: [3], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
  ] });
  return m;
}
// created inside the tests: at import time no backend is initialized yet (uvu imports every file first)
let inputTensor;
const input = () => (inputTensor ??= tf.tensor2d([[0.1, -0.4, 2], [1, 0.5, -0.3]]));
const values = (t) => ({ shape: t.shape, data: t.dataSync() });

test('save → load gives bit-identical predictions, files in the standard layout', async () => {
  const dir = path.join(scratch, 'm1');
  const m = model(7);
  await m.save(fileSystem(dir));
  const files = readdirSync(dir).sort();
  assert.is(files.length, 2, `files: ${files}`);
  assert.ok(files.includes('model.json') && files.some((f) => /^weights-[0-9a-f]{16}\.bin$/.test(f)));
  const loaded = await tf.loadLayersModel(fileSystem(dir));
  assertBitIdentical(values(loaded.predict(input())), values(m.predict(input())));
});

test('saving again replaces the weights and removes the old file; an interrupted save keeps the last good model', async () => {
  const dir = path.join(scratch, 'm2');
  const a = model(1);
  const b = model(2);
  await a.save(fileSystem(dir));
  await b.save(fileSystem(dir));
  assert.is(readdirSync(dir).filter((f) => f.endsWith('.bin')).length, 1, 'old weights left behind');
  assertBitIdentical(values((await tf.loadLayersModel(fileSystem(dir))).predict(input())), values(b.predict(input())));
  // an interrupted save: new weights written, model.json not yet replaced (a stray temporary file too)
  writeFileSync(path.join(dir, 'weights-00000000deadbeef.bin'), Buffer.alloc(12));
  writeFileSync(path.join(dir, 'model.json.tmp-1-abcd'), '{"half":');
  assertBitIdentical(values((await tf.loadLayersModel(fileSystem(dir))).predict(input())), values(b.predict(input())));
});

test('optimizer state round-trips with its metadata', async () => {
  const dir = path.join(scratch, 'opt');
  const m = model(3);
  const opt = tf.train.momentum(0.1, 0.9, true);
  m.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await m.fit(input(), tf.tensor2d([[1, 0], [0, 1]]), { epochs: 2, verbose: 0 });
  const state = await opt.getWeights();
  await saveTensors(dir, state, { epoch: 2 });
  const { tensors, metadata } = await loadTensors(dir);
  assert.equal(metadata, { epoch: 2 });
  assert.equal(tensors.map((t) => t.name), state.map((t) => t.name));
  tensors.forEach((t, i) => assertBitIdentical(values(t.tensor), values(state[i].tensor), t.name));
});

test('loading copies the weights at most once (a file read whole is used as read); weights split over several files are joined in manifest order', async () => {
  const dir = path.join(scratch, 'copies');
  const w = tf.range(0, 3000, 1, 'float32');
  const b = tf.tensor1d([-1, -2, -3]);
  await saveTensors(dir, { w, b });
  const slice = ArrayBuffer.prototype.slice;
  const set = Uint8Array.prototype.set;
  let copied = 0;
  ArrayBuffer.prototype.slice = function (...args) { const out = slice.apply(this, args); copied += out.byteLength; return out; };
  Uint8Array.prototype.set = function (source, ...rest) { copied += source.byteLength ?? source.length; return set.call(this, source, ...rest); };
  let artifacts;
  try {
    artifacts = await fileSystem(dir).load();
  } finally {
    ArrayBuffer.prototype.slice = slice;
    Uint8Array.prototype.set = set;
  }
  assert.is(artifacts.weightData.byteLength, 4 * 3003);
  assert.ok(copied <= artifacts.weightData.byteLength, `${copied} bytes copied for ${artifacts.weightData.byteLength}`);

  // the same bytes in two files, listed in order: the values load unchanged
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const [file] = json.weightsManifest[0].paths;
  const bytes = readFileSync(path.join(dir, file));
  writeFileSync(path.join(dir, 'part-1.bin'), bytes.subarray(0, 5000));
  writeFileSync(path.join(dir, 'part-2.bin'), bytes.subarray(5000));
  json.weightsManifest[0].paths = ['part-1.bin', 'part-2.bin'];
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  const { tensors } = await loadTensors(dir);
  assert.equal(tensors.map((t) => t.name), ['w', 'b']);
  assert.equal(Array.from(tensors[0].tensor.dataSync()), Array.from(w.dataSync()));
  assert.equal(Array.from(tensors[1].tensor.dataSync()), [-1, -2, -3]);
  tf.dispose([w, b, ...tensors.map((t) => t.tensor)]);
});

test('missing and corrupt files give errors naming them', async () => {
  const dir = path.join(scratch, 'bad');
  await model(4).save(fileSystem(dir));
  const weights = readdirSync(dir).find((f) => f.endsWith('.bin'));
  writeFileSync(path.join(dir, weights), readFileSync(path.join(dir, weights)).subarray(0, 10));
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(dir)), Error, [/^Expected \d+ bytes \(what its manifest lists\) for the weights files named by .*bad\/model\.json but received 10 bytes$/]);
  rmSync(path.join(dir, weights));
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(dir)), Error, [/Cannot read the weights file .*weights-/]);
  writeFileSync(path.join(dir, 'model.json'), '{ not json');
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(dir)), Error, [/model\.json is not valid JSON/]);
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(path.join(scratch, 'nothing'))), Error, [/Cannot read .*model\.json/]);
});

test('weights paths stay inside the model directory: "..", absolute paths and symlinks leading out are refused', async () => {
  const dir = path.join(scratch, 'confined', 'model');
  await saveTensors(dir, { w: tf.tensor1d([1, 2, 3]) });
  const secret = path.join(scratch, 'confined', 'secret.txt');
  writeFileSync(secret, 'password'); // 8 bytes: two float32 values
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const withPaths = (paths, weights = [{ name: 'w', shape: [2], dtype: 'float32' }]) => {
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...json, weightsManifest: [{ paths, weights }] }));
  };
  withPaths(['../secret.txt']);
  await assertRejectsWith(() => loadTensors(dir), Error, [/Expected a file inside .*no absolute paths, no "\.\."\) for the weights path "\.\.\/secret\.txt" in .*model\.json but received "\.\.\/secret\.txt"/]);
  withPaths([secret]);
  await assertRejectsWith(() => loadTensors(dir), Error, [/Expected a file inside .* for the weights path ".*secret\.txt" in .*model\.json/]);
  withPaths(['./sub/../../secret.txt']);
  await assertRejectsWith(() => loadTensors(dir), Error, [/Expected a file inside .* for the weights path "\.\/sub\/\.\.\/\.\.\/secret\.txt"/]);
  symlinkSync(secret, path.join(dir, 'link.bin'));
  withPaths(['link.bin']);
  await assertRejectsWith(() => loadTensors(dir), Error, [/Expected a file inside .* for the weights path "link\.bin" in .*model\.json but received a path that leads outside it \(to .*secret\.txt\)/]);
  mkdirSync(path.join(dir, 'sub'));
  withPaths(['sub']);
  await assertRejectsWith(() => loadTensors(dir), Error, [/Expected a regular file for the weights path "sub" in .*model\.json but received a directory/]);
  // a symlink that stays inside is followed
  symlinkSync(json.weightsManifest[0].paths[0], path.join(dir, 'inside.bin'));
  withPaths(['inside.bin'], json.weightsManifest[0].weights);
  const { tensors } = await loadTensors(dir);
  assert.equal(Array.from(tensors[0].tensor.dataSync()), [1, 2, 3]);
});

test('byte sizes are checked for quantized entries too, before any weights file is read', async () => {
  const dir = path.join(scratch, 'quantized');
  await saveTensors(dir, { w: tf.tensor1d([1, 2, 3]) });
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  // 12 bytes on disk; a uint8-quantized [3] entry needs 3
  json.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 1, min: 0 };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  await assertRejectsWith(() => loadTensors(dir), Error, [/^Expected 3 bytes \(what its manifest lists\) for the weights files named by .*quantized\/model\.json but received 12 bytes$/]);
  json.weightsManifest[0].weights[0].shape = [12];
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  const { tensors } = await loadTensors(dir);
  assert.equal(tensors[0].tensor.shape, [12], 'a quantized entry of the right size loads');
});

test('the manifest\'s schema is checked, errors naming model.json and the field', async () => {
  const dir = path.join(scratch, 'schema');
  await saveTensors(dir, { w: tf.tensor1d([1, 2, 3]) });
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const good = json.weightsManifest[0];
  for (const [manifest, pattern] of [
    [undefined, /Expected an array for weightsManifest in .*model\.json but received nothing/],
    [[null], /Expected an object for weightsManifest\[0\] in .* but received null/],
    [[{ ...good, paths: 'weights.bin' }], /Expected a list of file names for weightsManifest\[0\]\.paths in .* but received "weights\.bin"/],
    [[{ ...good, paths: [3] }], /Expected a list of file names for weightsManifest\[0\]\.paths in .* but received \[3\]/],
    [[{ ...good, weights: {} }], /Expected an array for weightsManifest\[0\]\.weights in .* but received \{\}/],
    [[{ ...good, weights: [{ name: 'w', shape: [-3], dtype: 'float32' }] }], /Expected a list of non-negative integers for weightsManifest\[0\]\.weights\[0\]\.shape in .* but received \[-3\]/],
    [[{ ...good, weights: [{ name: 'w', shape: [1.5], dtype: 'float32' }] }], /Expected a list of non-negative integers for weightsManifest\[0\]\.weights\[0\]\.shape in .* but received \[1\.5\]/],
    [[{ ...good, weights: [{ name: 'w', shape: [3], dtype: 'string' }] }], /Expected float32, int32 or bool for weightsManifest\[0\]\.weights\[0\]\.dtype in .* but received "string"/],
    [[{ ...good, weights: [{ name: 7, shape: [3], dtype: 'float32' }] }], /Expected a non-empty string for weightsManifest\[0\]\.weights\[0\]\.name in .* but received 7/],
    [[{ ...good, weights: [{ name: 'w', shape: [1], dtype: 'float32' }, { name: 'w', shape: [2], dtype: 'float32' }] }], /Expected a name used once for weightsManifest\[0\]\.weights\[1\]\.name in .* but received "w"/],
    [[{ ...good, weights: [{ name: 'w', shape: [3], dtype: 'float32', quantization: { dtype: 'int4' } }] }], /Expected uint8, uint16 or float16 for weightsManifest\[0\]\.weights\[0\]\.quantization\.dtype in .* but received "int4"/],
    [[{ ...good, weights: [{ name: 'w', shape: [2 ** 30, 2 ** 30], dtype: 'float32' }] }], /Expected fewer than 2\^51 elements for weightsManifest\[0\]\.weights\[0\]\.shape in .* but received \[1073741824,1073741824\]/],
  ]) {
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...json, weightsManifest: manifest }));
    await assertRejectsWith(() => loadTensors(dir), TypeError, [/for weightsManifest.* in .*model\.json but received /, pattern], JSON.stringify(manifest));
  }
});

test.run();
