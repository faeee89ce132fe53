/** `sacl-au train | eval | predict` end to end on a small synthetic set (BP4D layout), and their errors. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { assertEqualValues } from '../helpers/assert.js';
import { runCli as run, withSyntheticData } from '../helpers/cli.js';
import { PY_TORCH, writeRestFiles } from '../helpers/torch.js';

const test = suite('sacl-au train / eval / predict');
let dir;
let data;
withSyntheticData(test, 'sacl-cli-', (folder) => ({ dir, data } = folder));

const small = ['--variant', 'tiny', '--input', '48', '--batch-size', '4', '--lr', '0.05'];

test('train → model, history, checkpoint and an evaluation report; --resume continues', () => {
  const out = join(dir, 'run');
  const r = run('train', '--dataset', 'bp4d', '--root', data, '--fold', '1', ...small, '--epochs', '1', '--out', out, '--json');
  assert.is(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.is(summary.report, join(out, 'report'));
  assert.type(summary.meanF1, 'number');
  for (const f of ['model/model.json', 'history.json', 'checkpoint/state.json', 'report/metrics.json', 'report/metrics.md',
    'report/metrics.csv', 'report/predictions.csv', 'report/f1.svg', 'report/loss.svg', 'report/lr.svg', 'report/graph-shallow.svg', 'report/graph-deep.svg']) {
    assert.ok(existsSync(join(out, f)), `${f} missing`);
  }
  const metrics = JSON.parse(readFileSync(join(out, 'report/metrics.json'), 'utf8'));
  assert.is(metrics.perAu.length, 12);
  assert.type(metrics.alwaysPresentMeanF1, 'number');
  assert.ok(metrics.paper, 'BP4D AU set: the paper row is attached');
  const csv = readFileSync(join(out, 'report/predictions.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 1 + 6); // fold 1 tests part 3: one subject, 6 frames
  assert.match(csv[0], /^id,subject,AU01_p,/);
  assert.match(r.stderr, /epoch 1\/1/);

  // the finished run resumed: nothing left to train, the saved settings are reused
  const again = run('train', '--out', out, '--resume', '--no-eval', '--json');
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /resuming .*checkpoint: bp4d under .*data, fold 1, tiny model, 1 of 1 epochs done/);
  assert.not.match(again.stderr, /epoch 1\/1/, 'the resumed run does not repeat epoch 1');
  assert.is(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs.length, 1);
});

test('--resume trains with the checkpoint\'s dataset, fold and options; a conflicting flag is refused naming both values', () => {
  const straight = join(dir, 'straight');
  const args = ['--dataset', 'bp4d', '--root', data, '--fold', '2', ...small, '--epochs', '2', '--no-eval'];
  let r = run('train', ...args, '--out', straight);
  assert.is(r.status, 0, r.stderr);
  const state = JSON.parse(readFileSync(join(straight, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal(state.run, { dataset: 'bp4d', root: data, fold: 2 });
  assert.equal([state.options.epochs, state.options.batchSize, state.options.lr], [2, 4, 0.05]);

  // a run killed after epoch 1: only that epoch's checkpoint is left
  const killed = join(dir, 'killed');
  cpSync(straight, killed, { recursive: true });
  rmSync(join(killed, 'checkpoint'), { recursive: true });
  rmSync(join(killed, 'model'), { recursive: true });
  renameSync(join(killed, 'checkpoint.old'), join(killed, 'checkpoint'));
  for (const [extra, pattern] of [
    [['--fold', '1'], /--fold 1 conflicts with the checkpoint .*killed\/checkpoint, which trains fold 2: resume without the flag, or train into another --out/],
    [['--root', dir], /--root ".*" conflicts with the checkpoint .*, which trains root ".*data"/],
    [['--lr', '0.1'], /--lr 0\.1 conflicts with the checkpoint .*, which trains with 0\.05/],
    [['--batch-size', '2'], /--batch-size 2 conflicts with the checkpoint .*, which trains with 4/],
    [['--no-augment'], /--no-augment false conflicts with the checkpoint .*, which trains with true/],
    [['--variant', 'baseline'], /the model flags conflict with the checkpoint .*, which trains variant "tiny"; the flags give "baseline"/],
    [['--overwrite'], /--resume and --overwrite: give one/],
  ]) {
    r = run('train', '--out', killed, '--resume', ...extra);
    assert.is(r.status, 2, `${extra}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  // the same flags again are accepted; the resumed run ends with the uninterrupted run's weights
  r = run('train', '--out', killed, '--resume', '--fold', '2', '--lr', '0.05', '--no-eval');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /epoch 2\/2/);
  assert.not.match(r.stderr, /epoch 1\/2/);
  const weights = (d) => { const j = JSON.parse(readFileSync(join(d, 'model', 'model.json'), 'utf8')); return readFileSync(join(d, 'model', j.weightsManifest[0].paths[0])); };
  assert.ok(weights(killed).equals(weights(straight)), 'resumed = uninterrupted, bit for bit');

  // without --resume an existing checkpoint is refused; --overwrite starts again
  r = run('train', ...args, '--out', killed);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /killed\/checkpoint exists: resume it \(--resume\) or replace it \(--overwrite\)/);
  r = run('train', '--out', join(dir, 'nothing-here'), '--resume');
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /--resume: .*nothing-here holds no checkpoint to resume/);
});

test('--resume past a damaged checkpoint: one warning naming it, then the run goes on from the one before', () => {
  const out = join(dir, 'damaged');
  // fold 1 trains 12 frames: 3 steps at batch 4; a checkpoint at steps 1 and 2, then the epoch's end
  let r = run('train', '--dataset', 'bp4d', '--root', data, '--fold', '1', ...small, '--epochs', '1', '--checkpoint-every', '1',
    '--no-eval', '--out', out);
  assert.is(r.status, 0, r.stderr);
  writeFileSync(join(out, 'checkpoint', 'state.json'), '{"cut short');
  r = run('train', '--out', out, '--resume', '--no-eval');
  assert.is(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => /unreadable/.test(l));
  assert.is(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /checkpoint .*damaged\/checkpoint is unreadable \(.*state\.json/);
  assert.match(r.stderr, /resuming .*checkpoint\.old: bp4d under .*data, fold 1, tiny model, 0 of 1 epochs done/);
  assert.is(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).steps.length, 3);
});

test('an ME-GraphAU-list tree trains for an epoch and evaluates through the CLI', () => {
  const root = join(dir, 'megraphau');
  const parts = [['F001'], ['M001'], ['F002']];
  const rows = (subjects) => subjects.flatMap((s) => Array.from({ length: 6 }, (_, i) => `${s}/T1/${i + 1}.jpg`));
  const occ = (s) => readFileSync(join(data, 'AUCoding', 'AU_OCC', `${s}_T1.csv`), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split(',').slice(1).map((v) => (v === '9' ? '0' : v)).join(' '));
  for (const fold of [1, 2, 3]) {
    const testPart = parts[3 - fold];
    const trainPart = parts.filter((p) => p !== testPart).flat();
    for (const [split, subjects] of [['train', trainPart], ['test', testPart]]) {
      mkdirSync(join(root, 'list'), { recursive: true });
      writeFileSync(join(root, 'list', `BP4D_${split}_img_path_fold${fold}.txt`), `${rows(subjects).join('\n')}\n`);
      writeFileSync(join(root, 'list', `BP4D_${split}_label_fold${fold}.txt`), `${subjects.flatMap(occ).join('\n')}\n`);
    }
  }
  cpSync(data, join(root, 'img'), { recursive: true });
  const out = join(dir, 'lists-run');
  const r = run('train', '--dataset', 'bp4d', '--root', root, '--fold', '1', ...small, '--epochs', '1', '--out', out, '--json');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /ME-GraphAU lists/);
  const metrics = JSON.parse(readFileSync(join(out, 'report', 'metrics.json'), 'utf8'));
  assert.is(metrics.frames, 6);
});

test('JAA-Net lists as its repository keeps them (data/list/, paths BP4D/<subject>/…, four-digit frames): fold 1 trains on parts 1 + 2, tests part 3', () => {
  const root = join(dir, 'jaanet');
  const parts = [['F001'], ['M001'], ['F002']];
  const list = join(root, 'data', 'list');
  mkdirSync(list, { recursive: true });
  parts.forEach(([s], k) => {
    const occ = readFileSync(join(data, 'AUCoding', 'AU_OCC', `${s}_T1.csv`), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const marks = new Map(readFileSync(join(data, 'Landmarks', `${s}_T1.csv`), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')).map((c) => [c[0], c.slice(1)]));
    const paths = occ.map((c) => `BP4D/${s}/T1/${c[0].padStart(4, '0')}.jpg`);
    occ.forEach((c, i) => cpSync(join(data, s, 'T1', `${c[0]}.jpg`), join(root, 'data', 'imgs', paths[i])));
    writeFileSync(join(list, `BP4D_part${k + 1}_path.txt`), `${paths.join('\n')}\n`);
    writeFileSync(join(list, `BP4D_part${k + 1}_AUoccur.txt`), `${occ.map((c) => c.slice(1).join(' ')).join('\n')}\n`);
    writeFileSync(join(list, `BP4D_part${k + 1}_land.txt`), `${occ.map((c) => marks.get(c[0]).map((v) => Number(v) - 1).join(' ')).join('\n')}\n`);
  });
  const out = join(dir, 'jaanet-run');
  const r = run('train', '--dataset', 'bp4d', '--root', root, '--fold', '1', ...small, '--epochs', '1', '--out', out, '--json');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /JAA-Net lists \(data\/list\/, images in data\/imgs\/\)/);
  assert.match(r.stderr, /fold 1: 12 training frames, 6 test frames/);
  const metrics = JSON.parse(readFileSync(join(out, 'report', 'metrics.json'), 'utf8'));
  assert.is(metrics.frames, 6, 'part 3 (F002) is the test side');
});

test('a corrupt image stops training with its name, or with --skip-bad is logged, counted and masked', () => {
  const root = join(dir, 'corrupt');
  cpSync(data, root, { recursive: true });
  writeFileSync(join(root, 'F001', 'T1', '3.jpg'), 'not a jpeg');
  const args = ['train', '--dataset', 'bp4d', '--root', root, '--fold', '1', ...small, '--epochs', '1'];
  const stop = run(...args, '--out', join(dir, 'c1'));
  assert.is(stop.status, 1, stop.stderr);
  assert.match(stop.stderr, /F001\/T1\/3\.jpg/);
  const skip = run(...args, '--out', join(dir, 'c2'), '--skip-bad', '--json');
  assert.is(skip.status, 0, skip.stderr);
  assert.match(skip.stderr, /skipped .*F001\/T1\/3\.jpg/);
  assert.match(skip.stderr, /1 unreadable images skipped/);
});

test('--config file: the SBG variant gets its fixed graph from the training fold\'s co-occurrence', () => {
  const file = join(dir, 'sbg.json');
  writeFileSync(file, JSON.stringify({
    variant: 'sbg',
    model: { inputSize: 48, backbone: { dims: [8, 16, 24, 32], heads: [1, 2, 2, 4], depths: [1, 1, 1, 1] }, landmarks: [8, 8, 8], roiSize: 3,
      sacl: { widths: [8, 16], depths: [1, 1], k: 5, groups: 2, ffnRatio: 2 }, classifier: { hidden: 8 } },
    training: { epochs: 1, batchSize: 4 },
  }));
  const out = join(dir, 'sbg-run');
  const r = run('train', '--dataset', 'bp4d', '--root', data, '--fold', '1', '--config', file, '--out', out, '--no-eval', '--json');
  assert.is(r.status, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8')).userDefinedMetadata.config;
  assert.is(config.variant, 'sbg');
  assert.equal(config.sacl.widths, [8, 16]);
  const p = config.sacl.cooccurrence;
  assert.is(p.length, 12);
  assert.ok(p.every((row, i) => row[i] === 1 || row.every((v) => v === 0)), 'P(i | i) = 1 for every AU ever present');
  assert.ok(p.some((row, i) => row.some((v, j) => j !== i && v > 0 && v < 1)), 'real co-occurrence, not a placeholder');
  assert.is(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs.length, 1);
});

test('--micro-batch 2: same steps per epoch as whole batches of 4, options recorded', () => {
  const out = join(dir, 'micro');
  const r = run('train', '--dataset', 'bp4d', '--root', data, '--fold', '1', ...small, '--micro-batch', '2', '--epochs', '1', '--out', out, '--no-eval');
  assert.is(r.status, 0, r.stderr);
  const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
  const whole = JSON.parse(readFileSync(join(dir, 'run', 'history.json'), 'utf8'));
  assert.is(history.epochs[0].steps, whole.epochs[0].steps);
  assert.is(JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')).options.microBatch, 2);
});

test('--backbone: ResT weights saved by torch.save start the model; unfit names are listed; a broken file exits 1 naming it', async () => {
  const broken = join(dir, 'broken.pth');
  writeFileSync(broken, Buffer.from('PK\x03\x04 cut short'));
  let r = run('train', '--dataset', 'bp4d', '--root', data, ...small, '--epochs', '0', '--no-eval', '--out', join(dir, 'bb-broken'), '--backbone', broken);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /Expected a zip end-of-central-directory record .* for the end of the torch\.save archive .*broken\.pth but received none in 14 bytes/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  r = run('train', '--dataset', 'bp4d', '--root', data, ...small, '--out', join(dir, 'bb-both'), '--backbone', broken, '--init', join(dir, 'run', 'model'));
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /--backbone and --init both set the backbone's weights/);
  if (!PY_TORCH) {
    console.log('[sacl-au tests] train --backbone with a PyTorch-written file skipped: no python3 with torch');
    return;
  }
  const files = join(dir, 'rest');
  mkdirSync(files);
  const expected = writeRestFiles(files, modelConfig('tiny').backbone, 64);
  const out = join(dir, 'bb');
  // --epochs 0: the saved model holds exactly what was loaded
  r = run('train', '--dataset', 'bp4d', '--root', data, ...small, '--epochs', '0', '--no-eval', '--out', out, '--backbone', join(files, 'bad.pth'));
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /backbone from .*bad\.pth \(pth\): 109 tensors loaded, 1 missing, 2 unused, 1 of another shape, 5 num_batches_tracked skipped/);
  assert.match(r.stderr, /missing \(left at their initialization\): backbone\.stage1\.0\.attn\.q\.weight\n/);
  assert.match(r.stderr, /unused: head\.weight, head\.bias\n/);
  assert.match(r.stderr, /shape: stem\.conv1\.weight is \[8, 3, 5, 5\] in the file; the model needs \[8, 3, 3, 3\]/);
  const model = await AuModel.load(join(out, 'model'));
  try {
    const saved = new Map(model.store.named().map((p) => [p.name, p.tensor]));
    for (const name of ['stem.norm1.running_var', 'stem.norm2.weight', 'stage3.0.attn.sr_norm.bias', 'norm.weight']) {
      assertEqualValues(saved.get(`backbone.${name}`).dataSync(), Float32Array.from(expected.state[name].values), name);
    }
    // a Linear weight arrives transposed ([out, in] → [in, out])
    const fc1 = saved.get('backbone.stage3.0.mlp.fc1.weight');
    const [inF, outF] = fc1.shape;
    const torchFc1 = expected.state['stage3.0.mlp.fc1.weight'].values;
    assertEqualValues(fc1.dataSync(), Float32Array.from({ length: inF * outF }, (_, k) => torchFc1[(k % outF) * inF + Math.floor(k / outF)]), 'fc1');
  } finally {
    model.dispose();
  }
});

test('--init: the fine-tuning schedule is the paper\'s by default and set by --epochs, --lr, --warmup-epochs', () => {
  const from = join(dir, 'run', 'model');
  const out = join(dir, 'finetune');
  const r = run('train', '--dataset', 'bp4d', '--root', data, '--fold', '1', ...small, '--init', from, '--epochs', '1', '--lr', '0.002',
    '--warmup-epochs', '0', '--out', out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /fine-tuning: 1 epochs, peak lr 0\.002, 0 warm-up epochs/);
  const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
  assert.is(history.steps[0].lr, 0.002, 'no warm-up: the first step runs at the peak');
  assert.ok(history.steps.at(-1).lr < 0.002, 'cosine decay over the fine-tuning');
  const metrics = JSON.parse(readFileSync(join(out, 'report', 'metrics.json'), 'utf8'));
  assert.is(metrics.init, from);
  assert.equal([metrics.training.epochs, metrics.training.lr, metrics.training.warmupEpochs], [1, 0.002, 0]);
  const defaults = run('train', '--help').stdout;
  assert.match(defaults, /fine-tuning schedule is the options\s+above: by default the paper's full one again \(12 epochs, peak 0\.001, 1 warm-up/);
});

test('eval and predict with the saved model', () => {
  const model = join(dir, 'run', 'model');
  const report = join(dir, 'eval');
  const e = run('eval', '--model', model, '--dataset', 'bp4d', '--root', data, '--fold', '2', '--out', report, '--json');
  assert.is(e.status, 0, e.stderr);
  assert.ok(existsSync(join(report, 'metrics.json')));
  const p = run('predict', '--model', model, '--aligned', join(data, 'F001', 'T1'));
  assert.is(p.status, 0, p.stderr);
  const rows = p.stdout.trim().split('\n');
  assert.is(rows.length, 1 + 6);
  assert.match(rows[0], /^file,frame,face_id,timestamp,confidence,success,x_0,.*,y_48,AU01_p,AU02_p,.*,AU24_p,AU01_c,.*AU24_c$/);
  const cells = rows[1].split(',');
  assert.is(cells.length, 6 + 98 + 24);
  assert.ok(cells.slice(104, 116).every((v) => Number(v) >= 0 && Number(v) <= 1));
  assert.ok(cells.slice(116).every((v) => v === '0' || v === '1'));
});

test('errors: a command line that cannot be used exits 2, any other failure 1, with one line', () => {
  const config = (name, json) => { const f = join(dir, `${name}.json`); writeFileSync(f, JSON.stringify(json)); return f; };
  // a list file that cannot be read is not a usage error
  const badList = join(dir, 'bad-list');
  mkdirSync(join(badList, 'list'), { recursive: true });
  writeFileSync(join(badList, 'list', 'BP4D_test_img_path_fold1.txt'), 'X/1.jpg\n');
  writeFileSync(join(badList, 'list', 'BP4D_test_label_fold1.txt'), '1 0 0 0 0 0 0 0 0 0 0 0\n');
  const train = (...more) => ['train', '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'x'), ...more];
  for (const [args, pattern, status] of [
    [[], /Usage: sacl-au <command>/],
    [train('--batch-size', '0'), /Expected a positive integer for --batch-size but received "0"/],
    [train('--epochs', 'abc'), /Expected a non-negative integer for --epochs but received "abc"/],
    [train('--config', config('epochs-abc', { training: { epochs: 'abc' } })), /Expected a number for training\.epochs in --config .*epochs-abc\.json but received "abc"/],
    [train('--config', config('epochs-neg', { training: { epochs: -1 } })), /Expected a non-negative integer for training\.epochs in --config .*epochs-neg\.json but received "-1"/],
    [train('--config', config('batch-0', { training: { batchSize: 0 } })), /Expected a positive integer for training\.batchSize in --config .* but received "0"/],
    [train('--config', config('typo', { training: { epoch: 3 } })), /Expected one of epochs, batchSize, .* for a key of training in --config .*typo\.json but received "epoch"/],
    [train('--config', config('augment', { training: { augment: 'no' } })), /Expected true or false for training\.augment in --config .* but received "no"/],
    [train('--config', config('loss', { training: { lossWeights: { dice: 1 } } })), /Expected \{ "asymmetric", "dice", "landmarks" \} of non-negative numbers for training\.lossWeights in --config /],
    [train('--config', config('top', { trainig: {} })), /Expected the keys variant, model, training for --config .*top\.json but received "trainig"/],
    [train('--config', config('model', { model: { inputSize: 100 } })), /Expected a multiple of 16 in \[32, 2048\] for inputSize/],
    [train('--frobnicate'), /Unknown option '--frobnicate'/],
    [['train', '--dataset', 'bp4d', '--root', badList, '--out', join(dir, 'x')], /Expected a BP4D subject id .* for line 1 of .*BP4D_test_img_path_fold1\.txt/, 1],
    [['align', '--root', data, '--out', join(data, 'aligned')], /Expected a folder outside --root .* for --out/],
    [['eval', '--model', join(dir, 'run', 'model'), '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'y'), '--fold', '0'], /Expected a positive integer for --fold/],

    [['train', '--dataset', 'bp4d', '--root', data], /--out is required/],
    [['train', '--dataset', 'ck+', '--root', data, '--out', join(dir, 'x')], /Expected one of synthetic, bp4d, disfa for --dataset but received "ck\+"/],
    [['train', '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'x'), '--fold', '4', ...small], /Expected 1, 2 or 3 for --fold/],
    [['train', '--dataset', 'bp4d', '--root', dir, '--out', join(dir, 'x')], /AUCoding/],
    [['train', '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'x'), '--micro-batch', '0'], /Expected a positive integer for --micro-batch but received "0"/],
    [['predict', '--model', join(dir, 'run', 'model'), join(dir, 'nope')], /no such file or folder/],
    [['eval', '--model', join(dir, 'nope'), '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'y')], /nope/, 1],
  ].map(([args, pattern, status = 2]) => [args, pattern, status])) {
    const r = run(...args);
    assert.is(r.status, status, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test.run();
