/** `sacl-au train`, `eval`: the training engine and the evaluator from the command line (predict: predict-command.ts). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuModel } from '../model/model.js';
import { loadBackboneWeights, type BackboneLoadReport } from '../model/pretrained.js';
import { readStateDict } from '../tf/state-dict.js';
import { foldSplit, type AuDataset } from '../data/dataset.js';
import { openDataset } from '../data/open.js';
import { initTf } from '../tf/engine.js';
import { PAPER_TRAINING, hasCheckpoint, readCheckpoint, type CheckpointRecord, type TrainOptions } from '../train/trainer.js';
import { badImageLog, configForDataset, evaluateInto, initFrom, trainAndEvaluate } from '../run/pipeline.js';
import { MODEL_FLAGS, configFromFlags } from './model-command.js';
import { savedConfig, type ConfigOverrides, type ModelConfig } from '../model/config.js';
import { asUsage } from '../util/errors.js';
import { foldFlag, numberFlag, requireFlags, UsageError, usageError } from './flags.js';
import { lateProgress } from './progress.js';

type Values = Record<string, string | boolean | undefined>;

/**
 * Training options and how each is given: flag, config-file key, and the check both pass through
 * (`--config`'s values are checked exactly like the flags').
 */
const OPTION_FLAGS: readonly { key: Exclude<keyof TrainOptions, 'lossWeights' | 'augment'>; flag: string; integer?: boolean; min?: number }[] = [
  { key: 'epochs', flag: 'epochs', integer: true },
  { key: 'batchSize', flag: 'batch-size', integer: true, min: 1 },
  { key: 'lr', flag: 'lr' },
  { key: 'momentum', flag: 'momentum' },
  { key: 'weightDecay', flag: 'weight-decay' },
  { key: 'clipNorm', flag: 'clip' },
  { key: 'warmupEpochs', flag: 'warmup-epochs' },
  { key: 'seed', flag: 'seed', integer: true },
  { key: 'microBatch', flag: 'micro-batch', integer: true, min: 1 },
];

/** The flag that sets a training option, for messages. */
export function optionFlag(key: string): string {
  if (key === 'augment') return '--no-augment';
  if (key === 'lossWeights') return '--config training.lossWeights';
  const f = OPTION_FLAGS.find((o) => o.key === key);
  return f ? `--${f.flag}` : key;
}

/** A config file's "training" section, every value checked as its flag would be. */
function fileTrainingOptions(file: string, training: unknown): Partial<TrainOptions> {
  if (training === undefined) return {};
  if (training === null || typeof training !== 'object' || Array.isArray(training)) {
    throw usageError(`training in --config ${file}`, 'an object', JSON.stringify(training));
  }
  const out: Partial<TrainOptions> = {};
  for (const [key, value] of Object.entries(training)) {
    const name = `training.${key} in --config ${file}`;
    const option = OPTION_FLAGS.find((o) => o.key === key);
    if (option) {
      const v = typeof value === 'number' ? numberFlag(option.flag, String(value), { integer: option.integer ?? false, min: option.key === 'microBatch' ? 0 : option.min ?? 0 }, name) : undefined;
      if (v === undefined) throw usageError(name, 'a number', JSON.stringify(value));
      (out as Record<string, number>)[key] = v;
    } else if (key === 'augment') {
      if (typeof value !== 'boolean') throw usageError(name, 'true or false', JSON.stringify(value));
      out.augment = value;
    } else if (key === 'lossWeights') {
      const w = value as Record<string, unknown> | null;
      const keys = ['asymmetric', 'dice', 'landmarks'];
      if (w === null || typeof w !== 'object' || Object.keys(w).some((k) => !keys.includes(k))
        || keys.some((k) => typeof w[k] !== 'number' || !Number.isFinite(w[k]) || (w[k] as number) < 0)) {
        throw usageError(name, '{ "asymmetric", "dice", "landmarks" } of non-negative numbers', JSON.stringify(value));
      }
      out.lossWeights = w as unknown as TrainOptions['lossWeights'];
    } else {
      throw usageError(`a key of training in --config ${file}`, `one of ${[...OPTION_FLAGS.map((o) => o.key), 'augment', 'lossWeights'].join(', ')}`, JSON.stringify(key));
    }
  }
  return out;
}

/** Training options: `base` (paper defaults) ← config file's "training" ← flags; every value checked. */
export function trainOptionsFrom(values: Values, base: TrainOptions = PAPER_TRAINING): TrainOptions {
  const file = values.config ? readConfigFile(String(values.config)) : {};
  const o: TrainOptions = { ...base, microBatch: base.microBatch ?? 0, ...fileTrainingOptions(String(values.config), file.training) };
  for (const { key, flag, integer = false, min = 0 } of OPTION_FLAGS) {
    const v = numberFlag(flag, values[flag], { integer, min });
    if (v !== undefined) o[key] = v;
  }
  if (values['no-augment']) o.augment = false;
  return o;
}

type ConfigFile = { variant?: string; model?: Record<string, unknown>; training?: unknown };

function readConfigFile(file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--config: cannot read ${file} (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw usageError(`--config ${file}`, 'a JSON object', JSON.stringify(json));
  const c = json as Record<string, unknown>;
  const unknown = Object.keys(c).filter((k) => !['variant', 'model', 'training'].includes(k));
  if (unknown.length) throw usageError(`--config ${file}`, 'the keys variant, model, training', unknown.map((k) => JSON.stringify(k)).join(', '));
  if (c.variant !== undefined && typeof c.variant !== 'string') throw usageError(`variant in --config ${file}`, 'a string', JSON.stringify(c.variant));
  if (c.model !== undefined && (c.model === null || typeof c.model !== 'object' || Array.isArray(c.model))) {
    throw usageError(`model in --config ${file}`, 'an object', JSON.stringify(c.model));
  }
  return c as ConfigFile;
}

export const TRAIN_FLAGS = {
  ...MODEL_FLAGS,
  dataset: { type: 'string' }, root: { type: 'string' }, fold: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' },
  epochs: { type: 'string' }, lr: { type: 'string' }, 'batch-size': { type: 'string' }, momentum: { type: 'string' },
  'weight-decay': { type: 'string' }, clip: { type: 'string' }, 'warmup-epochs': { type: 'string' }, seed: { type: 'string' },
  'micro-batch': { type: 'string' }, 'no-augment': { type: 'boolean' }, resume: { type: 'boolean' }, overwrite: { type: 'boolean' }, init: { type: 'string' }, backbone: { type: 'string' }, 'skip-bad': { type: 'boolean' }, 'no-eval': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export const TRAIN_USAGE = `Usage: sacl-au train --dataset synthetic|bp4d|disfa --root <dir> [--fold 1|2|3] [--variant <name>] --out <dir> [options]
       sacl-au train --out <dir> --resume

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
  --resume              continue from <out>/checkpoint exactly, with the dataset, root, fold, model and
                        training options saved in it (flags may repeat them; a different value is refused)
  --overwrite           start again although <out> holds a checkpoint (without it, that is refused)
  --skip-bad            an unreadable image is logged, counted and masked out instead of stopping the run
  --init <model dir>    start from a saved model's weights (DISFA from BP4D: per-AU heads mapped as JAA-Net,
                        AU25 ← AU23, AU26 ← AU17, AU9 fresh). The fine-tuning schedule is the options
                        above: by default the paper's full one again (12 epochs, peak 0.001, 1 warm-up
                        epoch); set it with --epochs, --lr and --warmup-epochs
  --backbone <file>     start the backbone from ImageNet ResT weights: the authors' PyTorch state dict (.pth,
                        from torch.save) or a .safetensors file; names and shapes that do not fit are listed
  --config <file.json>  { "variant": …, "model": { …overrides }, "training": { …options } }; flags win;
                        "training" takes epochs, batchSize, lr, momentum, weightDecay, clipNorm,
                        warmupEpochs, seed, microBatch, augment, lossWeights, checked as the flags are
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

const MODEL_FLAG_NAMES = Object.keys(MODEL_FLAGS);

/** The first top-level field where two model configs differ, for a message. */
function configDifference(saved: Record<string, unknown>, given: Record<string, unknown>): string {
  const key = Object.keys({ ...saved, ...given }).find((k) => JSON.stringify(saved[k]) !== JSON.stringify(given[k])) ?? 'config';
  return `${key} ${JSON.stringify(saved[key])}; the flags give ${JSON.stringify(given[key])}`;
}

/**
 * What a resumed run trains: the dataset, root, fold, options and model config saved with the
 * checkpoint. Flags may repeat them; one that differs is a UsageError naming both values.
 */
function resumeSettings(values: Values, saved: CheckpointRecord): { kind: string; root: string; fold: number; options: TrainOptions } {
  const at = saved.path;
  const run = saved.state.run;
  if (!run) {
    // a checkpoint from before runs were recorded: the flags must say what it trained on
    requireFlags(values, ['dataset', 'root'], 'train');
    return { kind: String(values.dataset), root: resolve(String(values.root)), fold: foldFlag(values.fold), options: trainOptionsFrom(values, saved.state.options) };
  }
  const given = { dataset: values.dataset, root: values.root === undefined ? undefined : resolve(String(values.root)), fold: values.fold === undefined ? undefined : foldFlag(values.fold) };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined && value !== run[key]) {
      throw new UsageError(`--${key} ${JSON.stringify(value)} conflicts with the checkpoint ${at}, which trains ${key} ${JSON.stringify(run[key])}: `
        + 'resume without the flag, or train into another --out');
    }
  }
  const options = trainOptionsFrom(values, saved.state.options);
  for (const key of Object.keys({ ...saved.state.options, ...options }) as (keyof TrainOptions)[]) {
    if (JSON.stringify(options[key] ?? null) !== JSON.stringify(saved.state.options[key] ?? null)) {
      throw new UsageError(`${optionFlag(key)} ${JSON.stringify(options[key])} conflicts with the checkpoint ${at}, which trains with ${JSON.stringify(saved.state.options[key] ?? null)}: `
        + 'resume without the flag, or train into another --out');
    }
  }
  return { kind: String(run.dataset), root: String(run.root), fold: Number(run.fold), options };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: TRAIN_FLAGS, strict: true });
  if (values.help) return process.stdout.write(`${TRAIN_USAGE}\n`), 0;
  requireFlags(values, ['out'], 'train');
  if (values.resume && values.overwrite) throw new UsageError('--resume and --overwrite: give one (continue the checkpoint, or start again over it)');
  if (values.backbone && values.init) throw new UsageError('--backbone and --init both set the backbone\'s weights: give one');
  const out = resolve(String(values.out));
  if (!values.resume && !values.overwrite && hasCheckpoint(out)) {
    throw new UsageError(`${join(out, 'checkpoint')} exists: resume it (--resume) or replace it (--overwrite)`);
  }
  const saved = values.resume ? await readCheckpoint(out) : null;
  if (values.resume && !saved) throw new UsageError(`--resume: ${out} holds no checkpoint to resume (train without --resume to start)`);
  if (!saved) requireFlags(values, ['dataset', 'root'], 'train');
  const { kind, root, fold, options } = saved ? resumeSettings(values, saved)
    : { kind: String(values.dataset), root: resolve(String(values.root)), fold: foldFlag(values.fold), options: trainOptionsFrom(values) };
  const fromFlags = !saved || Boolean(values.config) || MODEL_FLAG_NAMES.some((f) => (values as Values)[f] !== undefined);
  // read (and so check) the weights file before the dataset, which can take minutes
  const pretrained = values.backbone && !saved ? readStateDict(resolve(String(values.backbone))) : null;
  const config = fromFlags ? modelConfigFrom(values) : asUsage(() => savedConfig(structuredClone(saved!.config) as ModelConfig), `${saved!.path}: model config: `);
  const tfReport = await initTf();
  process.stderr.write(`tfjs backend: ${tfReport.active} (${tfReport.reason})\n`);
  const dataset = await openForCli(kind, root);
  asUsage(() => configForDataset(config, dataset, fold));
  if (saved && fromFlags && JSON.stringify(config) !== JSON.stringify(saved.config)) {
    throw new UsageError(`the model flags conflict with the checkpoint ${saved.path}, which trains ${configDifference(saved.config as Record<string, unknown>, config as unknown as Record<string, unknown>)}: `
      + 'resume without model flags, or train into another --out');
  }
  if (saved) process.stderr.write(`resuming ${saved.path}: ${kind} under ${root}, fold ${fold}, ${config.variant} model, ${saved.state.epochsDone} of ${options.epochs} epochs done\n`);
  const model = new AuModel(config, options.seed);
  try {
    if (pretrained) process.stderr.write(backboneSummary(loadBackboneWeights(model.store, pretrained)));
    if (values.init && !saved) {
      await initFrom(model, resolve(String(values.init)));
      process.stderr.write(`fine-tuning: ${options.epochs} epochs, peak lr ${options.lr}, ${options.warmupEpochs} warm-up epochs (--epochs, --lr, --warmup-epochs)\n`);
    }
    const r = await trainAndEvaluate({ model, dataset, fold, options, out, resume: Boolean(saved), overwrite: Boolean(values.overwrite),
      run: { dataset: kind, root, fold }, evaluate: !values['no-eval'], title: `sacl-au ${config.variant} on ${dataset.name}, fold ${fold}`,
      skipBad: Boolean(values['skip-bad']), ...(values.init && { extra: { init: resolve(String(values.init)) } }) });
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
  requireFlags(values, ['model', 'dataset', 'root', 'out'], 'eval');
  const fold = foldFlag(values.fold);
  await initTf();
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
