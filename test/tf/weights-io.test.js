/**
 * Weights I/O without tfjs-node: a layers model saved to a directory loads back with bit-identical
 * predictions; optimizer state round-trips; an interrupted save leaves the previous model loadable;
 * missing or corrupt files give errors that name them.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('missing and corrupt files give errors naming them', async () => {
  const dir = path.join(scratch, 'bad');
  await model(4).save(fileSystem(dir));
  const weights = readdirSync(dir).find((f) => f.endsWith('.bin'));
  writeFileSync(path.join(dir, weights), readFileSync(path.join(dir, weights)).subarray(0, 10));
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(dir)), Error, [/hold 10 bytes; the manifest needs/]);
  rmSync(path.join(dir, weights));
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(dir)), Error, [/Cannot read the weights file .*weights-/]);
  writeFileSync(path.join(dir, 'model.json'), '{ not json');
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(dir)), Error, [/model\.json is not valid JSON/]);
  await assertRejectsWith(() => tf.loadLayersModel(fileSystem(path.join(scratch, 'nothing'))), Error, [/Cannot read .*model\.json/]);
});

test.run();
