/** `sacl-au reproduce`: the paper's Tables 5, 6, 7 and 9 in one command (the runs: src/run/reproduce.ts). */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDataset } from '../data/open.js';
import { initTf } from '../tf/engine.js';
import { PAPER_TRAINING, type TrainOptions } from '../train/trainer.js';
import { reproduce, tableRows, TABLES, type TableNumber, type VariantSize } from '../run/reproduce.js';
import { modelConfig, type ConfigOverrides } from '../model/config.js';
import { asUsage } from '../util/errors.js';
import { DEMO_DATA, DEMO_TRAINING } from '../run/demo.js';
import { foldFlag, numberFlag, requireFlags, UsageError, usageError } from './flags.js';
import { Progress } from '../util/progress.js';
import { openForCli, trainOptionsFrom } from './training-commands.js';

/** Table 7 on the synthetic set: its four core rows, the demo's recipe cut to fit 30 minutes on 2 cores. */
export const SYNTHETIC_TABLE7_ROWS = ['baseline', 'msfl', 'sacl', 'full'];
export const SYNTHETIC_TRAINING: TrainOptions = { ...DEMO_TRAINING, epochs: 16 };

export const REPRODUCE_USAGE = `Usage: sacl-au reproduce --table 5|6|7|9 --dataset synthetic|bp4d|disfa [--root <dir>] --out <dir> [options]

Runs the paper's tables: 5 (BP4D) and 6 (DISFA) train and evaluate the full model on the three folds and
write per-fold and 3-fold mean F1; 7 (ablation of each part) and 9 (fusion, correlation learning way,
distance metric, GCN type, K) train every row on one fold and write F1 with our parameters and FLOPs.
Ours stand beside the paper's numbers in <out>/table<N>.md, .json and .svg.

Each run lives in <out>/table<N>/<row>/ (Tables 5/6: fold<k>/) with its checkpoint, model and report.
A run whose report exists is skipped; an interrupted one resumes from its last epoch, so the same
command continues a table. A run refuses to resume with other settings.

Table 7 rows: ${tableRows(7).map((r) => r.id).join(', ')}
Table 9 rows: ${tableRows(9).map((r) => r.id).join(', ')}

Options:
  --table 5|6|7|9
  --dataset <kind>      synthetic: the built-in set (${DEMO_DATA.subjects} subjects × ${DEMO_DATA.tasks} tasks × ${DEMO_DATA.framesPerTask} frames), generated
                        into <out>/data unless --root names a folder; defaults then: --variant-size tiny,
                        ${SYNTHETIC_TRAINING.epochs} epochs at peak lr ${SYNTHETIC_TRAINING.lr}, and Table 7's rows ${SYNTHETIC_TABLE7_ROWS.join(', ')}
  --fold 1|2|3          the fold of Tables 7/9 (default 1)
  --rows <id,id,…>      only these rows (default: all of the table's)
  --variant-size paper|tiny
                        tiny: the tiny preset's input, backbone and widths applied to every row's variant
  --input <px>          input side of every row (after --variant-size)
  --init <model dir>    every run starts from this model's weights (DISFA from BP4D)
  --epochs, --lr, --batch-size, --micro-batch, --momentum, --weight-decay, --clip, --warmup-epochs,
  --seed, --no-augment, --skip-bad: as sacl-au train (Table 7's first row never augments)
  --config <file.json>  its "training" options (rows pick their own model config)
  --json                the summary as one JSON line on stdout`;

export const REPRODUCE_FLAGS = {
  table: { type: 'string' }, dataset: { type: 'string' }, root: { type: 'string' }, out: { type: 'string' }, fold: { type: 'string' },
  rows: { type: 'string' }, 'variant-size': { type: 'string' }, input: { type: 'string' }, init: { type: 'string' }, config: { type: 'string' },
  epochs: { type: 'string' }, lr: { type: 'string' }, 'batch-size': { type: 'string' }, 'micro-batch': { type: 'string' }, momentum: { type: 'string' },
  'weight-decay': { type: 'string' }, clip: { type: 'string' }, 'warmup-epochs': { type: 'string' }, seed: { type: 'string' },
  'no-augment': { type: 'boolean' }, 'skip-bad': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export async function reproduceCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: REPRODUCE_FLAGS, strict: true });
  if (values.help) return process.stdout.write(`${REPRODUCE_USAGE}\n`), 0;
  requireFlags(values, ['table', 'dataset', 'out'], 'reproduce');
  const table = Number(values.table) as TableNumber;
  if (!TABLES.includes(table)) throw usageError('--table', `one of ${TABLES.join(', ')}`, JSON.stringify(values.table));
  const synthetic = values.dataset === 'synthetic';
  if (!synthetic && !values.root) throw new UsageError('--root is required for bp4d and disfa (sacl-au reproduce --help)');
  const size = (values['variant-size'] ?? (synthetic ? 'tiny' : 'paper')) as VariantSize;
  if (size !== 'paper' && size !== 'tiny') throw usageError('--variant-size', 'paper or tiny', JSON.stringify(size));
  const fold = foldFlag(values.fold);
  const input = numberFlag('input', values.input, { integer: true, min: 1 });
  const overrides: ConfigOverrides = input === undefined ? {} : { inputSize: input };
  asUsage(() => modelConfig('full', overrides), '--input: ');
  const rows = values.rows ? values.rows.split(',').map((r) => r.trim()).filter(Boolean) : synthetic && table === 7 ? SYNTHETIC_TABLE7_ROWS : undefined;
  const training = trainOptionsFrom(values, synthetic ? SYNTHETIC_TRAINING : PAPER_TRAINING);
  const out = resolve(values.out!);
  const started = Date.now();
  const tfReport = await initTf();
  process.stderr.write(`tfjs backend: ${tfReport.active} (${tfReport.reason})\n`);
  let dataset;
  if (synthetic) {
    const bar = new Progress('synthetic faces', DEMO_DATA.subjects * DEMO_DATA.tasks * DEMO_DATA.framesPerTask, 'images');
    let drew = false;
    dataset = await openDataset('synthetic', values.root ? resolve(values.root) : join(out, 'data'), { ...DEMO_DATA, onProgress: (d) => { drew = true; bar.update(d); } });
    if (drew) bar.finish();
  } else {
    dataset = await openForCli(values.dataset!, values.root!);
  }
  const summary = await reproduce({ table, dataset, out, training, fold, size, overrides, ...(rows && { rows }), ...(values.init && { init: resolve(values.init) }),
    skipBad: Boolean(values['skip-bad']), log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`Table ${table}: ${summary.rows.length} rows in ${((Date.now() - started) / 60000).toFixed(1)} min\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.stdout.write(`${summary.files[0]}\n`);
  return 0;
}
