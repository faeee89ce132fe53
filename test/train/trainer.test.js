/**
 * The training loop: a short run lowers the loss; an interrupted and resumed run ends with exactly the
 * weights (and history) of an uninterrupted one; checkpoints are complete directories; micro-batches
 * (gradient accumulation) leave whole-batch training untouched and are deterministic; on data without
 * landmarks the landmark head (and so the ROI centres) stays where it started.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../dist/data/synthetic/generate.js';
import { readBp4dLayout } from '../../dist/data/bp4d-layout.js';
import { foldSplit } from '../../dist/data/dataset.js';
import { AuModel, auCentresTensor, modelConfig } from '../../dist/model/index.js';
import { PAPER_TRAINING, openResumePoint, readCheckpoint, train } from '../../dist/train/trainer.js';
import { Random } from '../../dist/util/random.js';
import { useWasm } from '../model/helpers.js';

const test = suite('trainer');
const dirs = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'sacl-train-')); dirs.push(d); return d; };
let samples;
test.before(async () => {
  await useWasm();
  const root = tmp();
  await generateSynthetic({ root, seed: 3, subjects: 3, tasks: 1, framesPerTask: 6, size: 64 });
  samples = foldSplit(await readBp4dLayout(root, 'synthetic'), 1).train;
});
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const config = () => modelConfig('tiny', { inputSize: 48 });
const options = { ...PAPER_TRAINING, epochs: 3, batchSize: 4, lr: 0.02 };
const weightsOf = (m) => m.store.named().map((p) => Array.from(p.tensor.dataSync()));

/**
 * Runs fn counting the normal draws of every Random (weight initialization is their only user outside the
 * synthetic data's generation) and the bytes the tfjs backend is given to hold.
 */
async function counting(fn) {
  const counts = { draws: 0, written: 0 };
  const normal = Random.prototype.normal;
  const backend = tf.backend();
  const write = backend.write;
  Random.prototype.normal = function (...args) { counts.draws++; return normal.apply(this, args); };
  backend.write = function (values, ...rest) { counts.written += values?.byteLength ?? 0; return write.call(this, values, ...rest); };
  try {
    return { result: await fn(), ...counts };
  } finally {
    Random.prototype.normal = normal;
    backend.write = write;
  }
}

test('a short run lowers the loss', async () => {
  const model = new AuModel(config(), 2);
  const h = await train({ model, samples, options: { ...options, epochs: 4, augment: false } });
  assert.is(h.epochs.length, 4);
  assert.ok(h.epochs[3].loss < h.epochs[0].loss, `epoch losses ${h.epochs.map((e) => e.loss.toFixed(3)).join(' → ')}`);
  assert.ok(h.steps.every((s) => Number.isFinite(s.loss) && s.lr > 0));
  model.dispose();
});

test('interrupted after one epoch and resumed = uninterrupted (weights bit-identical, same history)', async () => {
  const tensorsBefore = tf.memory().numTensors;
  const straightDir = tmp();
  const straight = new AuModel(config(), 5);
  const h1 = await train({ model: straight, samples, options, dir: straightDir });

  const resumedDir = tmp();
  const first = new AuModel(config(), 5);
  await train({ model: first, samples, options, dir: resumedDir, stopAfterEpochs: 1 });
  assert.ok(existsSync(join(resumedDir, 'checkpoint', 'state.json')));
  first.dispose(); // the "crash": a fresh process would start from nothing but the checkpoint
  const second = new AuModel(config(), 99); // other initial weights: all of them must come from the checkpoint
  const h2 = await train({ model: second, samples, options, dir: resumedDir, resume: true });

  assert.equal(h2.steps.map((s) => s.loss), h1.steps.map((s) => s.loss));
  assert.equal(weightsOf(second), weightsOf(straight));
  // a checkpoint from another model config is refused
  const other = new AuModel(modelConfig('tiny', { inputSize: 64 }), 5);
  let error;
  try { await train({ model: other, samples, options, dir: resumedDir, resume: true }); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /another model config/);
  [straight, second, other].forEach((m) => m.dispose());
  assert.is(tf.memory().numTensors, tensorsBefore, 'training leaked tensors');
});

test('micro-batches: ≥ the batch size is whole-batch training, bit for bit; 2 is deterministic and leak-free', async () => {
  const opts = { ...options, epochs: 1, augment: false };
  const run = async (microBatch) => {
    const model = new AuModel(config(), 7);
    const h = await train({ model, samples, options: { ...opts, microBatch } });
    const w = weightsOf(model);
    model.dispose();
    return { losses: h.steps.map((s) => s.loss), norms: h.steps.map((s) => s.gradNorm), w };
  };
  const whole = await run(0);
  assert.equal(await run(4), whole, 'micro-batch = batch size');
  const tensorsBefore = tf.memory().numTensors;
  const a = await run(2);
  assert.is(tf.memory().numTensors, tensorsBefore, 'accumulation leaked tensors');
  assert.equal(await run(2), a, 'two micro-batched runs are bit-identical');
  assert.ok(a.losses.every(Number.isFinite));
  assert.not.equal(a.w, whole.w, 'micro-batches of 2 really ran (BatchNorm sees 2 images a pass)');
  // the recorded loss is the batch's: close to the whole-batch pass at the first step (same weights)
  assert.ok(Math.abs(a.losses[0] - whole.losses[0]) < 0.25 * whole.losses[0], `${a.losses[0]} vs ${whole.losses[0]}`);
});

test('without landmarks the AU centres do not move: no gradient, no weight decay on the landmark head', async () => {
  // ME-GraphAU-style samples: labels only. A strong weight decay makes any decay of the head visible.
  const bare = samples.map((s) => ({ ...s, landmarks: null }));
  const model = new AuModel(config(), 4);
  const S = model.config.inputSize;
  const centresOf = () => tf.tidy(() => {
    const images = tf.randomNormal([2, S, S, 3], 0, 1, 'float32', 11);
    return Array.from(auCentresTensor(model.predict(images).landmarks, 'bp4d', 1 / 4).dataSync());
  });
  const head = () => model.store.named().filter((p) => p.trainable && p.name.startsWith('landmarks.'))
    .map((p) => [p.name, Array.from(p.tensor.dataSync())]);
  const before = centresOf();
  const headBefore = head();
  const others = weightsOf(model);
  const h = await train({ model, samples: bare, options: { ...options, epochs: 2, weightDecay: 0.05, lr: 0.05, warmupEpochs: 0 } });
  assert.ok(h.steps.length >= 4 && h.steps.every((s) => s.landmarks === 0));
  assert.not.equal(weightsOf(model), others, 'the rest of the model trained');
  const after = centresOf();
  // only the BatchNorm running statistics of the head (and the stem under it) change, through FC
  // weights of order 1e-4: far below a pixel of the 12 × 12 stem map
  const moved = Math.max(...after.map((v, i) => Math.abs(v - before[i])));
  assert.ok(moved < 1e-3, `AU centres moved by up to ${moved} stem pixels`);
  assert.equal(head(), headBefore, 'the landmark head got no update');
  model.dispose();
});

test('a checkpoint is not overwritten without resume unless asked; a damaged one falls back to the previous epoch\'s, with a warning', async () => {
  const dir = tmp();
  const opts = { ...options, epochs: 2 };
  const straight = new AuModel(config(), 8);
  await train({ model: straight, samples, options: opts, dir, run: { dataset: 'synthetic', fold: 1 } });
  assert.ok(existsSync(join(dir, 'checkpoint', 'state.json')));
  assert.is(JSON.parse(readFileSync(join(dir, 'checkpoint.old', 'state.json'), 'utf8')).epochsDone, 1, 'the previous epoch\'s checkpoint is kept');
  assert.equal(JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')).run, { dataset: 'synthetic', fold: 1 });

  const again = new AuModel(config(), 8);
  let error;
  try { await train({ model: again, samples, options: opts, dir }); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /checkpoint exists: resume it \(--resume\) or replace it \(--overwrite\)/);
  assert.is(JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')).epochsDone, 2, 'untouched');

  // resuming with other options or another fold is refused, naming both values
  for (const [args, pattern] of [
    [{ options: { ...opts, lr: 0.05 } }, /Expected 0\.02 \(what the checkpoint .* was trained with\) for option lr but received 0\.05: resume with the same settings/],
    [{ options: opts, run: { dataset: 'synthetic', fold: 2 } }, /Expected 1 \(what the checkpoint .* was trained with\) for run setting fold but received 2/],
  ]) {
    error = undefined;
    try { await train({ model: again, samples, dir, resume: true, ...args }); } catch (e) { error = e; }
    assert.instance(error, RangeError);
    assert.match(error.message, pattern);
  }

  // a torn state.json: the run resumes from epoch 1's checkpoint and ends where the uninterrupted run did
  writeFileSync(join(dir, 'checkpoint', 'state.json'), '{"format":"sacl-au-tra');
  const warnings = [];
  const resumed = new AuModel(config(), 99);
  const h = await train({ model: resumed, samples, options: opts, dir, resume: true, run: { dataset: 'synthetic', fold: 1 }, onWarning: (m) => warnings.push(m) });
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /checkpoint .*checkpoint is unreadable \(.*state\.json: .*JSON.*\); resuming from .*checkpoint\.old instead/);
  assert.equal(h.epochs.map((e) => e.epoch), [0, 1], 'epoch 2 trained again from epoch 1\'s checkpoint');
  assert.equal(weightsOf(resumed), weightsOf(straight));

  // overwrite: a fresh run replaces every checkpoint
  const fresh = new AuModel(config(), 3);
  await train({ model: fresh, samples, options: { ...opts, epochs: 1 }, dir, overwrite: true });
  assert.is(JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')).epochsDone, 1);
  assert.not.ok(existsSync(join(dir, 'checkpoint.old')), 'no checkpoint of the replaced run is left to resume');
  [straight, again, resumed, fresh].forEach((m) => m.dispose());
});

test('stopped mid-epoch (stop signal), or crashed after a --checkpoint-every checkpoint, then resumed = uninterrupted (losses and weights, bits)', async () => {
  const tensorsBefore = tf.memory().numTensors;
  // 12 samples, batches of 4: 3 steps per epoch, 9 in all
  const straight = new AuModel(config(), 6);
  const h1 = await train({ model: straight, samples, options, dir: tmp() });
  assert.is(h1.steps.length, 9);

  // stopped after step 5 (index 4): epoch 2, one batch into it (the stop is seen after the step under way)
  const stoppedDir = tmp();
  const controller = new AbortController();
  const checkpoints = [];
  const first = new AuModel(config(), 6);
  const part = await train({ model: first, samples, options, dir: stoppedDir, stop: controller.signal, onCheckpoint: (c) => checkpoints.push(c),
    onStep: (r) => { if (r.step === 4) controller.abort(); } });
  first.dispose();
  assert.is(part.steps.length, 5);
  assert.is(part.epochs.length, 1);
  assert.equal(checkpoints.map((c) => [c.epoch, c.batchesDone, c.step]), [[1, 0, 3], [1, 2, 5]], 'epoch 1\'s end, then the stop');
  const state = JSON.parse(readFileSync(join(stoppedDir, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal([state.epochsDone, state.batchesDone, state.step], [1, 2, 5]);
  const resumed = new AuModel(config(), 99); // other initial weights: all of them must come from the checkpoint
  const h2 = await train({ model: resumed, samples, options, dir: stoppedDir, resume: true });
  assert.equal(h2.steps.map((s) => s.loss), h1.steps.map((s) => s.loss));
  assert.equal(h2.steps.map((s) => s.lr), h1.steps.map((s) => s.lr));
  assert.equal(h2.epochs.map((e) => e.loss), h1.epochs.map((e) => e.loss), 'the interrupted epoch\'s loss sums both parts');
  assert.equal(weightsOf(resumed), weightsOf(straight));
  assert.not.ok('batchesDone' in JSON.parse(readFileSync(join(stoppedDir, 'checkpoint', 'state.json'), 'utf8')), 'an epoch\'s end records no partial epoch');

  // every 2 steps: checkpoints at steps 2 and 4 (within epochs) besides the epoch ends; a crash in step 6 loses 1 step
  const crashDir = tmp();
  const crashing = new AuModel(config(), 6);
  let error;
  try {
    await train({ model: crashing, samples, options, dir: crashDir, checkpointEvery: 2, onStep: (r) => { if (r.step === 5) throw new Error('crash'); } });
  } catch (e) { error = e; }
  crashing.dispose();
  assert.is(error?.message, 'crash');
  const crashed = JSON.parse(readFileSync(join(crashDir, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal([crashed.epochsDone, crashed.batchesDone, crashed.step], [1, 1, 4]);
  const again = new AuModel(config(), 98);
  const h3 = await train({ model: again, samples, options, dir: crashDir, resume: true, checkpointEvery: 2 });
  assert.equal(h3.steps.map((s) => s.loss), h1.steps.map((s) => s.loss));
  assert.equal(weightsOf(again), weightsOf(straight));

  let bad;
  try { await train({ model: again, samples, options, checkpointEvery: 1.5 }); } catch (e) { bad = e; }
  assert.instance(bad, RangeError);
  assert.is(bad.message, 'Expected a non-negative integer for checkpointEvery but received 1.5');
  [straight, resumed, again].forEach((m) => m.dispose());
  assert.is(tf.memory().numTensors, tensorsBefore, 'training leaked tensors');
});

test('a resume point: the model allocated from the checkpoint (no value drawn, each saved value written once), then resumed mid-epoch = uninterrupted, bit for bit', async () => {
  const tensorsBefore = tf.memory().numTensors;
  const straight = new AuModel(config(), 6);
  const h1 = await train({ model: straight, samples, options, dir: tmp() });
  const dir = tmp();
  const controller = new AbortController();
  const first = new AuModel(config(), 6);
  await train({ model: first, samples, options, dir, stop: controller.signal, onStep: (r) => { if (r.step === 4) controller.abort(); } });
  const paramBytes = first.store.named().reduce((n, p) => n + 4 * p.tensor.size, 0);
  first.dispose();

  const drawn = await counting(async () => new AuModel(config(), 1));
  assert.ok(drawn.draws > 0 && drawn.written === paramBytes, 'a new model draws its values (the spies see it)');
  drawn.result.dispose();
  const opened = await counting(() => openResumePoint(dir));
  const point = opened.result;
  assert.is(opened.draws, 0, 'no initial value drawn');
  const optimizerBytes = point.optimizer.reduce((n, t) => n + 4 * t.tensor.size, 0);
  assert.ok(optimizerBytes > 0);
  assert.is(opened.written, paramBytes + optimizerBytes, 'every saved value written to the backend once');
  assert.equal([point.path, point.state.step, point.state.batchesDone], [join(dir, 'checkpoint'), 5, 2]);

  // the point resumes its own model in its own folder only
  const other = new AuModel(config(), 6);
  for (const [args, ErrorClass, pattern] of [
    [{ model: other, dir }, TypeError, /^Expected the model of the resume point .*checkpoint for model but received another AuModel$/],
    [{ model: point.model, dir: tmp() }, RangeError, /^Expected the run folder of the resume point \(.*\) for dir but received .*sacl-train-/],
    [{ model: point.model }, RangeError, /^Expected the run folder of the resume point \(.*\) for dir but received undefined$/],
  ]) {
    let error;
    try { await train({ samples, options, resume: point, ...args }); } catch (e) { error = e; }
    assert.instance(error, ErrorClass, String(pattern));
    assert.match(error.message, pattern);
  }
  other.dispose();

  const resumed = await counting(() => train({ model: point.model, samples, options, dir, resume: point }));
  assert.is(resumed.draws, 0, 'training on draws no initial values either');
  assert.equal(resumed.result.steps.map((s) => s.loss), h1.steps.map((s) => s.loss));
  assert.equal(resumed.result.epochs.map((e) => e.loss), h1.epochs.map((e) => e.loss));
  assert.equal(weightsOf(point.model), weightsOf(straight));
  point.dispose();
  straight.dispose();
  assert.is(tf.memory().numTensors, tensorsBefore, 'resuming leaked tensors');
  assert.is(await openResumePoint(tmp()), null, 'a folder without a checkpoint');
});

test('a checkpoint of another model config, or whose weights do not fit its config, is refused naming the field or the weight', async () => {
  const dir = tmp();
  const first = new AuModel(config(), 4);
  await train({ model: first, samples, options: { ...options, epochs: 2 }, dir, stopAfterEpochs: 1 });
  first.dispose();
  const tensorsBefore = tf.memory().numTensors;
  let error;
  try { await openResumePoint(dir, { config: modelConfig('tiny', { inputSize: 64 }) }); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /^Expected the config of the model trained \(inputSize 64\) for the model config of the checkpoint .*checkpoint but received another model config \(inputSize 48\)$/);
  // the same fields in another order differ as JSON, so they are refused too; the message then shows the whole configs
  const reordered = Object.fromEntries(Object.entries(config()).reverse());
  error = undefined;
  try { await openResumePoint(dir, { config: reordered }); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /^Expected the config of the model trained \(\{"classifier":.*\) for the model config of the checkpoint .* but received another model config \(\{"variant":"tiny",.*\)$/);

  const file = join(dir, 'checkpoint', 'model', 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  json.userDefinedMetadata.config.classifier.hidden = 33;
  writeFileSync(file, JSON.stringify(json));
  const warnings = [];
  error = undefined;
  try { await openResumePoint(dir, { onWarning: (m) => warnings.push(m) }); } catch (e) { error = e; }
  assert.match(error?.message, /sacl-train-.*: no checkpoint could be read \(see the warnings above\)/);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /model\.json: model config: Expected shape \[12,\d+,33\] for the weights of classifier\.heads\.fc1\.weight but received \[12,\d+,32\]\); no other checkpoint/);
  assert.is(tf.memory().numTensors, tensorsBefore, 'nothing left allocated');
});

test('a checkpoint whose model config an older version wrote (no sacl.fbg, sbgThreshold) resumes: its config is read one way, as the model loader reads it', async () => {
  const dir = tmp();
  const opts = { ...options, epochs: 2 };
  const first = new AuModel(config(), 4);
  await train({ model: first, samples, options: opts, dir, stopAfterEpochs: 1 });
  first.dispose();
  const file = join(dir, 'checkpoint', 'model', 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  delete json.userDefinedMetadata.config.sacl.fbg;
  delete json.userDefinedMetadata.config.sacl.sbgThreshold;
  writeFileSync(file, JSON.stringify(json));
  const saved = await readCheckpoint(dir);
  assert.equal(saved.config, config(), 'the defaults of today filled in');
  const resumed = new AuModel(saved.config, 4);
  const h = await train({ model: resumed, samples, options: opts, dir, resume: true });
  assert.is(h.epochs.length, 2);
  resumed.dispose();
});

test.run();
