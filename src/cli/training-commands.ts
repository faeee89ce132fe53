/** `sacl-au train`, `eval`, `predict`: the training engine and the evaluator from the command line. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuModel } from '../model/model.js';
import { loadBackboneWeights, type BackboneLoadReport } from '../model/pretrained.js';
import { readStateDict } from '../tf/state-dict.js';
import { foldSplit, UNKNOWN, type AuDataset, type AuSample } from '../data/dataset.js';
import { openDataset } from '../data/open.js';
import { initTf } from '../tf/engine.js';
import { writeFileAtomic } from '../util/fs.js';
import { predictSamples } from '../train/evaluate.js';
import { PAPER_TRAINING, type TrainOptions } from '../train/trainer.js';
import { predictionsCsv } from '../report/report.js';
import { badImageLog, configForDataset, evaluateInto, initFrom, trainAndEvaluate } from '../run/pipeline.js';
import { MODEL_FLAGS, configFromFlags } from './model-command.js';
import type { ConfigOverrides } from '../model/config.js';
import { numberFlag } from './flags.js';
import { lateProgress, Progress } from './progress.js';

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
  'micro-batch': { type: 'string' }, 'no-augment': { type: 'boolean' }, resume: { type: 'boolean' }, init: { type: 'string' }, backbone: { type: 'string' }, 'skip-bad': { type: 'boolean' }, 'no-eval': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
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
                        AU25 ← AU23, AU26 ← AU17, AU9 fresh). The fine-tuning schedule is the options
                        above: by default the paper's full one again (12 epochs, peak 0.001, 1 warm-up
                        epoch); set it with --epochs, --lr and --warmup-epochs
  --backbone <file>     start the backbone from ImageNet ResT weights: the authors' PyTorch state dict (.pth,
                        from torch.save) or a .safetensors file; names and shapes that do not fit are listed
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

/** What `--backbone` loaded, on stderr: counts, then the names that did not fit (the first ten of each). */
export function backboneSummary(r: BackboneLoadReport): string {
  const list = (names: string[]) => `${names.slice(0, 10).join(', ')}${names.length > 10 ? `, … (${names.length})` : ''}`;
  let text = `backbone from ${r.file} (${r.format}): ${r.assigned} tensors loaded, ${r.missing.length} missing, ${r.unused.length} unused, `
    + `${r.mismatched.length} of another shape, ${r.skipped} num_batches_tracked skipped\n`;
  if (r.missing.length) text += `  missing (left at their initialization): ${list(r.missing)}\n`;
  if (r.unused.length) text += `  unused: ${list(r.unused)}\n`;
  for (const m of r.mismatched.slice(0, 10)) text += `  shape: ${m.name} is [${m.got.join(', ')}] in the file; the model needs [${m.expected.join(', ')}] (PyTorch layout)\n`;
  return text;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: TRAIN_FLAGS, strict: true });
  if (values.help) return process.stdout.write(`${TRAIN_USAGE}\n`), 0;
  for (const req of ['dataset', 'root', 'out'] as const) if (!values[req]) throw new TypeError(`--${req} is required (sacl-au train --help)`);
  if (values.backbone && values.init) throw new TypeError('--backbone and --init both set the backbone\'s weights: give one');
  const fold = num(values, 'fold', 1, true);
  const options = trainOptionsFrom(values);
  // read (and so check) the weights file before the dataset, which can take minutes
  const pretrained = values.backbone ? readStateDict(resolve(String(values.backbone))) : null;
  const config = modelConfigFrom(values);
  const tfReport = await initTf();
  process.stderr.write(`tfjs backend: ${tfReport.active} (${tfReport.reason})\n`);
  const dataset = await openForCli(String(values.dataset), String(values.root));
  configForDataset(config, dataset, fold);
  const model = new AuModel(config, options.seed);
  try {
    if (pretrained) process.stderr.write(backboneSummary(loadBackboneWeights(model.store, pretrained)));
    if (values.init) {
      await initFrom(model, resolve(String(values.init)));
      process.stderr.write(`fine-tuning: ${options.epochs} epochs, peak lr ${options.lr}, ${options.warmupEpochs} warm-up epochs (--epochs, --lr, --warmup-epochs)\n`);
    }
    const r = await trainAndEvaluate({ model, dataset, fold, options, out: resolve(String(values.out)), resume: Boolean(values.resume),
      evaluate: !values['no-eval'], title: `sacl-au ${config.variant} on ${dataset.name}, fold ${fold}`, skipBad: Boolean(values['skip-bad']),
      ...(values.init && { extra: { init: resolve(String(values.init)) } }) });
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

export const PREDICT_USAGE = `Usage: sacl-au predict --model <dir> <image|folder>... [--out <file.csv>]

AU probabilities for aligned face images (any size; resized to the model's aligned size, centre-cropped),
one CSV row per image with OpenFace-style columns: file, AU01_p … (probability), AU01_c … (presence at 0.5).
Writes to --out (atomically) or stdout.`;

const IMAGE = /\.(jpe?g|png|webp|bmp|tiff?)$/i;

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { model: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (values.help) return process.stdout.write(`${PREDICT_USAGE}\n`), 0;
  if (!values.model) throw new TypeError('--model is required (sacl-au predict --help)');
  const files = positionals.flatMap((p) => {
    if (!existsSync(p)) throw new RangeError(`${p}: no such file or folder`);
    return statSync(p).isDirectory() ? readdirSync(p).filter((f) => IMAGE.test(f)).sort().map((f) => join(p, f)) : [p];
  });
  if (files.length === 0) throw new RangeError('predict: no images given (files or folders of .jpg/.png/.webp/.bmp/.tif)');
  await initTf();
  const model = await AuModel.load(resolve(values.model));
  try {
    const { AU_SETS } = await import('../face/au.js');
    const aus = AU_SETS[model.config.auSet];
    const samples: AuSample[] = files.map((f) => ({ id: f, subject: '', imagePath: f, landmarks: null, labels: new Int8Array(aus.length).fill(UNKNOWN) }));
    const bar = new Progress('predict', samples.length, 'images');
    const p = await predictSamples(model, samples, { onProgress: (d) => bar.update(d) });
    bar.finish();
    const csv = predictionsCsv(aus, p, { labels: false, subject: false, idColumn: 'file' });
    if (values.out) await writeFileAtomic(resolve(values.out), csv);
    else process.stdout.write(csv);
    return 0;
  } finally {
    model.dispose();
  }
}
