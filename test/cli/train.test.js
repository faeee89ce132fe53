/** `sacl-au train | eval | predict` end to end on a small synthetic set (BP4D layout), and their errors. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../dist/data/synthetic/generate.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, SACL_TF_BACKEND: 'wasm' } });
const test = suite('sacl-au train / eval / predict');
let dir;
let data;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sacl-cli-'));
  data = join(dir, 'data');
  await generateSynthetic({ root: data, seed: 4, subjects: 3, tasks: 1, framesPerTask: 6, size: 64 });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

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

  // one more epoch from the checkpoint
  const again = run('train', '--dataset', 'bp4d', '--root', data, '--fold', '1', ...small, '--epochs', '2', '--out', out, '--resume', '--no-eval', '--json');
  assert.is(again.status, 0, again.stderr);
  assert.is(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs.length, 2);
  assert.not.match(again.stderr, /epoch 1\/2/, 'the resumed run does not repeat epoch 1');
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

test('errors: missing flags, unknown dataset, bad fold, missing images exit 2 with one line', () => {
  for (const [args, pattern, status] of [
    [['train', '--dataset', 'bp4d', '--root', data], /--out is required/],
    [['train', '--dataset', 'ck+', '--root', data, '--out', join(dir, 'x')], /--dataset: expected one of synthetic, bp4d/],
    [['train', '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'x'), '--fold', '4', ...small], /fold: expected 1, 2 or 3/],
    [['train', '--dataset', 'bp4d', '--root', dir, '--out', join(dir, 'x')], /AUCoding/],
    [['train', '--dataset', 'bp4d', '--root', data, '--out', join(dir, 'x'), '--micro-batch', '0'], /--micro-batch: expected a positive integer; got "0"/],
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
