/**
 * One run of the pipeline: train on a fold's training subjects (checkpoint every epoch, resumable), save
 * the model, evaluate on the fold's test subjects into a report folder. `sacl-au train`, `demo` and
 * `reproduce` all run it.
 */
import { join } from 'node:path';
import { AuModel } from '../model/model.js';
import { transferWeights } from '../model/transfer.js';
import { cooccurrenceFromLabels } from '../model/fixed-graphs.js';
import type { ModelConfig } from '../model/config.js';
import { foldSplit, type AuDataset, type AuSample } from '../data/dataset.js';
import { writeFileAtomic } from '../util/fs.js';
import { evaluatePredictions, graphsOnSamples, predictSamples } from '../train/evaluate.js';
import { train, type CheckpointInfo, type History, type ResumePoint, type RunRecord, type TrainOptions } from '../train/trainer.js';
import { writeReport } from '../report/report.js';
import { Progress } from '../util/progress.js';

export interface RunResult {
  history: History;
  modelDir: string;
  reportDir: string | null;
  meanF1: number | null;
  alwaysPresentMeanF1: number | null;
  /** Set when `stop` ended the run early: the checkpoint it wrote (resume continues from there). */
  stopped?: CheckpointInfo;
}

/**
 * Steps between checkpoints within an epoch: bounds what a crash loses to about 200 steps (the full
 * model on 2 CPU cores: tens of minutes; an epoch of BP4D there: many hours), for a save that costs
 * about a second or two on a GPU run too.
 */
export const DEFAULT_CHECKPOINT_EVERY = 200;

/** One line of a run's log: stderr unless the caller gives another. */
export const stderrLine = (line: string): void => { process.stderr.write(`${line}\n`); };

/** Logs unreadable images (the first ten by name) and counts them all. */
export function badImageLog(log: (line: string) => void = stderrLine): { count: () => number; onBadImage: (file: string, reason: string) => void } {
  const seen = new Set<string>();
  return {
    count: () => seen.size,
    onBadImage: (file, reason) => {
      if (!seen.has(file) && seen.size < 10) log(`skipped ${file}: ${reason}`);
      seen.add(file);
    },
  };
}

/**
 * Fits a config to the dataset it trains on (in place): the dataset's AU set, and for the statistics
 * graph (SBG) the training fold's AU co-occurrence, which is saved with the model's config.
 */
export function configForDataset(config: ModelConfig, dataset: AuDataset, fold: number): ModelConfig {
  if (config.auSet !== dataset.auSet) config.auSet = dataset.auSet;
  if (config.sacl?.graph === 'stats' && !config.sacl.cooccurrence) {
    config.sacl.cooccurrence = cooccurrenceFromLabels(foldSplit(dataset, fold).train.map((s) => s.labels), dataset.aus.length);
  }
  return config;
}

/** Copies a saved model's weights into `model` (DISFA from BP4D: per-AU heads mapped, paper §4.1.1). */
export async function initFrom(model: AuModel, dir: string, log: (line: string) => void = stderrLine): Promise<void> {
  const source = await AuModel.load(dir);
  try {
    const t = transferWeights(model, source);
    log(`initialized from ${dir}: ${t.copied} tensors copied, ${t.mapped} per-AU tensors mapped, ${t.fresh.length} fresh`);
  } finally {
    source.dispose();
  }
}

/** Trains (with progress), saves the model, evaluates into `<out>/report`. */
export async function trainAndEvaluate({ model, dataset, fold, options, out, resume, overwrite = false, run, evaluate, title, skipBad = false, stopAfterEpochs,
  checkpointEvery = DEFAULT_CHECKPOINT_EVERY, stop, extra = {}, log = stderrLine }: {
  model: AuModel; dataset: AuDataset; fold: number; options: TrainOptions; out: string; evaluate: boolean; title: string; skipBad?: boolean;
  /** Continue the checkpoint in `out`: read into `model` (true), or opened already with `model` as its model (as train's `resume`). */
  resume: boolean | ResumePoint;
  /** Without resume, replace a checkpoint already in `out` (else that is refused). */
  overwrite?: boolean;
  /** What the run trains on, saved with its checkpoints and checked on resume (default: the fold). */
  run?: RunRecord;
  /** More fields for the report's metrics.json (e.g. the model a fine-tuning started from). */
  extra?: Record<string, unknown>;
  /** Stop after this many epochs of this call, before saving and evaluating (tests interrupt runs with it). */
  stopAfterEpochs?: number;
  /** Steps between checkpoints within an epoch (0: at epoch ends only); default {@link DEFAULT_CHECKPOINT_EVERY}. */
  checkpointEvery?: number;
  /** Aborting it stops the run after the step under way, with a checkpoint (`stopped` in the result). */
  stop?: AbortSignal;
  /** The run's lines (progress bars go to stderr). */
  log?: (line: string) => void;
}): Promise<RunResult> {
  const bad = skipBad ? badImageLog(log) : null;
  const { train: trainSet, test } = foldSplit(dataset, fold);
  log(`${dataset.name} fold ${fold}: ${trainSet.length} training frames, ${test.length} test frames; ${model.config.variant} model, ${(model.store.count() / 1e6).toFixed(2)} M parameters`);
  let bar: Progress | null = null;
  let last: CheckpointInfo | null = null;
  const history = await train({
    model, samples: trainSet, options, dir: out, resume, overwrite, run: run ?? { fold }, checkpointEvery, ...(stop && { stop }), onCheckpoint: (c) => { last = c; }, ...(bad && { onBadImage: bad.onBadImage }), ...(stopAfterEpochs !== undefined && { stopAfterEpochs }),
    onStep: (r, perEpoch) => {
      if (!bar) bar = new Progress(`epoch ${r.epoch + 1}/${options.epochs}`, perEpoch, 'steps');
      bar.update((r.step % perEpoch) + 1, `loss ${r.loss.toFixed(3)} lr ${r.lr.toExponential(1)}`);
    },
    onEpoch: (r) => {
      bar?.finish(`epoch loss ${r.loss.toFixed(4)} (${r.seconds.toFixed(0)} s)`);
      bar = null;
    },
  });
  (bar as Progress | null)?.finish(); // a run stopped within an epoch: end the bar's line
  const modelDir = join(out, 'model');
  if (history.epochs.length < options.epochs) {
    const stopped = stop?.aborted ? last as CheckpointInfo | null : null; // set in onCheckpoint
    return { history, modelDir, reportDir: null, meanF1: null, alwaysPresentMeanF1: null, ...(stopped && { stopped }) };
  }
  await model.save(modelDir);
  await writeFileAtomic(join(out, 'history.json'), `${JSON.stringify(history)}\n`);
  if (!evaluate || test.length === 0) return { history, modelDir, reportDir: null, meanF1: null, alwaysPresentMeanF1: null };
  const reportDir = join(out, 'report');
  const r = await evaluateInto({ model, dataset, samples: test, reportDir, history, title, extra: { fold, training: options, ...extra }, bad });
  if (bad?.count()) log(`${bad.count()} unreadable images skipped (--skip-bad)`);
  return { history, modelDir, reportDir, ...r };
}

/** Predicts `samples`, scores them and writes the report folder (metrics, predictions, figures). */
export async function evaluateInto({ model, dataset, samples, reportDir, history, title, extra, bad = null }: {
  model: AuModel; dataset: AuDataset; samples: AuSample[]; reportDir: string; history?: History; title: string; extra: Record<string, unknown>;
  bad?: ReturnType<typeof badImageLog> | null;
}): Promise<{ meanF1: number; alwaysPresentMeanF1: number }> {
  const bar = new Progress('evaluate', samples.length, 'frames');
  const predictions = await predictSamples(model, samples, { onProgress: (d) => bar.update(d), ...(bad && { onBadImage: bad.onBadImage }) });
  bar.finish();
  const metrics = evaluatePredictions(dataset.aus, predictions);
  // SACL's graphs on up to 64 test faces, for the correlation figures
  const graphs = model.config.sacl && model.config.sacl.layer === 'gcn' ? await graphsOnSamples(model, samples.slice(0, 64), bad?.onBadImage) : [];
  await writeReport({ dir: reportDir, title, auSet: dataset.auSet, aus: dataset.aus, metrics, predictions, ...(history && { history }), graphs,
    extra: { dataset: dataset.name, variant: model.config.variant, ...(bad && { skippedImages: bad.count() }), ...extra } });
  return { meanF1: metrics.meanF1, alwaysPresentMeanF1: metrics.alwaysPresentMeanF1 };
}
