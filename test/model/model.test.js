/**
 * The model: part shapes, every variant forward and backward (gradients reach every parameter), the tiny
 * preset trains, save → load reproduces predictions bit-for-bit, determinism from the seed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuModel, VARIANTS, inputTemplate, modelConfig, tokenWidth, transferWeights } from '../../dist/model/index.js';
import { loadTensors, saveTensors } from '../../dist/tf/weights-io.js';
import { ParamStore } from '../../dist/model/params.js';
import { Random } from '../../dist/util/random.js';
import { lossOf, randomBatch, smallConfig, useWasm } from './helpers.js';
import { assertThrowsWith } from '../helpers/assert.js';

const test = suite('model');
test.before(useWasm);

const COOCCURRENCE = Array.from({ length: 12 }, (_, i) => Array.from({ length: 12 }, (_, j) => (i === j ? 1 : ((i * 5 + j * 3) % 11) / 11)));

test('shapes: stem, stages, MSFL width, landmarks, logits (full structure at 64 px)', () => {
  const config = smallConfig('full');
  const model = new AuModel(config, 3);
  tf.tidy(() => {
    const { images } = randomBatch(config, 2, 1);
    const out = model.apply(images, { training: false });
    assert.equal(out.logits.shape, [2, 12]);
    assert.equal(out.landmarks.shape, [2, 49, 2]);
    assert.is(tokenWidth(config), 8 + 16 + 24 + 32);
  });
  const c = model.complexity();
  assert.ok(c.parts.every((p) => p.params >= 0 && p.flops >= 0));
  for (const part of ['backbone', 'landmarks', 'sacl', 'classifier']) assert.ok(c.parts.find((p) => p.part === part).params > 0, part);
  assert.is(c.parts.reduce((a, p) => a + p.params, 0), c.params, 'parts add up to the total');
  model.dispose();
});

/** Every variant of Table 7–9, plus the GCN types and metrics, as configs. */
const VARIANT_CASES = [
  ...Object.keys(VARIANTS).filter((v) => v !== 'tiny').map((v) => [v, v === 'sbg' ? { sacl: { cooccurrence: COOCCURRENCE } } : {}]),
  ['full', { sacl: { gcn: 'edgeconv' } }],
  ['full', { sacl: { gcn: 'gin' } }],
  ['full', { sacl: { gcn: 'graphsage' } }],
  ['full', { sacl: { metric: 'cosine' } }],
  ['full', { sacl: { metric: 'manhattan' } }],
  ['full', { auSet: 'disfa' }],
];

test('every variant runs forward and backward; every trainable parameter gets a finite gradient', () => {
  for (const [variant, extra] of VARIANT_CASES) {
    const config = smallConfig(variant, extra);
    const name = `${variant} ${JSON.stringify(extra.sacl ?? extra.auSet ?? '')}`;
    const model = new AuModel(config, 7);
    tf.tidy(() => {
      const batch = randomBatch(config, 2, 11);
      const vars = model.trainableVariables();
      const { value, grads } = tf.variableGrads(() => lossOf(model, batch), vars);
      assert.ok(Number.isFinite(value.dataSync()[0]), `${name}: loss`);
      const missing = vars.filter((v) => !grads[v.name]).map((v) => model.store.nameOf(v));
      assert.equal(missing, [], `${name}: parameters without a gradient`);
      for (const v of vars) {
        const g = grads[v.name].dataSync();
        assert.ok(g.every(Number.isFinite), `${name}: ${model.store.nameOf(v)} has a non-finite gradient`);
      }
    });
    model.dispose();
  }
});

test('the tiny preset trains: the loss on a fixed batch falls', () => {
  const config = modelConfig('tiny', { inputSize: 64 });
  const model = new AuModel(config, 1);
  const batch = randomBatch(config, 8, 21);
  const optimizer = tf.train.adam(1e-3);
  const losses = [];
  for (let step = 0; step < 15; step++) {
    const loss = optimizer.minimize(() => lossOf(model, batch), true, model.trainableVariables());
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  if (process.env.SHOW) console.log(losses);
  assert.ok(losses.at(-1) < 0.75 * losses[0] && losses.every((l, i) => i === 0 || l < losses[i - 1] + 0.05), `loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
  tf.dispose([batch.images, batch.labels, batch.landmarks]);
  optimizer.dispose();
  model.dispose();
});

test('save → load reproduces predictions bit-for-bit (after training moved the BatchNorm statistics)', async () => {
  const config = smallConfig('full');
  const model = new AuModel(config, 5);
  const batch = randomBatch(config, 3, 31);
  const optimizer = tf.train.sgd(0.01);
  for (let step = 0; step < 2; step++) optimizer.minimize(() => lossOf(model, batch), false, model.trainableVariables());
  const dir = mkdtempSync(join(tmpdir(), 'sacl-model-'));
  try {
    await model.save(dir);
    const loaded = await AuModel.load(dir);
    assert.equal(loaded.config, model.config);
    const a = model.predict(batch.images);
    const b = loaded.predict(batch.images);
    assert.equal(Array.from(b.probabilities.dataSync()), Array.from(a.probabilities.dataSync()));
    assert.equal(Array.from(b.landmarks.dataSync()), Array.from(a.landmarks.dataSync()));
    tf.dispose([a.probabilities, a.landmarks, b.probabilities, b.landmarks]);
    loaded.dispose();

    // weights that do not fit the config are refused by name
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    json.userDefinedMetadata.config.sacl.widths = [8, 24];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    let error;
    try { await AuModel.load(dir); } catch (e) { error = e; }
    assert.instance(error, RangeError);
    assert.match(error.message, /shape|missing|unknown/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tf.dispose([batch.images, batch.labels, batch.landmarks]);
    model.dispose();
  }
});

test('a version-1 model (the template inside landmarks.fc.bias) loads to the same landmarks; a newer version is refused', async () => {
  const config = smallConfig('full');
  const model = new AuModel(config, 6);
  const batch = randomBatch(config, 2, 41);
  const dir = mkdtempSync(join(tmpdir(), 'sacl-model-v1-'));
  try {
    // what version 1 wrote for this model: the same weights, the mean face held by the bias
    const template = inputTemplate(config.inputSize);
    const named = model.store.named().map(({ name, tensor }) => ({ name,
      tensor: name === 'landmarks.fc.bias' ? tf.add(tensor, tf.tensor1d(template)) : tensor }));
    await saveTensors(dir, named, { format: 'sacl-au-model', version: 1, seed: 6, config });
    tf.dispose(named.filter((t) => t.name === 'landmarks.fc.bias').map((t) => t.tensor));
    const loaded = await AuModel.load(dir);
    const a = model.predict(batch.images);
    const b = loaded.predict(batch.images);
    const la = a.landmarks.dataSync();
    const lb = b.landmarks.dataSync();
    assert.ok(la.every((v, i) => Math.abs(v - lb[i]) < 1e-4), 'landmarks of the upgraded model');
    const pa = a.probabilities.dataSync();
    assert.ok(b.probabilities.dataSync().every((v, i) => Math.abs(v - pa[i]) < 1e-5), 'probabilities of the upgraded model');
    tf.dispose([a.probabilities, a.landmarks, b.probabilities, b.landmarks]);
    loaded.dispose();
    // saving writes the current version, which loads untouched
    await model.save(dir);
    assert.is((await loadTensors(dir).then((r) => { tf.dispose(r.tensors.map((t) => t.tensor)); return r.metadata; })).version, 2);

    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    json.userDefinedMetadata.version = 3;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    let error;
    try { await AuModel.load(dir); } catch (e) { error = e; }
    assert.instance(error, RangeError);
    assert.match(error.message, /Expected 1…2 for the model format version of .* but received 3 \(written by a newer sacl-au\?\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tf.dispose([batch.images, batch.labels, batch.landmarks]);
    model.dispose();
  }
});

test('the seed fixes the initial weights; a different seed changes them', () => {
  const config = smallConfig('full');
  const values = (m) => m.store.named().map((p) => Array.from(p.tensor.dataSync()));
  const [a, b, c] = [new AuModel(config, 9), new AuModel(config, 9), new AuModel(config, 10)];
  assert.equal(values(a), values(b));
  assert.not.equal(values(a), values(c));
  [a, b, c].forEach((m) => m.dispose());
});

test('DISFA from BP4D: shared layers copied, per-AU heads mapped (AU25 ← AU23, AU26 ← AU17), AU9 fresh', () => {
  const bp4d = new AuModel(smallConfig('full'), 1);
  const disfa = new AuModel(smallConfig('full', { auSet: 'disfa' }), 2);
  const row = (m, name, i) => [m.store.named().find((p) => p.name === name).tensor.arraySync()[i]].flat(3);
  const au9Before = row(disfa, 'classifier.queries', 4);
  const report = transferWeights(disfa, bp4d);
  assert.equal(report.fresh, []);
  assert.ok(report.copied > 50 && report.mapped === 5, JSON.stringify({ ...report, fresh: report.fresh.length }));
  const value = (m, name) => Array.from(m.store.named().find((p) => p.name === name).tensor.dataSync());
  assert.equal(value(disfa, 'backbone.stem.conv1.weight'), value(bp4d, 'backbone.stem.conv1.weight'));
  assert.equal(value(disfa, 'sacl.input.0.weight'), value(bp4d, 'sacl.input.0.weight'));
  // DISFA order 1 2 4 6 9 12 25 26; BP4D order 1 2 4 6 7 10 12 14 15 17 23 24
  for (const name of ['classifier.queries', 'classifier.heads.fc1.weight', 'classifier.heads.fc2.bias']) {
    assert.equal(row(disfa, name, 6), row(bp4d, name, 10), `${name}: AU25 ← AU23`);
    assert.equal(row(disfa, name, 7), row(bp4d, name, 9), `${name}: AU26 ← AU17`);
    assert.equal(row(disfa, name, 5), row(bp4d, name, 6), `${name}: AU12 ← AU12`);
  }
  assert.equal(row(disfa, 'classifier.queries', 4), au9Before, 'AU9 keeps its fresh initialization');
  tf.tidy(() => { assert.equal(disfa.apply(randomBatch(disfa.config, 1, 3).images, { training: false }).logits.shape, [1, 8]); });
  bp4d.dispose();
  disfa.dispose();
});

test('bad inputs and configs are refused with the field named', () => {
  const config = smallConfig('full');
  const model = new AuModel(config, 1);
  assertThrowsWith(() => model.apply(tf.zeros([1, 32, 32, 3]), { training: false }), RangeError, [/images/, /\[B, 64, 64, 3\]/]);
  model.dispose();
  assertThrowsWith(() => modelConfig('nope'), RangeError, [/variant/, /full/]);
  assertThrowsWith(() => modelConfig('full', { sacl: { k: 40 } }), RangeError, [/sacl\.k/]);
  assertThrowsWith(() => modelConfig('full', { inputSize: 100 }), RangeError, [/inputSize/]);
  assertThrowsWith(() => modelConfig('full', { backbone: { heads: [1, 3, 4, 8] } }), RangeError, [/heads/]);
  assertThrowsWith(() => modelConfig('full', { sacl: { gcn: 'gat' } }), RangeError, [/sacl\.gcn/]);
  assertThrowsWith(() => modelConfig('baseline', { fusion: 'cross-attention' }), RangeError, [/cross-attention/]);
  assertThrowsWith(() => new AuModel(modelConfig('sbg')), RangeError, [/cooccurrence/]);
});

test('config ranges: sizes far past every variant are refused before anything is built', () => {
  for (const [over, pattern] of [
    [{ classifier: { hidden: 100000 } }, /Expected an integer in \[0, 4096\] for classifier\.hidden but received 100000/],
    [{ backbone: { dims: [64, 128, 256, 65536] } }, /Expected integers ≤ 4096 for backbone\.dims but received \[64,128,256,65536\]/],
    [{ backbone: { depths: [2, 2, 1000, 2] } }, /Expected integers ≤ 64 for backbone\.depths/],
    [{ inputSize: 8192 }, /Expected a multiple of 16 in \[32, 2048\] for inputSize but received 8192/],
    [{ sacl: { widths: Array(40).fill(8), depths: Array(40).fill(1) } }, /Expected at most 16 stages for sacl\.widths but received 40/],
    [{ sacl: { ffnRatio: 500 } }, /Expected integers ≤ 16 for sacl\.ffnRatio but received 500/],
    [{ roiSize: 57 }, /Expected integers ≤ 56 for roiSize but received 57/],
  ]) assertThrowsWith(() => modelConfig('full', over), RangeError, [pattern], JSON.stringify(over));
  assertThrowsWith(() => modelConfig('full', { msfl: 'yes' }), TypeError, [/Expected true or false for msfl but received "yes"/]);
  // the paper's variants all stay inside the ranges
  for (const v of Object.keys(VARIANTS)) modelConfig(v, v === 'sbg' ? { sacl: { cooccurrence: COOCCURRENCE } } : {});
});

test('a shapes-only model lists every parameter\'s name and shape and allocates nothing', () => {
  for (const v of ['tiny', 'baseline', 'cross-attention', 'transformer']) {
    const config = smallConfig(v);
    const real = new AuModel(config, 2);
    const before = tf.memory().numTensors;
    const plan = new AuModel(config, 2, { shapesOnly: true });
    assert.is(tf.memory().numTensors, before, `${v}: no tensor allocated`);
    assert.equal(plan.store.named().map((p) => [p.name, p.tensor.shape, p.trainable]), real.store.named().map((p) => [p.name, p.tensor.shape, p.trainable]), v);
    assert.is(plan.store.count(), real.store.count());
    real.dispose();
  }
});

test('load: the saved config is checked against the manifest before the model is built', async () => {
  const config = modelConfig('tiny');
  const model = new AuModel(config, 5);
  const dir = mkdtempSync(join(tmpdir(), 'sacl-model-config-'));
  try {
    await model.save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const edit = (change) => {
      const copy = structuredClone(json);
      change(copy.userDefinedMetadata.config, copy.userDefinedMetadata);
      writeFileSync(join(dir, 'model.json'), JSON.stringify(copy));
    };
    // parameter values allocated while loading (a shapes-only plan allocates none)
    const add = ParamStore.prototype.add;
    const failure = async () => {
      let error;
      let allocated = 0;
      ParamStore.prototype.add = function (name, shape, ...rest) {
        if (!this.shapesOnly) allocated += shape.reduce((a, b) => a * b, 1);
        return add.call(this, name, shape, ...rest);
      };
      try { await AuModel.load(dir); } catch (e) { error = e; } finally { ParamStore.prototype.add = add; }
      return { error, allocated };
    };
    // a 1-character edit that would build 12 × 240 × 4096 classifier weights (47 MB) before failing
    edit((c) => { c.classifier.hidden = 4096; });
    let { error, allocated } = await failure();
    assert.is(allocated, 0, 'no parameter allocated for a config that does not fit the weights');
    assert.instance(error, RangeError);
    assert.match(error.message, /model\.json: model config: Expected shape \[12,240,4096\] for the weights of classifier\.heads\.fc1\.weight but received \[12,240,32\]/);
    edit((c) => { c.classifier.hidden = 1e6; });
    ({ error } = await failure());
    assert.match(error.message, /model\.json: model config: Expected an integer in \[0, 4096\] for classifier\.hidden but received 1000000/);
    edit((c, meta) => { meta.config = null; });
    ({ error } = await failure());
    assert.instance(error, TypeError);
    assert.match(error.message, /model\.json: model config: Expected an object for config but received null/);
    edit((c, meta) => { meta.seed = 'x'; });
    ({ error } = await failure());
    assert.match(error.message, /Expected an integer for seed in .*model\.json but received "x"/);
    edit(() => {});
    const loaded = await AuModel.load(dir);
    assert.equal(loaded.config, config);
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('load makes every parameter from the file\'s tensor: no initial value drawn, the weights in memory once', async () => {
  const model = new AuModel(modelConfig('tiny', { inputSize: 48 }), 5);
  const dir = mkdtempSync(join(tmpdir(), 'sacl-model-alloc-'));
  const draws = { count: 0 };
  const originals = { normal: Random.prototype.normal, truncatedNormal: Random.prototype.truncatedNormal };
  try {
    await model.save(dir);
    for (const [name, f] of Object.entries(originals)) Random.prototype[name] = function (...a) { draws.count++; return f.apply(this, a); };
    const before = tf.memory();
    const loaded = await AuModel.load(dir);
    const after = tf.memory();
    for (const [name, f] of Object.entries(originals)) Random.prototype[name] = f;
    assert.is(draws.count, 0, 'no random initial values drawn');
    const bytes = model.store.named().reduce((n, p) => n + 4 * p.tensor.size, 0);
    assert.is(after.numBytes - before.numBytes, bytes, 'the parameters\' bytes once, nothing left over');
    assert.is(after.numTensors - before.numTensors, model.store.named().length);
    assert.equal(loaded.store.named().map((p) => Array.from(p.tensor.dataSync())), model.store.named().map((p) => Array.from(p.tensor.dataSync())));
    loaded.dispose();
  } finally {
    for (const [name, f] of Object.entries(originals)) Random.prototype[name] = f;
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ParamStore made from saved tensors shares their data and refuses a missing name or another shape', () => {
  const t = tf.tensor([1, 2, 3, 4], [2, 2]);
  const store = new ParamStore(1, false, new Map([['a', t]]));
  const v = store.add('a', [2, 2], { kind: 'normal', std: 1 });
  assert.is(v.dataId, t.dataId, 'no copy');
  assert.equal(Array.from(v.dataSync()), [1, 2, 3, 4]);
  assertThrowsWith(() => new ParamStore(1, false, new Map([['a', t]])).add('a', [4], { kind: 'zeros' }), RangeError, [/^Expected shape \[4\] for the weights of a but received \[2,2\]$/]);
  assertThrowsWith(() => new ParamStore(1, false, new Map()).add('b', [1], { kind: 'zeros' }), RangeError, [/weights do not fit this model: b is missing/]);
  t.dispose();
  assert.equal(Array.from(v.dataSync()), [1, 2, 3, 4], 'the variable keeps its own reference');
  store.dispose();
});

test.run();
