/** `sacl-au reproduce`: the tables' rows and configs, the paper's numbers, and small runs (layout, skip when done, resume). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readBp4dLayout } from '../../dist/data/bp4d-layout.js';
import { modelConfig } from '../../dist/model/index.js';
import { reproduce, rowConfig, tableRows } from '../../dist/run/reproduce.js';
import { PAPER_TABLE7, PAPER_TABLE9 } from '../../dist/report/paper.js';
import { useWasm } from '../model/helpers.js';
import { runCli as run, withSyntheticData } from '../helpers/cli.js';

const small = ['--variant-size', 'tiny', '--input', '48', '--batch-size', '4', '--lr', '0.05'];

/** Leaf paths where two configs differ (a null against an object counts once, at its own path). */
function differences(a, b, path = '') {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
  }
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
}

const rows = suite('reproduce: rows, configs and the paper\'s numbers');

rows('at the tiny size every row differs from the full model exactly where it does at the paper\'s size', () => {
  const tiny = modelConfig('tiny');
  for (const table of [7, 9]) {
    for (const row of tableRows(table)) {
      const small = rowConfig(row, 'tiny');
      const paper = rowConfig(row, 'paper');
      assert.is(small.inputSize, tiny.inputSize, row.id);
      assert.equal(small.backbone, tiny.backbone, row.id);
      const ignore = (p) => p !== 'variant' && !(row.variant === 'transformer' && /^sacl\.(widths|groups|ffnRatio)$/.test(p));
      assert.equal(differences(small, rowConfig({ variant: 'full' }, 'tiny')).filter(ignore).sort(),
        differences(paper, rowConfig({ variant: 'full' }, 'paper')).filter(ignore).sort(), `${table}/${row.id}`);
    }
  }
  assert.equal(rowConfig({ variant: 'full' }, 'tiny').sacl.widths, tiny.sacl.widths);
  assert.is(rowConfig({ variant: 'full', sacl: { metric: 'cosine' } }, 'tiny').sacl.metric, 'cosine');
  assert.is(rowConfig({ variant: 'baseline' }, 'tiny').sacl, null, 'no SACL grows on a variant without it');
  assert.is(rowConfig({ variant: 'baseline' }, 'tiny').classifier.hidden, 0);
  const transformer = rowConfig({ variant: 'transformer' }, 'tiny').sacl;
  assert.is(transformer.layer, 'transformer');
  assert.ok(transformer.widths[0] < modelConfig('transformer').sacl.widths[0], 'the Transformer narrows with the rest');
});

rows('Table 7/9 rows: Table 7\'s first row alone goes without augmentation; Table 9 reuses the full run for its four reference rows', () => {
  const t7 = tableRows(7);
  assert.equal(t7.map((r) => r.variant), ['baseline', 'baseline', 'msfl', 'sacl', 'fbg', 'sbg', 'full']);
  assert.equal(t7.filter((r) => r.augment === false).map((r) => r.id), ['baseline-no-da']);
  const t9 = tableRows(9);
  assert.equal(t9.filter((r) => r.run === 'full').map((r) => r.id), ['concat', 'gcn', 'euclidean', 'max-relative', 'k9']);
  assert.equal(tableRows(5).map((r) => r.fold), [1, 2, 3]);
});

rows('the paper\'s Table 7 and 9 rows average to their printed Avg. (transcription check)', () => {
  for (const [name, table] of [['7', PAPER_TABLE7], ['9', PAPER_TABLE9]]) {
    for (const [id, row] of Object.entries(table)) {
      assert.is(row.f1.length, 12, `${name}/${id}`);
      const mean = row.f1.reduce((a, v) => a + v, 0) / 12;
      assert.ok(Math.abs(mean - row.mean) <= 0.06, `Table ${name} ${id}: mean of the AUs ${mean.toFixed(2)} vs Avg. ${row.mean}`);
    }
  }
  assert.is(PAPER_TABLE7.full.params, 27.1);
  assert.is(PAPER_TABLE9.transformer.flops, 3.41);
});

rows.run();

const runs = suite('sacl-au reproduce: small runs');
let dir;
let data;
withSyntheticData(runs, 'sacl-reproduce-', (folder) => ({ dir, data } = folder));

runs('Table 7, two rows: run folders, the table in the paper\'s layout, JSON and SVG; a second call skips both', () => {
  const out = join(dir, 'out');
  const args = ['reproduce', '--table', '7', '--dataset', 'bp4d', '--root', data, '--out', out, '--rows', 'baseline-no-da,sacl', ...small, '--epochs', '1'];
  const r = run(...args, '--json');
  assert.is(r.status, 0, r.stderr);
  for (const row of ['baseline-no-da', 'sacl']) {
    for (const f of ['run.json', 'checkpoint/state.json', 'model/model.json', 'history.json', 'report/metrics.json']) assert.ok(existsSync(join(out, 'table7', row, f)), `${row}/${f}`);
  }
  const summary = JSON.parse(r.stdout.trim().split('\n')[0]);
  assert.equal(summary.rows.map((x) => [x.id, x.status]), [['baseline-no-da', 'trained'], ['sacl', 'trained']]);
  const report = JSON.parse(readFileSync(join(out, 'table7', 'sacl', 'report', 'metrics.json'), 'utf8'));
  assert.is(summary.rows[1].meanF1, report.meanF1, 'the table carries the run\'s own report');
  assert.equal(summary.rows[1].perAu, report.perAu.map((a) => a.f1));
  assert.ok(summary.rows[1].params > summary.rows[0].params && summary.rows[1].flops > summary.rows[0].flops, 'SACL adds parameters and FLOPs');
  assert.is(JSON.parse(readFileSync(join(out, 'table7', 'baseline-no-da', 'checkpoint', 'state.json'), 'utf8')).options.augment, false);
  assert.is(JSON.parse(readFileSync(join(out, 'table7', 'sacl', 'checkpoint', 'state.json'), 'utf8')).options.augment, true);
  assert.is(r.stdout.trim().split('\n').at(-1), join(out, 'table7.md'));

  const md = readFileSync(join(out, 'table7.md'), 'utf8');
  assert.match(md, /^\| Setting \| AU1 \| AU2 \| AU4 \| AU6 \| AU7 \| AU10 \| AU12 \| AU14 \| AU15 \| AU17 \| AU23 \| AU24 \| Avg\. \| Params \(M\) \| FLOPs \(G\) \|$/m);
  const line = md.split('\n').find((l) => l.startsWith('| Baseline*+SACL |'));
  assert.ok(line, md);
  const cells = line.split('|').slice(2, -1).map((c) => c.trim());
  assert.is(cells.length, 15);
  assert.is(cells[12], `${(100 * report.meanF1).toFixed(1)} (62.7)`);
  assert.match(cells[13], /^\d+\.\d{3} \(24\.2\)$/);
  assert.match(md, /^\| Baseline \| .* \(60\.4\) \| \d+\.\d{3} \(—\) \|/m);
  const svg = readFileSync(join(out, 'table7.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.is((svg.match(/<rect x=/g) ?? []).length, 4, 'two rows × (ours, paper)');

  const before = statSync(join(out, 'table7', 'sacl', 'report', 'metrics.json')).mtimeMs;
  const again = run(...args);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /table 7 baseline-no-da: done, skipped/);
  assert.match(again.stderr, /table 7 sacl: done, skipped/);
  assert.not.match(again.stderr, /epoch 1\/1/);
  assert.is(statSync(join(out, 'table7', 'sacl', 'report', 'metrics.json')).mtimeMs, before);
  assert.equal(readFileSync(join(out, 'table7.md'), 'utf8'), md, 'the same table from the skipped runs');

  const other = run(...args.map((a) => (a === '1' ? '2' : a)));
  assert.is(other.status, 2, other.stderr);
  assert.match(other.stderr, /table7\/baseline-no-da\/run\.json: this run was started with another training/);
});

runs('an interrupted run resumes from its checkpoint and is then evaluated', async () => {
  await useWasm();
  const out = join(dir, 'resume');
  const dataset = await readBp4dLayout(data, 'synthetic');
  const training = { ...(await import('../../dist/train/trainer.js')).PAPER_TRAINING, epochs: 2, batchSize: 4, lr: 0.05 };
  const first = await reproduce({ table: 7, dataset, out, training, size: 'tiny', overrides: { inputSize: 48 }, rows: ['msfl'], stopAfterEpochs: 1 });
  assert.is(first.rows[0].status, 'interrupted');
  assert.is(first.rows[0].meanF1, null);
  assert.ok(existsSync(join(out, 'table7', 'msfl', 'checkpoint', 'state.json')));
  assert.not.ok(existsSync(join(out, 'table7', 'msfl', 'report')));
  assert.match(readFileSync(join(out, 'table7.md'), 'utf8'), /Baseline\*\+MSFL \(interrupted\)/);

  const args = ['reproduce', '--table', '7', '--dataset', 'bp4d', '--root', data, '--out', out, '--rows', 'msfl', ...small, '--epochs', '2'];
  const other = run(...args, '--no-augment');
  assert.is(other.status, 2, 'other training options are refused');
  const again = run(...args);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /table 7 msfl: resuming/);
  assert.not.match(again.stderr, /epoch 1\/2/, 'epoch 1 is not trained again');
  assert.match(again.stderr, /epoch 2\/2/);
  assert.is(JSON.parse(readFileSync(join(out, 'table7', 'msfl', 'history.json'), 'utf8')).epochs.length, 2);
  assert.ok(existsSync(join(out, 'table7', 'msfl', 'report', 'metrics.json')));
});

runs('Table 5: three folds, per-fold rows and the 3-fold mean beside the paper\'s; Table 6 refuses BP4D\'s AU set', () => {
  const out = join(dir, 'folds');
  const r = run('reproduce', '--table', '5', '--dataset', 'bp4d', '--root', data, '--out', out, ...small, '--epochs', '1', '--json');
  assert.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n')[0]);
  assert.equal(s.rows.map((x) => x.fold), [1, 2, 3]);
  for (const k of [1, 2, 3]) assert.ok(existsSync(join(out, 'table5', `fold${k}`, 'report', 'metrics.json')));
  s.aus.forEach((_, i) => assert.ok(Math.abs(s.mean.perAu[i] - (s.rows[0].perAu[i] + s.rows[1].perAu[i] + s.rows[2].perAu[i]) / 3) < 1e-12));
  assert.ok(Math.abs(s.mean.meanF1 - s.mean.perAu.reduce((a, v) => a + v, 0) / 12) < 1e-12);
  assert.ok(Math.abs(s.paper.meanF1 - 0.656) < 1e-12);
  const md = readFileSync(join(out, 'table5.md'), 'utf8');
  assert.match(md, /^\| Run \| AU1 \|/m);
  assert.match(md, new RegExp(`^\\| \\*\\*3-fold mean\\*\\* \\| .* \\| \\*\\*${(100 * s.mean.meanF1).toFixed(1)}\\*\\* \\|$`, 'm'));
  assert.match(md, /^\| paper \(Table 5\) \| 57\.8 \| 48\.8 \| .* \| 65\.6 \|$/m);

  const six = run('reproduce', '--table', '6', '--dataset', 'bp4d', '--root', data, '--out', out, ...small);
  assert.is(six.status, 2);
  assert.match(six.stderr, /Expected one with DISFA's AU set for the dataset of Table 6 but received one with bp4d's/);
});

runs.run();
