/**
 * The training loop: streaming batches, the three losses, SGD with Nesterov momentum, weight decay and
 * gradient clipping on a warm-up + cosine schedule; a checkpoint after every epoch (model, optimizer
 * state, history, written to a new directory and swapped in by renames); `resume` continues from the last
 * complete checkpoint exactly where the uninterrupted run would be (data order and augmentation derive
 * from (seed, epoch), the schedule from the step, the optimizer from its saved buffers).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { classWeights, type AuSample } from '../data/dataset.js';
import { batches, type Batch } from '../data/loader.js';
import type { AuModel } from '../model/model.js';
import { loadTensors, saveTensors } from '../tf/weights-io.js';
import { PAPER_LOSS_WEIGHTS, landmarkLoss, weightedAsymmetricLoss, weightedDiceLoss, type LossWeights } from './losses.js';
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
  resume?: boolean;
  onStep?: (record: StepRecord, stepsPerEpoch: number) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Stop after this many epochs of this call (tests interrupt runs with it). */
  stopAfterEpochs?: number;
  /** Skip unreadable images (masked out of the batch) and report them here, instead of stopping. */
  onBadImage?: (file: string, reason: string) => void;
}

interface TrainerState {
  format: 'sacl-au-trainer';
  epochsDone: number;
  step: number;
  options: TrainOptions;
  history: History;
}

const CHECKPOINT = 'checkpoint';

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

/** The directory of the newest complete checkpoint (a swap interrupted between its renames included). */
function checkpointPath(dir: string): string | null {
  for (const name of [CHECKPOINT, `${CHECKPOINT}.new`, `${CHECKPOINT}.old`]) {
    if (existsSync(join(dir, name, 'state.json'))) return join(dir, name);
  }
  return null;
}

async function saveCheckpoint(dir: string, model: AuModel, optimizer: NesterovSgd, state: TrainerState): Promise<void> {
  const fresh = join(dir, `${CHECKPOINT}.new`);
  await rm(fresh, { recursive: true, force: true });
  await mkdir(fresh, { recursive: true });
  await model.save(join(fresh, 'model'));
  await saveTensors(join(fresh, 'optimizer'), optimizer.state());
  await writeFile(join(fresh, 'state.json'), JSON.stringify(state)); // last: marks the directory complete
  const current = join(dir, CHECKPOINT);
  const old = join(dir, `${CHECKPOINT}.old`);
  await rm(old, { recursive: true, force: true });
  if (existsSync(current)) await rename(current, old);
  await rename(fresh, current);
  await rm(old, { recursive: true, force: true });
}

/** Restores model weights, optimizer buffers and the loop's state from a checkpoint directory. */
async function restore(path: string, model: AuModel, optimizer: NesterovSgd): Promise<TrainerState> {
  const state = JSON.parse(await readFile(join(path, 'state.json'), 'utf8')) as TrainerState;
  if (state.format !== 'sacl-au-trainer') throw new TypeError(`${path}: not a sacl-au training checkpoint`);
  const { tensors, metadata } = await loadTensors(join(path, 'model'));
  if (JSON.stringify(metadata.config) !== JSON.stringify(model.config)) {
    tf.dispose(tensors.map((t) => t.tensor));
    throw new RangeError(`${path}: the checkpoint was trained with another model config (variant ${(metadata.config as { variant?: string }).variant})`);
  }
  try {
    model.assignSaved(tensors, metadata, join(path, 'model'));
  } finally {
    tf.dispose(tensors.map((t) => t.tensor));
  }
  const opt = await loadTensors(join(path, 'optimizer'));
  optimizer.loadState(opt.tensors);
  tf.dispose(opt.tensors.map((t) => t.tensor));
  return state;
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
  const { model, weights, lossWeights: lw } = ctx;
  const numAus = model.numAus;
  const S = model.config.inputSize;
  const vars = [...ctx.params.values()];
  const chunks = microBatches(batch.size, ctx.microBatch);
  const parts: tf.Scalar[] = [];
  // the gradients of images [start, start + n), their loss weighted by share = n / B
  const gradsOf = (start: number, n: number, share: number) => tf.tidy(() => {
    const rows = (a: Float32Array, width: number) => a.subarray(start * width, (start + n) * width);
    const images = tf.tensor4d(rows(batch.images, S * S * 3), [n, S, S, 3]);
    const labels = tf.tensor2d(rows(batch.labels, numAus), [n, numAus]);
    const mask = tf.tensor2d(rows(batch.mask, numAus), [n, numAus]);
    return tf.variableGrads(() => {
      const out = model.apply(images, { training: true });
      const probs = tf.sigmoid(out.logits);
      const wa = weightedAsymmetricLoss(probs, labels, mask, weights);
      const dice = weightedDiceLoss(probs, labels, mask, weights);
      const land = out.landmarks
        ? landmarkLoss(out.landmarks, tf.tensor3d(rows(batch.landmarks, 98), [n, 49, 2]), tf.tensor1d(rows(batch.interOcular, 1)),
          tf.tensor1d(rows(batch.hasLandmarks, 1)))
        : tf.scalar(0);
      const total = tf.addN([tf.mul(wa, lw.asymmetric), tf.mul(dice, lw.dice), tf.mul(land, lw.landmarks)]) as tf.Scalar;
      const weigh = (t: tf.Scalar) => (share === 1 ? t : tf.mul(t, share) as tf.Scalar); // whole batch: untouched
      parts.push(...[total, wa, dice, land].map((t) => tf.keep(weigh(t))));
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

export async function train({ model, samples, options, dir, resume = false, onStep, onEpoch, stopAfterEpochs, onBadImage }: TrainArgs): Promise<History> {
  if (samples.length === 0) throw new RangeError('train: no training samples');
  const numAus = model.numAus;
  if (samples[0]!.labels.length !== numAus) throw new RangeError(`train: samples carry ${samples[0]!.labels.length} AU labels, the model predicts ${numAus}`);
  const optimizer = new NesterovSgd({ momentum: options.momentum, weightDecay: options.weightDecay, clipNorm: options.clipNorm });
  const stepsPerEpoch = Math.ceil(samples.length / options.batchSize);
  const schedule = { peak: options.lr, totalSteps: stepsPerEpoch * options.epochs, warmupSteps: Math.round(stepsPerEpoch * options.warmupEpochs) };
  let state: TrainerState = { format: 'sacl-au-trainer', epochsDone: 0, step: 0, options, history: { steps: [], epochs: [] } };
  if (resume) {
    const path = dir ? checkpointPath(dir) : null;
    if (path) state = await restore(path, model, optimizer);
  }
  const weights = tf.tensor1d(classWeights(samples, numAus));
  const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
  const ctx: StepContext = { model, optimizer, params, weights, lossWeights: options.lossWeights, microBatch: options.microBatch };
  const S = model.config.inputSize;
  try {
    let ran = 0;
    for (let epoch = state.epochsDone; epoch < options.epochs; epoch++) {
      if (stopAfterEpochs !== undefined && ran >= stopAfterEpochs) break;
      const started = Date.now();
      let sum = 0;
      let count = 0;
      for await (const batch of batches(samples, { inputSize: S, batchSize: options.batchSize, augment: options.augment, shuffle: true, seed: options.seed, epoch, ...(onBadImage && { onBadImage }) })) {
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
      }
      const record: EpochRecord = { epoch, loss: sum / Math.max(1, count), steps: stepsPerEpoch, seconds: (Date.now() - started) / 1000 };
      state.history.epochs.push(record);
      state.epochsDone = epoch + 1;
      if (dir) await saveCheckpoint(dir, model, optimizer, state);
      onEpoch?.(record);
      ran++;
    }
    return state.history;
  } finally {
    weights.dispose();
    optimizer.dispose();
  }
}
