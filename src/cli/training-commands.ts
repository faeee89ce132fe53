/** `sacl-au train`, `eval`: the training engine and the evaluator from the command line (predict: predict-command.ts). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuModel } from '../model/model.js';
import { foldSplit, type AuDataset } from '../data/dataset.js';
import { openDataset } from '../data/open.js';
import { initTf } from '../tf/engine.js';
import { PAPER_TRAINING, type TrainOptions } from '../train/trainer.js';
import { badImageLog, configForDataset, evaluateInto, initFrom, trainAndEvaluate } from '../run/pipeline.js';
import { MODEL_FLAGS, configFromFlags } from './model-command.js';
import type { ConfigOverrides } from '../model/config.js';
import { numberFlag } from './flags.js';
import { lateProgress } from './progress.js';

type Values = Record<string, string | boolean | undefined>;

const num = (values: Values, name: string, fallback: number, integer = false): number => numberFlag(name, values[name], { integer }) ?? fallback;

/** Training options: paper defaults ← config file's "training" ← flags. */
export function trainOptionsFrom(values: Values, base: TrainOptions = PAPER_TRAINING): TrainOptions {
  const file = values.config ? readConfigFile(String(values.config)) : {};
  const o = { ...base, ...(file.training ?? {}) } as TrainOptions;
  return {
    ...o,
    epochs: num(values, 'epochs', o.epochs, true),
    batchSize: Math.max(1, num(values, 'batch-size', o.batchSize, true)),
    lr: num(values, 'lr', o.lr),
    momentum: num(values, 'momentum', o.momentum),
    weightDecay: num(values, 'weight-decay', o.weightDecay),
    clipNorm: num(values, 'clip', o.clipNorm),
    warmupEpochs: num(values, 'warmup-epochs', o.warmupEpochs),
    seed: num(values, 'seed', o.seed, true),
    augment: values['no-augment'] ? false : o.augment,
    microBatch: numberFlag('micro-batch', values['micro-batch'], { integer: true, min: 1 }) ?? o.microBatch ?? 0,
  };
}

function readConfigFile(file: string): { variant?: string; model?: Record<string, unknown>; training?: Partial<TrainOptions> } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { variant?: string; model?: Record<string, unknown>; training?: Partial<TrainOptions> };
  } catch (e) {
    throw new RangeError(`--config: cannot read ${file} (${(e as Error).message})`);
  }
}

export const TRAIN_FLAGS = {
  ...MODEL_FLAGS,
  dataset: { type: 'string' }, root: { type: 'string' }, fold: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' },
  epochs: { type: 'string' }, lr: { type: 'string' }, 'batch-size': { type: 'string' }, momentum: { type: 'string' },
  'weight-decay': { type: 'string' }, clip: { type: 'string' }, 'warmup-epochs': { type: 'string' }, seed: { type: 'string' },
  'micro-batch': { type: 'string' }, 'no-augment': { type: 'boolean' }, resume: { type: 'boolean' }, init: { type: 'string' }, 'skip-bad': { type: 'boolean' }, 'no-eval': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export const TRAIN_USAGE = `Usage: sacl-au train --dataset synthetic|bp4d|disfa --root <dir> [--fold 1|2|3] [--variant <name>] --out <dir> [options]

The format under --root is detected and named: BP4D's layout (AUCoding/; landmarks from Landmarks/*.csv
or 2DFeatures/*.mat), DISFA's (ActionUnit_Labels/; landmarks from Landmarks/*.csv or Landmark_Points/),
ME-GraphAU's list/ files, or JAA-Net's <DS>_part<k>_*.txt lists. Trains on the fold's training subjects
(ME-GraphAU naming: fold 1 tests part 3, fold 2 part 2, fold 3 part 1), checkpoints every epoch into
<out>/checkpoint, saves <out>/model, then evaluates on the fold's test subjects into <out>/report
(unless --no-eval).

Options (defaults: the paper's protocol):
  --epochs <n>          12          --lr <peak>           0.001 (cosine, linear warm-up)
  --batch-size <n>      16          --warmup-epochs <n>   1
  --momentum <m>        0.9         --weight-decay <w>    0.0005
  --clip <norm>         5           --seed <n>            1
  --micro-batch <n>     run each batch as passes of at most n images, gradients summed before the step
                        (memory: the full model at 224 px fits wasm's heap at 2; BatchNorm then sees n)
  --no-augment          no crop/flip/jitter
  --resume              continue from <out>/checkpoint exactly
  --skip-bad            an unreadable image is logged, counted and masked out instead of stopping the run
  --init <model dir>    start from a saved model's weights (DISFA from BP4D: per-AU heads mapped as JAA-Net,
                        AU25 ← AU23, AU26 ← AU17, AU9 fresh)
  --config <file.json>  { "variant": …, "model": { …overrides }, "training": { …options } }; flags win
  --variant, --input, --gcn, --metric, --fusion, --stages, --k, --fbg, --sbg, --sbg-threshold, --roi-size,
  --au-set: see sacl-au model --help
  --json                one JSON summary line on stdout`;

/** Model config: variant and overrides from the config file, then the flags. */
function modelConfigFrom(values: Values) {
  const file = values.config ? readConfigFile(String(values.config)) : {};
  return configFromFlags({ ...values, variant: (values.variant as string | undefined) ?? file.variant ?? 'full' }, (file.model ?? {}) as ConfigOverrides);
}

/** The dataset under --root, its format named on stderr, with a progress bar when reading it takes a while. */
export async function openForCli(kind: string, root: string): Promise<AuDataset> {
  const reading = lateProgress('read', 'sequences');
  try {
    return await openDataset(kind, resolve(root), {}, (l) => process.stderr.write(`${l}\n`), reading.update);
  } finally {
    reading.finish(); // ends the bar's line before an error is printed, too
  }
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: TRAIN_FLAGS, strict: true });
  if (values.help) return process.stdout.write(`${TRAIN_USAGE}\n`), 0;
  for (const req of ['dataset', 'root', 'out'] as const) if (!values[req]) throw new TypeError(`--${req} is required (sacl-au train --help)`);
  const fold = num(values, 'fold', 1, true);
  const options = trainOptionsFrom(values);
  const config = modelConfigFrom(values);
  const tfReport = await initTf();
  process.stderr.write(`tfjs backend: ${tfReport.active}\n`);
  const dataset = await openForCli(String(values.dataset), String(values.root));
  configForDataset(config, dataset, fold);
  const model = new AuModel(config, options.seed);
  try {
    if (values.init) await initFrom(model, resolve(String(values.init)));
    const r = await trainAndEvaluate({ model, dataset, fold, options, out: resolve(String(values.out)), resume: Boolean(values.resume),
      evaluate: !values['no-eval'], title: `sacl-au ${config.variant} on ${dataset.name}, fold ${fold}`, skipBad: Boolean(values['skip-bad']) });
    if (values.json) process.stdout.write(`${JSON.stringify({ model: r.modelDir, report: r.reportDir, meanF1: r.meanF1, alwaysPresentMeanF1: r.alwaysPresentMeanF1 })}\n`);
    else process.stdout.write(`${r.reportDir ?? r.modelDir}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}

export const EVAL_USAGE = `Usage: sacl-au eval --model <dir> --dataset synthetic|bp4d|disfa --root <dir> [--fold 1|2|3] --out <dir> [--skip-bad] [--json]

Evaluates a saved model on the fold's test subjects: per-AU F1 and accuracy (threshold 0.5, unknown labels
left out), mean F1, the paper's row when the AU set matches; writes metrics.json/.md/.csv, predictions.csv
and figures into <out>.`;

export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, dataset: { type: 'string' }, root: { type: 'string' },
    fold: { type: 'string' }, out: { type: 'string' }, 'skip-bad': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) return process.stdout.write(`${EVAL_USAGE}\n`), 0;
  for (const req of ['model', 'dataset', 'root', 'out'] as const) if (!values[req]) throw new TypeError(`--${req} is required (sacl-au eval --help)`);
  await initTf();
  const fold = num(values, 'fold', 1, true);
  const dataset = await openForCli(String(values.dataset), String(values.root));
  const model = await AuModel.load(resolve(String(values.model)));
  try {
    const { test } = foldSplit(dataset, fold);
    const bad = values['skip-bad'] ? badImageLog() : null;
    const r = await evaluateInto({ model, dataset, samples: test, reportDir: resolve(String(values.out)), title: `sacl-au ${model.config.variant} on ${dataset.name}, fold ${fold}`, extra: { fold }, bad });
    if (values.json) process.stdout.write(`${JSON.stringify({ report: resolve(String(values.out)), ...r })}\n`);
    else process.stdout.write(`${resolve(String(values.out))}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}
