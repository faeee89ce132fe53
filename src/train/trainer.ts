/**
 * The training loop: streaming batches, the three losses, SGD with Nesterov momentum, weight decay and
 * gradient clipping on a warm-up + cosine schedule; a checkpoint after every epoch, every
 * `checkpointEvery` steps and when `stop` is signalled (model, optimizer state, history, written to a new
 * directory and swapped in by renames); `resume` continues from the last complete checkpoint exactly where
 * the uninterrupted run would be, mid-epoch too (data order and augmentation derive from (seed, epoch,
 * position), the schedule from the step, the optimizer from its saved buffers).
 */
import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { classWeights, type AuSample } from '../data/dataset.js';
import { DecodeCache, batchTensors, batches, type Batch } from '../data/loader.js';
import { AuModel } from '../model/model.js';
import {
  checkpointDir, checkpointPaths, hasCheckpoint, readCheckpoint as readCheckpointFile, readCheckpointDir, removeCheckpoints, writeCheckpoint,
  type CheckpointRecord as CheckpointFile, type FitCheck, type NamedTensor, type SavedModel, type TrainerStateFile,
} from '../model/checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import { UsageError, usageError } from '../util/errors.js';
import { message, rangeError, typeError } from '../util/validate.js';
import { variableGradsReleasing } from '../tf/backprop.js';
import { PAPER_LOSS_WEIGHTS, trainingLoss, type LossWeights } from './losses.js';
import { NesterovSgd } from './optimizer.js';
import { accumulateGradients, microBatches } from './accumulate.js';
import { learningRate } from './schedule.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  clipNorm: number;
  warmupEpochs: number;
  lossWeights: LossWeights;
  seed: number;
  augment: boolean;
  /** Split each batch into micro-batches of at most this many images, gradients summed (train/accumulate.ts); 0 = whole batches. */
  microBatch?: number;
}

/** Paper §4.1.3. */
export const PAPER_TRAINING: TrainOptions = {
  epochs: 12, batchSize: 16, lr: 1e-3, momentum: 0.9, weightDecay: 5e-4, clipNorm: 5, warmupEpochs: 1,
  lossWeights: PAPER_LOSS_WEIGHTS, seed: 1, augment: true,
};

/** Decoded training faces kept between epochs (the demo's 960 at 128 px take 47 MB; BP4D's 97 k at 256 px would take 19 GB). */
export const TRAIN_DECODE_CACHE_BYTES = 512 * 2 ** 20;

export interface StepRecord {
  step: number;
  epoch: number;
  lr: number;
  loss: number;
  asymmetric: number;
  dice: number;
  landmarks: number;
  gradNorm: number;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  steps: number;
  seconds: number;
}

export interface History {
  steps: StepRecord[];
  epochs: EpochRecord[];
}

export interface TrainArgs {
  model: AuModel;
  samples: AuSample[];
  options: TrainOptions;
  /** Where checkpoints go (`<dir>/checkpoint`); none when omitted. */
  dir?: string;
  /**
   * Continue from the newest intact checkpoint in `dir`; its options (and `run`) must equal these. `true`
   * reads it into `model` (built by the caller, its initial values overwritten); a {@link ResumePoint}
   * (openResumePoint) is a checkpoint already read, whose own `model` must be the one given.
   */
  resume?: boolean | ResumePoint;
  /** Without `resume`, a checkpoint already in `dir` is an error unless this is set (it is then removed). */
  overwrite?: boolean;
  /** What the run trains on (dataset, root, fold, …), saved with every checkpoint and checked on resume. */
  run?: RunRecord;
  /** A checkpoint that could not be read, and the one used instead (default: stderr). */
  onWarning?: (message: string) => void;
  onStep?: (record: StepRecord, stepsPerEpoch: number) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Stop after this many epochs of this call (tests interrupt runs with it). */
  stopAfterEpochs?: number;
  /** Also checkpoint (with `dir`) after every this many steps within an epoch; 0 (default): at epoch ends only. */
  checkpointEvery?: number;
  /**
   * When aborted, the step under way finishes, a checkpoint is written (with `dir`) and train returns the
   * history so far; resuming it continues exactly.
   */
  stop?: AbortSignal;
  /** Told where each checkpoint went, after its directory is in place. */
  onCheckpoint?: (info: CheckpointInfo) => void;
  /** Skip unreadable images (masked out of the batch) and report them here, instead of stopping. */
  onBadImage?: (file: string, reason: string) => void;
}

/** A checkpoint just written: where, and how far the run is (`batchesDone` of epoch `epoch`, 0-based; steps in all). */
export interface CheckpointInfo {
  path: string;
  epoch: number;
  batchesDone: number;
  step: number;
}

/** The data a run trains on, as the caller names it: e.g. `{ dataset: 'bp4d', root: '/data/BP4D', fold: 1 }`. */
export type RunRecord = Record<string, string | number | boolean | null>;

/** state.json (its format: model/checkpoint.ts) with this trainer's types. */
interface TrainerState extends TrainerStateFile {
  options: TrainOptions;
  run?: RunRecord;
  history: History;
}

/** A checkpoint's record: where it is, the loop's state (options, run) and the model config it trains. */
export type CheckpointRecord = CheckpointFile<TrainerState>;

/**
 * The wasm backend's heap is 32-bit: a batch whose activations outgrow it fails deep inside a kernel with
 * "memory access out of bounds". Say what to do instead.
 */
function withHeapHint<T>(step: () => T, batch: number): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof Error && /memory access out of bounds|out of memory|Aborted\(\)/i.test(e.message) && tf.getBackend() === 'wasm') {
      throw new RangeError(`the WebAssembly backend ran out of heap at ${batch} images per pass (${e.message}): pass `
        + '--micro-batch 2 (or lower --batch-size), or install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA)');
    }
    throw e;
  }
}

/** True when `dir` holds a checkpoint (complete or not). */
export { hasCheckpoint };

/**
 * The newest checkpoint in `dir` whose state.json and model config read (an unreadable one is reported to
 * `onWarning` and the previous one tried), or null when there is none.
 */
export function readCheckpoint(dir: string, onWarning: (message: string) => void = warn): Promise<CheckpointRecord | null> {
  return readCheckpointFile<TrainerState>(dir, onWarning);
}

const warn = (message: string) => { process.stderr.write(`warning: ${message}\n`); };

/** A checkpoint's model config differs from the one being trained: the caller's mistake, not a damaged checkpoint. */
class ConfigMismatch extends RangeError {}

function checkSameConfig(path: string, saved: ModelConfig, wanted: ModelConfig): void {
  if (JSON.stringify(saved) === JSON.stringify(wanted)) return;
  const s = saved as unknown as Record<string, unknown>;
  const w = wanted as unknown as Record<string, unknown>;
  const key = Object.keys({ ...s, ...w }).find((k) => JSON.stringify(s[k]) !== JSON.stringify(w[k]));
  const field = (c: Record<string, unknown>) => (key ? `${key} ${JSON.stringify(c[key])}` : JSON.stringify(c)); // no key: the same fields in another order
  throw new ConfigMismatch(message(`the model config of the checkpoint ${path}`, `the config of the model trained (${field(w)})`, `another model config (${field(s)})`));
}

/**
 * The newest checkpoint in `dir` that reads, `fits` checked; a damaged one is reported and the previous
 * one read, a config mismatch thrown. Null when there is none. The caller disposes the tensors.
 */
async function readNewest(dir: string, fits: (path: string) => FitCheck, onWarning: (m: string) => void, from?: string):
  Promise<{ path: string; state: TrainerState; model: SavedModel; optimizer: NamedTensor[] } | null> {
  const all = checkpointPaths(dir);
  const start = from === undefined ? 0 : all.findIndex((p) => resolve(p) === resolve(from));
  const paths = start < 0 ? [] : all.slice(start);
  for (const [i, path] of paths.entries()) {
    try {
      return { path, ...await readCheckpointDir<TrainerState>(path, fits(path)) };
    } catch (e) {
      if (e instanceof ConfigMismatch) throw e;
      onWarning(`checkpoint ${path} is unreadable (${(e as Error).message}); ${i + 1 < paths.length ? `resuming from ${paths[i + 1]} instead` : 'no other checkpoint to resume from'}`);
    }
  }
  if (paths.length) throw new Error(`${dir}: no checkpoint could be read (see the warnings above)`);
  return null;
}

/**
 * A run's checkpoint opened to resume it: the model allocated from the saved weights (no initial values
 * drawn, no weights copied over others), the optimizer's buffers and the loop's state. Give it to one
 * `train` call as `resume`, with `model` as the model; dispose it (the model with it) afterwards.
 */
export interface ResumePoint {
  /** The run's folder (train's `dir`, resolved). */
  dir: string;
  /** The checkpoint directory read. */
  path: string;
  model: AuModel;
  state: TrainerState;
  optimizer: NamedTensor[];
  dispose(): void;
}

/**
 * Opens the newest checkpoint in `dir` that reads (a damaged one is reported to `onWarning` and the
 * previous one opened), or returns null when there is none. With `config`, a checkpoint of another model
 * config is refused (a RangeError naming the first field that differs). With `from` (a checkpoint
 * directory readCheckpoint returned), the newer ones, already reported, are skipped.
 */
export async function openResumePoint(dir: string, { config, onWarning = warn, from }:
  { config?: ModelConfig; onWarning?: (message: string) => void; from?: string } = {}): Promise<ResumePoint | null> {
  const found = await readNewest(dir, (path) => (saved, seed, specs) => {
    if (config) checkSameConfig(path, saved, config);
    AuModel.fits(join(path, 'model', 'model.json'))(saved, seed, specs);
  }, onWarning, from);
  if (!found) return null;
  const { path, state, optimizer } = found;
  let model: AuModel;
  try {
    model = AuModel.fromSaved(found.model);
  } catch (e) {
    tf.dispose(optimizer.map((t) => t.tensor));
    throw e;
  }
  return { dir: resolve(dir), path, model, state, optimizer, dispose: () => { model.dispose(); tf.dispose(optimizer.map((t) => t.tensor)); } };
}

/** Reads the newest checkpoint that loads into a model built by the caller (weights assigned over its own) and the optimizer; null when there is none. */
async function restoreInto(dir: string, model: AuModel, optimizer: NesterovSgd, onWarning: (m: string) => void): Promise<TrainerState | null> {
  const found = await readNewest(dir, (path) => (config, _seed, specs) => {
    checkSameConfig(path, config, model.config);
    model.store.checkFits(specs);
  }, onWarning);
  if (!found) return null;
  try {
    model.store.assign(found.model.tensors);
    optimizer.loadState(found.optimizer);
  } finally {
    tf.dispose([...found.model.tensors, ...found.optimizer].map((t) => t.tensor));
  }
  return found.state;
}

/** The optimizer's buffers and the loop's state from a resume point opened for this model and folder. */
function resumeFrom(point: ResumePoint, model: AuModel, dir: string | undefined, optimizer: NesterovSgd): TrainerState {
  if (point.model !== model) throw typeError('model', `the model of the resume point ${point.path}`, 'another AuModel');
  if (dir === undefined || resolve(dir) !== point.dir) throw rangeError('dir', `the run folder of the resume point (${point.dir})`, dir === undefined ? 'undefined' : dir);
  optimizer.loadState(point.optimizer);
  return point.state;
}

/** What one optimizer step needs besides the batch and the learning rate (train() builds it once per run). */
export interface StepContext {
  model: AuModel;
  optimizer: NesterovSgd;
  /** The trainable variables by name. */
  params: Map<string, tf.Variable>;
  /** Per-AU class weights [numAus] (classWeights of the training set). */
  weights: tf.Tensor1D;
  lossWeights: LossWeights;
  /** As TrainOptions.microBatch. */
  microBatch?: number;
}

/** The batch's data a step reads (a loader Batch satisfies it). */
export type StepBatch = Pick<Batch, 'size' | 'images' | 'labels' | 'mask' | 'landmarks' | 'interOcular' | 'hasLandmarks'>;

/**
 * The gradients of the training loss over a batch (summed over micro-batches when ctx.microBatch asks for
 * them), by variable name, and the loss parts as kept scalars: total, asymmetric, dice, landmarks of each
 * micro-batch, each weighted by its share of the batch. The caller disposes both.
 */
export function batchGradients(ctx: StepContext, batch: StepBatch): { grads: tf.NamedTensorMap; parts: tf.Scalar[] } {
  const { model, weights, lossWeights } = ctx;
  const vars = [...ctx.params.values()];
  const chunks = microBatches(batch.size, ctx.microBatch);
  const parts: tf.Scalar[] = [];
  // the gradients of images [start, start + n), their loss weighted by share = n / B
  const gradsOf = (start: number, n: number, share: number) => tf.tidy(() => {
    const { images, ...targets } = batchTensors(batch, model.config.inputSize, start, n);
    return variableGradsReleasing(() => {
      const { total, asymmetric, dice, landmarks } = trainingLoss(model.apply(images, { training: true }), targets, weights, lossWeights);
      const weigh = (t: tf.Scalar) => (share === 1 ? t : tf.mul(t, share) as tf.Scalar); // whole batch: untouched
      parts.push(...[total, asymmetric, dice, landmarks].map((t) => tf.keep(weigh(t))));
      return weigh(total);
    }, vars).grads;
  });
  try {
    return { grads: withHeapHint(() => accumulateGradients(chunks, gradsOf), chunks[0]![1]), parts };
  } catch (e) {
    tf.dispose(parts);
    throw e;
  }
}

/**
 * One training step on a batch at learning rate lr: batchGradients, then the optimizer's update (global
 * norm clipping, weight decay, Nesterov momentum). Returns the batch's losses and the gradient norm before
 * clipping. train() runs exactly this per batch; bench/train-step.js times it.
 */
export function trainStep(ctx: StepContext, batch: StepBatch, lr: number): Omit<StepRecord, 'step' | 'epoch' | 'lr'> {
  const { grads, parts } = batchGradients(ctx, batch);
  try {
    const gradNorm = withHeapHint(() => ctx.optimizer.step(ctx.params, grads, lr), microBatches(batch.size, ctx.microBatch)[0]![1]);
    const values = parts.map((t) => t.dataSync()[0]!);
    const [loss, asymmetric, dice, landmarks] = [0, 1, 2, 3].map((i) => values.filter((_, j) => j % 4 === i).reduce((a, v) => a + v, 0)) as [number, number, number, number];
    return { loss, asymmetric, dice, landmarks, gradNorm };
  } finally {
    tf.dispose(Object.values(grads));
    tf.dispose(parts);
  }
}

/** Throws a RangeError naming the first option (or run field) where `saved` and `given` differ, with both values. */
function checkSame(kind: string, saved: Record<string, unknown>, given: Record<string, unknown>, path: string): void {
  for (const key of new Set([...Object.keys(saved), ...Object.keys(given)])) {
    if (JSON.stringify(saved[key] ?? null) !== JSON.stringify(given[key] ?? null)) {
      throw usageError(`${kind} ${key}`, `${JSON.stringify(saved[key] ?? null)} (what the checkpoint ${path} was trained with)`,
        `${JSON.stringify(given[key] ?? null)}: resume with the same settings, or train into another folder`);
    }
  }
}

export async function train({ model, samples, options, dir, resume = false, overwrite = false, run, onWarning = warn, onStep, onEpoch, stopAfterEpochs,
  checkpointEvery = 0, stop, onCheckpoint, onBadImage }: TrainArgs): Promise<History> {
  if (samples.length === 0) throw new RangeError('train: no training samples');
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 0) {
    throw new RangeError(`Expected a non-negative integer for checkpointEvery but received ${JSON.stringify(checkpointEvery)}`);
  }
  const numAus = model.numAus;
  if (samples[0]!.labels.length !== numAus) throw new RangeError(`train: samples carry ${samples[0]!.labels.length} AU labels, the model predicts ${numAus}`);
  const optimizer = new NesterovSgd({ momentum: options.momentum, weightDecay: options.weightDecay, clipNorm: options.clipNorm });
  const stepsPerEpoch = Math.ceil(samples.length / options.batchSize);
  const schedule = { peak: options.lr, totalSteps: stepsPerEpoch * options.epochs, warmupSteps: Math.round(stepsPerEpoch * options.warmupEpochs) };
  const fresh: TrainerState = { format: 'sacl-au-trainer', epochsDone: 0, step: 0, options, ...(run && { run }), history: { steps: [], epochs: [] } };
  let state = fresh;
  try {
    if (resume && typeof resume === 'object') state = resumeFrom(resume, model, dir, optimizer);
    else if (resume && dir) state = await restoreInto(dir, model, optimizer, onWarning) ?? fresh;
    else if (dir && hasCheckpoint(dir)) {
      if (!overwrite) throw new UsageError(`${checkpointDir(dir)} exists: resume it (--resume) or replace it (--overwrite)`);
      await removeCheckpoints(dir);
    }
    if (state !== fresh) {
      checkSame('option', state.options as unknown as Record<string, unknown>, options as unknown as Record<string, unknown>, dir!);
      if (state.run && run) checkSame('run setting', state.run, run, dir!);
    }
  } catch (e) {
    optimizer.dispose();
    throw e;
  }
  state.run = run ?? state.run;
  const weights = tf.tensor1d(classWeights(samples, numAus));
  const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
  const ctx: StepContext = { model, optimizer, params, weights, lossWeights: options.lossWeights, microBatch: options.microBatch };
  const S = model.config.inputSize;
  const decoded = new DecodeCache(TRAIN_DECODE_CACHE_BYTES); // each face decoded once per run while it fits
  let savedAt = -1; // the step of the last checkpoint this call wrote
  const checkpoint = async () => {
    await writeCheckpoint(dir!, model, optimizer.state(), state);
    savedAt = state.step;
    onCheckpoint?.({ path: checkpointDir(dir!), epoch: state.epochsDone, batchesDone: state.batchesDone ?? 0, step: state.step });
  };
  try {
    let ran = 0;
    for (let epoch = state.epochsDone; epoch < options.epochs; epoch++) {
      if (stopAfterEpochs !== undefined && ran >= stopAfterEpochs) break;
      if (stop?.aborted) {
        if (dir && savedAt !== state.step) await checkpoint(); // stopped between epochs, or before the first step
        break;
      }
      // a checkpoint within this epoch: skip the batches it trained, carry its partial loss and time
      const skip = state.batchesDone ?? 0;
      const started = Date.now() - 1000 * (state.partial?.seconds ?? 0);
      let sum = state.partial?.sum ?? 0;
      let count = state.partial?.count ?? 0;
      let done = skip;
      for await (const batch of batches(samples, { inputSize: S, batchSize: options.batchSize, augment: options.augment, shuffle: true, seed: options.seed, epoch,
        startBatch: skip, cache: decoded, ...(onBadImage && { onBadImage }) })) {
        const lr = learningRate(state.step, schedule);
        const B = batch.size;
        const { loss, asymmetric, dice, landmarks, gradNorm } = trainStep(ctx, batch, lr);
        if (!Number.isFinite(loss)) throw new RangeError(`training diverged at step ${state.step} (loss ${loss}); lower the learning rate (--lr)`);
        const record: StepRecord = { step: state.step, epoch, lr, loss, asymmetric, dice, landmarks, gradNorm };
        state.history.steps.push(record);
        state.step++;
        sum += loss * B;
        count += B;
        onStep?.(record, stepsPerEpoch);
        done++;
        if (done === stepsPerEpoch) break; // the epoch's end is checkpointed below
        const stopping = stop?.aborted ?? false;
        if (dir && (stopping || (checkpointEvery > 0 && state.step % checkpointEvery === 0))) {
          state.batchesDone = done;
          state.partial = { sum, count, seconds: (Date.now() - started) / 1000 };
          await checkpoint();
        }
        if (stopping) break;
      }
      if (done < stepsPerEpoch) break; // stopped within the epoch
      const record: EpochRecord = { epoch, loss: sum / Math.max(1, count), steps: stepsPerEpoch, seconds: (Date.now() - started) / 1000 };
      state.history.epochs.push(record);
      state.epochsDone = epoch + 1;
      delete state.batchesDone;
      delete state.partial;
      if (dir) await checkpoint();
      onEpoch?.(record);
      ran++;
    }
    return state.history;
  } finally {
    weights.dispose();
    optimizer.dispose();
  }
}
