/**
 * The runs behind `sacl-au train` and `sacl-au eval`, callable from code: a new or resumed training run
 * (its dataset, fold, options and model config checked against the checkpoint it continues), then the
 * model saved and evaluated (src/run/pipeline.ts); and the evaluation of a saved model. The command line
 * (src/cli/training-commands.ts) only turns flags into a {@link TrainRequest} / {@link EvaluateRequest}.
 */
import { join, resolve } from 'node:path';
import { AuModel } from '../model/model.js';
import { loadBackboneWeights, type BackboneLoadReport } from '../model/pretrained.js';
import type { ModelConfig } from '../model/config.js';
import { readStateDict } from '../tf/state-dict.js';
import { initTf } from '../tf/engine.js';
import { releaseKeptBlocks } from '../tf/kernels/release.js';
import { foldSplit, type AuDataset } from '../data/dataset.js';
import { openDataset } from '../data/open.js';
import { PAPER_TRAINING, hasCheckpoint, openResumePoint, readCheckpoint, type CheckpointRecord, type TrainOptions } from '../train/trainer.js';
import { asUsage, UsageError } from '../util/errors.js';
import { lateProgress } from '../util/progress.js';
import { badImageLog, configForDataset, evaluateInto, initFrom, stderrLine, trainAndEvaluate, type RunResult } from './pipeline.js';


/** Training options: `base` with the given ones on top (a run without micro-batches records 0). */
export function withOptions(base: TrainOptions, given: Partial<TrainOptions> = {}): TrainOptions {
  return { ...base, microBatch: base.microBatch ?? 0, ...given };
}

/** The dataset under `root`, its format named on `log`, with a progress bar when reading it takes a while. */
export async function openWithProgress(kind: string, root: string, log: (line: string) => void = stderrLine): Promise<AuDataset> {
  const reading = lateProgress('read', 'sequences');
  try {
    return await openDataset(kind, resolve(root), {}, log, reading.update);
  } finally {
    reading.finish(); // ends the bar's line before an error is printed, too
  }
}

/** What a backbone load did, for the log: counts, then the names that did not fit (the first ten of each). */
export function backboneSummary(r: BackboneLoadReport): string {
  const list = (names: string[]) => `${names.slice(0, 10).join(', ')}${names.length > 10 ? `, … (${names.length})` : ''}`;
  let text = `backbone from ${r.file} (${r.format}): ${r.assigned} tensors loaded, ${r.missing.length} missing, ${r.unused.length} unused, `
    + `${r.mismatched.length} of another shape, ${r.skipped} num_batches_tracked skipped\n`;
  if (r.missing.length) text += `  missing (left at their initialization): ${list(r.missing)}\n`;
  if (r.unused.length) text += `  unused: ${list(r.unused)}\n`;
  for (const m of r.mismatched.slice(0, 10)) text += `  shape: ${m.name} is [${m.got.join(', ')}] in the file; the model needs [${m.expected.join(', ')}] (PyTorch layout)\n`;
  return text;
}

export interface TrainRequest {
  /** The run's folder: checkpoint/, model/, history.json, report/. */
  out: string;
  /** Continue `<out>/checkpoint` with the settings saved in it (those given here must equal them). */
  resume?: boolean;
  /** Without `resume`, start again over a checkpoint in `out` (else that is refused). */
  overwrite?: boolean;
  /** Dataset kind and root (required unless resuming a checkpoint that records them). */
  dataset?: string;
  root?: string;
  /** 1, 2 or 3 (default 1, or the checkpoint's). */
  fold?: number;
  /** Options given, on top of `baseOptions` (a new run) or the checkpoint's (a resumed one). */
  options?: Partial<TrainOptions>;
  /** Default: the paper's protocol. */
  baseOptions?: TrainOptions;
  /** The model config (required for a new run); on resume it must equal the checkpoint's. Called once, after the checkpoint checks. */
  model?: () => ModelConfig;
  /** ImageNet ResT weights (.pth or .safetensors) for the backbone of a new run. */
  backbone?: string;
  /** A saved model whose weights start a new run (DISFA from BP4D). */
  init?: string;
  skipBad?: boolean;
  /** Evaluate the fold's test subjects into `<out>/report` after training (default true). */
  evaluate?: boolean;
  /** Steps between checkpoints within an epoch (0: at epoch ends only); default DEFAULT_CHECKPOINT_EVERY (run/pipeline.ts). */
  checkpointEvery?: number;
  /** Aborting it stops training after the step under way, with a checkpoint (`stopped` in the result). */
  stop?: AbortSignal;
  /** How an option is named in messages (the CLI names its flag). */
  optionName?: (key: string) => string;
  /** Progress and notes, one line each (default: stderr). */
  log?: (line: string) => void;
}

/** The first top-level field where two model configs differ, for a message. */
function configDifference(saved: Record<string, unknown>, given: Record<string, unknown>): string {
  const key = Object.keys({ ...saved, ...given }).find((k) => JSON.stringify(saved[k]) !== JSON.stringify(given[k])) ?? 'config';
  return `${key} ${JSON.stringify(saved[key])}; the flags give ${JSON.stringify(given[key])}`;
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`--${flag} is required (sacl-au train --help)`);
  return value;
}

/**
 * What a resumed run trains: the dataset, root, fold, options and model config saved with the
 * checkpoint. The request may repeat them; one that differs is a UsageError naming both values.
 */
function resumeSettings(req: TrainRequest, saved: CheckpointRecord): { kind: string; root: string; fold: number; options: TrainOptions } {
  const at = saved.path;
  const run = saved.state.run;
  if (!run) {
    // a checkpoint from before runs were recorded: the request must say what it trained on
    const kind = required(req.dataset, 'dataset');
    return { kind, root: resolve(required(req.root, 'root')), fold: req.fold ?? 1, options: withOptions(saved.state.options, req.options) };
  }
  const given = { dataset: req.dataset, root: req.root === undefined ? undefined : resolve(req.root), fold: req.fold };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined && value !== run[key]) {
      throw new UsageError(`--${key} ${JSON.stringify(value)} conflicts with the checkpoint ${at}, which trains ${key} ${JSON.stringify(run[key])}: `
        + 'resume without the flag, or train into another --out');
    }
  }
  const options = withOptions(saved.state.options, req.options);
  const name = req.optionName ?? ((k: string) => k);
  for (const key of Object.keys({ ...saved.state.options, ...options }) as (keyof TrainOptions)[]) {
    if (JSON.stringify(options[key] ?? null) !== JSON.stringify(saved.state.options[key] ?? null)) {
      throw new UsageError(`${name(key)} ${JSON.stringify(options[key])} conflicts with the checkpoint ${at}, which trains with ${JSON.stringify(saved.state.options[key] ?? null)}: `
        + 'resume without the flag, or train into another --out');
    }
  }
  return { kind: String(run.dataset), root: String(run.root), fold: Number(run.fold), options };
}

/**
 * A training run: new (dataset, root, model config given) or resumed from `<out>/checkpoint`; trains,
 * saves `<out>/model`, evaluates into `<out>/report` unless `evaluate` is false.
 */
export async function trainRun(req: TrainRequest): Promise<RunResult> {
  const log = req.log ?? stderrLine;
  const out = resolve(req.out);
  if (!req.resume && !req.overwrite && hasCheckpoint(out)) {
    throw new UsageError(`${join(out, 'checkpoint')} exists: resume it (--resume) or replace it (--overwrite)`);
  }
  const saved = req.resume ? await readCheckpoint(out) : null;
  if (req.resume && !saved) throw new UsageError(`--resume: ${out} holds no checkpoint to resume (train without --resume to start)`);
  const { kind, root, fold, options } = saved ? resumeSettings(req, saved)
    : { kind: required(req.dataset, 'dataset'), root: resolve(required(req.root, 'root')), fold: req.fold ?? 1, options: withOptions(req.baseOptions ?? PAPER_TRAINING, req.options) };
  if (!saved && !req.model) throw new UsageError('a new training run needs a model config');
  // read (and so check) the weights file before the dataset, which can take minutes
  const pretrained = req.backbone && !saved ? readStateDict(resolve(req.backbone)) : null;
  const config = req.model ? req.model() : structuredClone(saved!.config);
  const tfReport = await initTf();
  log(`tfjs backend: ${tfReport.active} (${tfReport.reason})`);
  const dataset = await openWithProgress(kind, root, log);
  asUsage(() => configForDataset(config, dataset, fold));
  if (saved && req.model && JSON.stringify(config) !== JSON.stringify(saved.config)) {
    throw new UsageError(`the model flags conflict with the checkpoint ${saved.path}, which trains ${configDifference(saved.config as unknown as Record<string, unknown>, config as unknown as Record<string, unknown>)}: `
      + 'resume without model flags, or train into another --out');
  }
  if (saved) log(`resuming ${saved.path}: ${kind} under ${root}, fold ${fold}, ${config.variant} model, ${saved.state.epochsDone} of ${options.epochs} epochs done`);
  // a resumed run's model is allocated from the checkpoint's weights: no initial values drawn, none overwritten
  // from the checkpoint read above: a newer, damaged one was reported then
  const point = saved ? await openResumePoint(out, { config, from: saved.path }) : null;
  if (saved && !point) throw new UsageError(`--resume: ${out} holds no checkpoint to resume (train without --resume to start)`); // removed since it was read
  const model = point ? point.model : new AuModel(config, options.seed);
  try {
    if (pretrained) log(backboneSummary(loadBackboneWeights(model.store, pretrained)).trimEnd());
    const init = req.init && !saved ? resolve(req.init) : null;
    if (init) {
      await initFrom(model, init, log);
      log(`fine-tuning: ${options.epochs} epochs, peak lr ${options.lr}, ${options.warmupEpochs} warm-up epochs (--epochs, --lr, --warmup-epochs)`);
    }
    return await trainAndEvaluate({ model, dataset, fold, options, out, resume: point ?? false, overwrite: Boolean(req.overwrite),
      run: { dataset: kind, root, fold }, evaluate: req.evaluate ?? true, title: `sacl-au ${config.variant} on ${dataset.name}, fold ${fold}`,
      skipBad: Boolean(req.skipBad), ...(req.init && { extra: { init: resolve(req.init) } }),
      ...(req.checkpointEvery !== undefined && { checkpointEvery: req.checkpointEvery }), ...(req.stop && { stop: req.stop }), log });
  } finally {
    if (point) point.dispose();
    else model.dispose();
    releaseKeptBlocks();
  }
}

export interface EvaluateRequest {
  /** A saved model directory. */
  model: string;
  dataset: string;
  root: string;
  /** 1, 2 or 3 (default 1): its test subjects are evaluated. */
  fold?: number;
  /** The report folder. */
  out: string;
  skipBad?: boolean;
  log?: (line: string) => void;
}

/** Evaluates a saved model on a fold's test subjects into a report folder. */
export async function evaluateRun(req: EvaluateRequest): Promise<{ report: string; meanF1: number; alwaysPresentMeanF1: number }> {
  const fold = req.fold ?? 1;
  await initTf();
  const dataset = await openWithProgress(req.dataset, req.root, req.log ?? stderrLine);
  const model = await AuModel.load(resolve(req.model));
  try {
    const { test } = foldSplit(dataset, fold);
    const bad = req.skipBad ? badImageLog(req.log) : null;
    const report = resolve(req.out);
    const r = await evaluateInto({ model, dataset, samples: test, reportDir: report, title: `sacl-au ${model.config.variant} on ${dataset.name}, fold ${fold}`, extra: { fold }, bad });
    return { report, ...r };
  } finally {
    model.dispose();
  }
}
