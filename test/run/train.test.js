/**
 * The train and evaluate runs called from code (src/run/train.ts), as the CLI calls them: a new run, a
 * run stopped by its AbortSignal and resumed, evaluation of the saved model, and requests that cannot run.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { modelConfig } from '../../dist/model/index.js';
import { initTf } from '../../dist/tf/engine.js';
import { evaluateRun, trainRun } from '../../dist/run/train.js';
import { Random } from '../../dist/util/random.js';
import * as publicRun from 'sacl-au/run';
import { syntheticDataFolder } from '../helpers/cli.js';

const test = suite('run: trainRun, evaluateRun');
let dir;
let data;
test.before(async () => {
  await initTf({ prefer: 'wasm' });
  ({ dir, data } = await syntheticDataFolder('sacl-run-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** fn's result and how many normal values Random drew meanwhile (weight initialization; the data here is generated before). */
async function drawsDuring(fn) {
  const normal = Random.prototype.normal;
  let draws = 0;
  Random.prototype.normal = function (...args) { draws++; return normal.apply(this, args); };
  try {
    return { result: await fn(), draws };
  } finally {
    Random.prototype.normal = normal;
  }
}

const request = (out, more = {}) => ({
  out, dataset: 'bp4d', root: data, fold: 1, model: () => modelConfig('tiny', { inputSize: 48 }),
  options: { epochs: 1, batchSize: 4, lr: 0.05 }, evaluate: false, log: () => {}, ...more,
});

test('a run stopped before its first step leaves a checkpoint; resumed, it trains, saves, and evaluateRun scores the model', async () => {
  const out = join(dir, 'stopped');
  const controller = new AbortController();
  controller.abort();
  const lines = [];
  const started = await drawsDuring(() => trainRun(request(out, { stop: controller.signal, log: (l) => lines.push(l) })));
  assert.ok(started.draws > 0, 'a new run draws its initial weights');
  const stopped = started.result;
  assert.equal(stopped.stopped, { path: join(out, 'checkpoint'), epoch: 0, batchesDone: 0, step: 0 });
  assert.is(stopped.reportDir, null);
  assert.not.ok(existsSync(join(out, 'model')));
  assert.ok(lines.some((l) => /^tfjs backend: /.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^bp4d fold 1: 12 training frames, 6 test frames; tiny model/.test(l)), 'the pipeline\'s lines go to the given log');

  // resumed with only the folder: the dataset, fold, options and model config come from the checkpoint
  const run = await drawsDuring(() => trainRun({ out, resume: true, log: (l) => lines.push(l) }));
  assert.is(run.draws, 0, 'a resumed run allocates its model from the checkpoint: no initial weight drawn');
  const resumed = run.result;
  assert.is(resumed.stopped, undefined);
  assert.is(resumed.history.epochs.length, 1);
  assert.ok(lines.some((l) => /resuming .*checkpoint: bp4d under .*data, fold 1, tiny model, 0 of 1 epochs done/.test(l)));
  assert.is(JSON.parse(readFileSync(join(resumed.modelDir, 'model.json'), 'utf8')).userDefinedMetadata.config.inputSize, 48);

  const report = join(dir, 'report');
  const r = await evaluateRun({ model: resumed.modelDir, dataset: 'bp4d', root: data, fold: 1, out: report, log: () => {} });
  assert.is(r.report, report);
  assert.type(r.meanF1, 'number');
  assert.ok(existsSync(join(report, 'metrics.json')));
});

test('sacl-au/run exports the runs (the package\'s own name resolves to dist/run/index.js)', () => {
  assert.is(publicRun.trainRun, trainRun);
  assert.is(publicRun.evaluateRun, evaluateRun);
  for (const name of ['demoRun', 'reproduce', 'runPredict', 'trainAndEvaluate']) assert.type(publicRun[name], 'function', name);
  assert.is(publicRun.DEFAULT_CHECKPOINT_EVERY, 200);
});

test('requests that cannot run are refused naming what is missing or conflicting', async () => {
  const cases = [
    [{ out: join(dir, 'a'), dataset: undefined }, /--dataset is required/],
    [{ out: join(dir, 'b'), model: undefined }, /a new training run needs a model config/],
    [{ out: join(dir, 'c'), resume: true }, /--resume: .*c holds no checkpoint to resume/],
    [{ out: join(dir, 'stopped'), fold: 2, resume: true }, /--fold 2 conflicts with the checkpoint .*, which trains fold 1/],
    [{ out: join(dir, 'stopped'), options: { lr: 0.1 }, resume: true, model: undefined }, /lr 0\.1 conflicts with the checkpoint .*, which trains with 0\.05/],
    [{ out: join(dir, 'stopped'), resume: true, model: () => modelConfig('tiny', { inputSize: 64 }) },
      /the model flags conflict with the checkpoint .*stopped\/checkpoint, which trains inputSize 48; the flags give 64/],
    [{ out: join(dir, 'stopped') }, /stopped\/checkpoint exists: resume it \(--resume\) or replace it \(--overwrite\)/],
  ];
  for (const [more, pattern] of cases) {
    let error;
    try { await trainRun({ ...request(more.out), ...more }); } catch (e) { error = e; }
    assert.instance(error, RangeError, String(pattern));
    assert.match(error.message, pattern);
  }
});

test.run();
