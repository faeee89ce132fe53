/** `sacl-au train`, `eval`: the training engine and the evaluator from the command line (predict: predict-command.ts). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PAPER_TRAINING, type TrainOptions } from '../train/trainer.js';
import { evaluateRun, openWithProgress, trainRun, withOptions } from '../run/train.js';
import { DEFAULT_CHECKPOINT_EVERY } from '../run/pipeline.js';
import type { AuDataset } from '../data/dataset.js';
import { MODEL_FLAGS, configFromFlags } from './model-command.js';
import type { ConfigOverrides } from '../model/config.js';
import { foldFlag, numberFlag, requireFlags, UsageError, usageError } from './flags.js';

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

/** The training options the config file's "training" section and the flags give (flags win); every value checked. */
function givenTrainOptions(values: Values, file: ConfigFile): Partial<TrainOptions> {
  const o: Partial<TrainOptions> = fileTrainingOptions(String(values.config), file.training);
  for (const { key, flag, integer = false, min = 0 } of OPTION_FLAGS) {
    const v = numberFlag(flag, values[flag], { integer, min });
    if (v !== undefined) o[key] = v;
  }
  if (values['no-augment']) o.augment = false;
  return o;
}

/** Training options: `base` (paper defaults) ← config file's "training" ← flags; every value checked. `file`: the config file already read. */
export function trainOptionsFrom(values: Values, base: TrainOptions = PAPER_TRAINING, file: ConfigFile = configFileOf(values)): TrainOptions {
  return withOptions(base, givenTrainOptions(values, file));
}

type ConfigFile = { variant?: string; model?: Record<string, unknown>; training?: unknown };

/** The --config file, read and checked; {} without the flag. */
function configFileOf(values: Values): ConfigFile {
  return values.config ? readConfigFile(String(values.config)) : {};
}

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
  'micro-batch': { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'no-augment': { type: 'boolean' }, resume: { type: 'boolean' }, overwrite: { type: 'boolean' }, init: { type: 'string' }, backbone: { type: 'string' }, 'skip-bad': { type: 'boolean' }, 'no-eval': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
} as const;

export const TRAIN_USAGE = `Usage: sacl-au train --dataset synthetic|bp4d|disfa --root <dir> [--fold 1|2|3] [--variant <name>] --out <dir> [options]
       sacl-au train --out <dir> --resume

The format under --root is detected and named: BP4D's layout (AUCoding/; landmarks from Landmarks/*.csv
or 2DFeatures/*.mat), DISFA's (ActionUnit_Labels/; landmarks from Landmarks/*.csv or Landmark_Points/),
ME-GraphAU's list/ files, or JAA-Net's <DS>_part<k>_*.txt lists. Trains on the fold's training subjects
(ME-GraphAU naming: fold 1 tests part 3, fold 2 part 2, fold 3 part 1), checkpoints into <out>/checkpoint
(every epoch, every --checkpoint-every steps, and on SIGINT/SIGTERM), saves <out>/model, then evaluates on
the fold's test subjects into <out>/report (unless --no-eval).

Options (defaults: the paper's protocol):
  --epochs <n>          12          --lr <peak>           0.001 (cosine, linear warm-up)
  --batch-size <n>      16          --warmup-epochs <n>   1
  --momentum <m>        0.9         --weight-decay <w>    0.0005
  --clip <norm>         5           --seed <n>            1
  --micro-batch <n>     run each batch as passes of at most n images, gradients summed before the step
                        (memory: the full model at 224 px fits wasm's heap at 2; BatchNorm then sees n)
  --no-augment          no crop/flip/jitter
  --checkpoint-every <steps>
                        ${DEFAULT_CHECKPOINT_EVERY}: also checkpoint every this many steps within an epoch, so a crash loses at
                        most that much (a CPU epoch of BP4D is many hours); 0: at epoch ends only. Ctrl-C
                        or SIGTERM finishes the step under way, checkpoints, and exits 130 or 143; a second
                        signal exits at once. --resume continues exactly where it stopped
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
function modelConfigFrom(values: Values, file: ConfigFile) {
  return configFromFlags({ ...values, variant: (values.variant as string | undefined) ?? file.variant ?? 'full' }, (file.model ?? {}) as ConfigOverrides);
}

/** The dataset under --root, its format named on stderr, with a progress bar when reading it takes a while. */
export function openForCli(kind: string, root: string): Promise<AuDataset> {
  return openWithProgress(kind, root);
}

const MODEL_FLAG_NAMES = Object.keys(MODEL_FLAGS);

/** Exit codes after a signal, as shells report them (128 + the signal's number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT and SIGTERM while training: the first aborts `signal` (training checkpoints after the step under
 * way and stops); a second exits at once. `dispose` restores the default handling.
 */
function stopOnSignals(): { signal: AbortSignal; received: () => string | null; dispose: () => void } {
  const controller = new AbortController();
  let first: string | null = null;
  const onSignal = (name: string) => {
    if (first) {
      process.stderr.write(`\n${name} again: exiting without a checkpoint\n`);
      process.exit(SIGNAL_EXIT[name]);
    }
    first = name;
    process.stderr.write(`\n${name}: stopping after this step and saving a checkpoint (${name} again quits at once)\n`);
    controller.abort();
  };
  for (const name of Object.keys(SIGNAL_EXIT)) process.on(name, onSignal);
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => { for (const name of Object.keys(SIGNAL_EXIT)) process.off(name, onSignal); },
  };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: TRAIN_FLAGS, strict: true });
  if (values.help) return process.stdout.write(`${TRAIN_USAGE}\n`), 0;
  requireFlags(values, ['out'], 'train');
  if (values.resume && values.overwrite) throw new UsageError('--resume and --overwrite: give one (continue the checkpoint, or start again over it)');
  if (values.backbone && values.init) throw new UsageError('--backbone and --init both set the backbone\'s weights: give one');
  const file = configFileOf(values);
  // a resumed run takes the checkpoint's model config unless the flags or the config file give one
  const fromFlags = !values.resume || Boolean(values.config) || MODEL_FLAG_NAMES.some((f) => (values as Values)[f] !== undefined);
  const checkpointEvery = numberFlag('checkpoint-every', values['checkpoint-every'], { integer: true });
  const signals = stopOnSignals();
  let r;
  try {
    r = await trainRun({
      out: String(values.out), resume: Boolean(values.resume), overwrite: Boolean(values.overwrite),
      ...(values.dataset !== undefined && { dataset: String(values.dataset) }), ...(values.root !== undefined && { root: String(values.root) }),
      ...(values.fold !== undefined && { fold: foldFlag(values.fold) }),
      options: givenTrainOptions(values, file), optionName: optionFlag,
      ...(fromFlags && { model: () => modelConfigFrom(values, file) }),
      ...(values.backbone && { backbone: String(values.backbone) }), ...(values.init && { init: String(values.init) }),
      skipBad: Boolean(values['skip-bad']), evaluate: !values['no-eval'],
      ...(checkpointEvery !== undefined && { checkpointEvery }), stop: signals.signal,
    });
  } finally {
    signals.dispose();
  }
  const signal = signals.received();
  if (r.stopped) {
    const { path, epoch, batchesDone, step } = r.stopped;
    process.stderr.write(`stopped by ${signal}: checkpoint ${path} (${batchesDone ? `epoch ${epoch + 1}, ${batchesDone} steps into it` : `${epoch} epochs done`}, step ${step}); `
      + `continue with: sacl-au train --out ${resolve(String(values.out))} --resume\n`);
  } else if (signal) process.stderr.write(`${signal}: training had ended; ${r.reportDir ?? r.modelDir} is complete\n`);
  if (signal) return SIGNAL_EXIT[signal]!;
  if (values.json) process.stdout.write(`${JSON.stringify({ model: r.modelDir, report: r.reportDir, meanF1: r.meanF1, alwaysPresentMeanF1: r.alwaysPresentMeanF1 })}\n`);
  else process.stdout.write(`${r.reportDir ?? r.modelDir}\n`);
  return 0;
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
  const r = await evaluateRun({ model: String(values.model), dataset: String(values.dataset), root: String(values.root), fold: foldFlag(values.fold),
    out: String(values.out), skipBad: Boolean(values['skip-bad']) });
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`${r.report}\n`);
  return 0;
}
