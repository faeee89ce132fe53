/**
 * The two on-disk formats, owned here only: the model directory (model.json + weights: config, seed,
 * format version, named parameters; tfjs weights format, written atomically) and the trainer checkpoint
 * (`<out>/checkpoint/`: a model directory, the optimizer's buffers and state.json, swapped in by renames).
 * Reading either checks the saved config once, the same way: the config as the current version reads it
 * (savedConfig), then the weights' names and shapes against it, before any parameter is allocated.
 */
import { rangeError, typeError } from '../util/validate.js';
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inputTemplate } from '../face/landmarks.js';
import { fileSystem, loadTensors, saveTensors } from '../tf/weights-io.js';
import { syncDir, writeFileAtomic } from '../util/fs.js';
import { savedConfig, type ModelConfig } from './config.js';

/**
 * Version of the saved model format. 1: the landmark head's `landmarks.fc.bias` held the mean face
 * (template × input size); 2: the template is a constant added to the head's output, the bias an offset.
 */
export const MODEL_FORMAT_VERSION = 2;

export type NamedTensor = { name: string; tensor: tf.Tensor };

/**
 * Saved tensors as the current format reads them. A version-1 landmark bias becomes the offset from the
 * version-2 template (bias − template), so an old model predicts the same landmarks (to rounding).
 * Throws for a newer version than this code knows. Tensors it replaces are disposed.
 */
export function upgradeSavedTensors(tensors: NamedTensor[], metadata: Record<string, unknown>, source: string): NamedTensor[] {
  const version = metadata.version === undefined ? 1 : Number(metadata.version);
  if (!Number.isInteger(version) || version < 1 || version > MODEL_FORMAT_VERSION) {
    throw rangeError(`the model format version of ${source}`, `1…${MODEL_FORMAT_VERSION}`, `${JSON.stringify(metadata.version)} (written by a newer sacl-au?)`);
  }
  if (version >= 2) return tensors;
  const config = metadata.config as ModelConfig | undefined;
  if (!config?.landmarks) return tensors;
  const template = inputTemplate(config.inputSize);
  return tensors.map((t) => {
    if (t.name !== 'landmarks.fc.bias' || t.tensor.size !== template.length) return t;
    const offset = tf.tidy(() => tf.sub(t.tensor, tf.tensor(template, t.tensor.shape)));
    t.tensor.dispose();
    return { name: t.name, tensor: offset };
  });
}

/** A parameter's name in this version for one saved by an earlier one (the stem's norms were `bn1`/`bn2`). */
export function currentName(saved: string): string {
  return saved.replace(/^backbone\.stem\.bn([12])\./, 'backbone.stem.norm$1.');
}

/** What a model directory holds, as the current version reads it. The caller owns (disposes) `tensors`. */
export interface SavedModel {
  config: ModelConfig;
  seed: number;
  /** Every parameter, by current name, upgraded to the current format. */
  tensors: NamedTensor[];
}

/**
 * Checks a saved config against the weights' names and shapes (throw to refuse): e.g. a shapes-only
 * model's ParamStore.checkFits, or a running model's config compared with the saved one.
 */
export type FitCheck = (config: ModelConfig, seed: number, specs: { name: string; shape: readonly number[] }[]) => void;

/** What a model directory is written from. */
export interface ModelToSave {
  config: ModelConfig;
  seed: number;
  named(): NamedTensor[];
}

/** Writes config + weights (tfjs weights format, atomic) to a directory. */
export async function writeModelDir(dir: string, model: ModelToSave): Promise<void> {
  const named = model.named().map(({ name, tensor }) => ({ name, tensor }));
  await saveTensors(dir, named, { format: 'sacl-au-model', version: MODEL_FORMAT_VERSION, seed: model.seed, config: model.config as unknown as {} });
}

/** A model directory's metadata, checked: format, seed, and the config as the current version reads it. */
function checkedMetadata(dir: string, metadata: Record<string, unknown>): { config: ModelConfig; seed: number } {
  const file = join(dir, 'model.json');
  if (metadata.format !== 'sacl-au-model') throw new TypeError(`${dir}: not a sacl-au model checkpoint (format ${JSON.stringify(metadata.format)})`);
  const seed = metadata.seed === undefined ? 1 : metadata.seed;
  if (!Number.isSafeInteger(seed)) throw typeError(`seed in ${file}`, 'an integer', JSON.stringify(seed));
  return { config: savedConfig(metadata.config as ModelConfig), seed: seed as number };
}

/** A model directory's config (and seed), checked as {@link readModelDir} checks it, without reading the weights. */
export async function readModelConfig(dir: string): Promise<{ config: ModelConfig; seed: number }> {
  const file = join(dir, 'model.json');
  let json: { userDefinedMetadata?: Record<string, unknown> };
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as typeof json;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return checkedMetadata(dir, json.userDefinedMetadata ?? {});
}

/**
 * Reads a model directory: metadata checked, then `fits` on the config and the manifest's names and
 * shapes (nothing decoded yet, so a config that does not describe the weights costs nothing), then the
 * weights decoded once and upgraded to the current format.
 */
export async function readModelDir(dir: string, fits: FitCheck): Promise<SavedModel> {
  const artifacts = await fileSystem(dir).load!();
  const metadata = (artifacts.userDefinedMetadata ?? {}) as Record<string, unknown>;
  const { config, seed } = checkedMetadata(dir, metadata);
  const specs = artifacts.weightSpecs!;
  fits(config, seed, specs.map((s) => ({ name: currentName(s.name), shape: s.shape })));
  const decoded = tf.io.decodeWeights(artifacts.weightData!, specs);
  const tensors = specs.map((s) => ({ name: currentName(s.name), tensor: decoded[s.name]! }));
  try {
    return { config, seed, tensors: upgradeSavedTensors(tensors, metadata, dir) };
  } catch (e) {
    tf.dispose(tensors.map((t) => t.tensor));
    throw e;
  }
}

// ---- the trainer checkpoint -------------------------------------------------------------------------

const CHECKPOINT = 'checkpoint';
const CHECKPOINT_NAMES = [CHECKPOINT, `${CHECKPOINT}.new`, `${CHECKPOINT}.old`];

/** state.json: the training loop's state; the trainer gives `options`, `run` and `history` their types. */
export interface TrainerStateFile {
  format: 'sacl-au-trainer';
  epochsDone: number;
  step: number;
  /** Batches of epoch `epochsDone` trained already (a checkpoint within an epoch); absent or 0 at an epoch's end. */
  batchesDone?: number;
  /** That unfinished epoch's loss sum (weighted by batch size), image count and seconds so far. */
  partial?: { sum: number; count: number; seconds: number };
  options: object;
  /** Absent in checkpoints written before runs were recorded. */
  run?: Record<string, string | number | boolean | null>;
  history: object;
}

/** A checkpoint found on disk: where it is, its state and the model config it trains (read as the current version reads it). */
export interface CheckpointRecord<S extends TrainerStateFile = TrainerStateFile> {
  path: string;
  state: S;
  config: ModelConfig;
}

/** Where the checkpoint of a run in `dir` is (once complete). */
export function checkpointDir(dir: string): string {
  return join(dir, CHECKPOINT);
}

/**
 * Checkpoint directories holding a state.json, newest first: `checkpoint`; `checkpoint.new` (complete, its
 * swap interrupted between the renames); `checkpoint.old` (the previous one, kept as a fallback).
 */
export function checkpointPaths(dir: string): string[] {
  return CHECKPOINT_NAMES.map((n) => join(dir, n)).filter((p) => existsSync(join(p, 'state.json')));
}

/** True when `dir` holds a checkpoint (complete or not). */
export function hasCheckpoint(dir: string): boolean {
  return CHECKPOINT_NAMES.some((n) => existsSync(join(dir, n)));
}

/** Removes every checkpoint of a run in `dir` (a run started again over it). */
export async function removeCheckpoints(dir: string): Promise<void> {
  for (const n of CHECKPOINT_NAMES) await rm(join(dir, n), { recursive: true, force: true });
}

async function readState<S extends TrainerStateFile>(path: string): Promise<S> {
  const file = join(path, 'state.json');
  let state: S;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as S;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (state === null || typeof state !== 'object' || state.format !== 'sacl-au-trainer' || !Number.isInteger(state.epochsDone)
    || !Number.isInteger(state.step) || typeof state.options !== 'object' || state.options === null || typeof state.history !== 'object'
    || (state.batchesDone !== undefined && !(Number.isInteger(state.batchesDone) && state.batchesDone >= 0))) {
    throw new TypeError(`${file}: not a sacl-au training checkpoint state`);
  }
  return state;
}

/**
 * The newest checkpoint in `dir` whose state.json and model config read (an unreadable one is reported to
 * `onWarning` and the previous one tried), or null when there is none.
 */
export async function readCheckpoint<S extends TrainerStateFile>(dir: string, onWarning: (message: string) => void): Promise<CheckpointRecord<S> | null> {
  for (const path of checkpointPaths(dir)) {
    try {
      const state = await readState<S>(path);
      const { config } = await readModelConfig(join(path, 'model'));
      return { path, state, config };
    } catch (e) {
      onWarning(`checkpoint ${path} is unreadable (${(e as Error).message}); trying the previous one`);
    }
  }
  return null;
}

/**
 * Reads one checkpoint directory: its state, the model (checked by `fits`, as {@link readModelDir}) and
 * the optimizer's buffers. The caller disposes the tensors.
 */
export async function readCheckpointDir<S extends TrainerStateFile>(path: string, fits: FitCheck): Promise<{ state: S; model: SavedModel; optimizer: NamedTensor[] }> {
  const state = await readState<S>(path);
  const model = await readModelDir(join(path, 'model'), fits);
  try {
    const { tensors: optimizer } = await loadTensors(join(path, 'optimizer'));
    return { state, model, optimizer };
  } catch (e) {
    tf.dispose(model.tensors.map((t) => t.tensor));
    throw e;
  }
}

/**
 * Writes a checkpoint into `checkpoint.new` (every file fsynced, state.json last), then swaps it in by
 * renames: `checkpoint` → `checkpoint.old` (kept: the fallback should the new one be damaged later),
 * `checkpoint.new` → `checkpoint`. Each rename is made durable by an fsync of the directory.
 */
export async function writeCheckpoint(dir: string, model: ModelToSave, optimizer: NamedTensor[] | tf.NamedTensorMap, state: TrainerStateFile): Promise<void> {
  const fresh = join(dir, `${CHECKPOINT}.new`);
  const current = join(dir, CHECKPOINT);
  const old = join(dir, `${CHECKPOINT}.old`);
  // a swap interrupted between its renames: finish it before writing the next checkpoint over `.new`
  if (!existsSync(current) && existsSync(join(fresh, 'state.json'))) await rename(fresh, current);
  await rm(fresh, { recursive: true, force: true });
  await mkdir(fresh, { recursive: true });
  await writeModelDir(join(fresh, 'model'), model);
  await saveTensors(join(fresh, 'optimizer'), optimizer);
  await syncDir(fresh);
  await writeFileAtomic(join(fresh, 'state.json'), JSON.stringify(state)); // last: marks the directory complete
  await syncDir(dir);
  if (existsSync(current)) {
    await rm(old, { recursive: true, force: true });
    await rename(current, old);
  }
  await rename(fresh, current);
  await syncDir(dir);
}
