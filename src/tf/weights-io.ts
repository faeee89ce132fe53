/**
 * Weights I/O without tfjs-node: a tf.io handler that saves and loads the standard tfjs format (model.json
 * + a binary weights file) in a directory, and the same format for any named tensors (optimizer state).
 *
 * Crash-safe: the weights go to a new file named by their content hash, then model.json is replaced
 * atomically (write to a temporary file, rename over); only then are older weights files removed. An
 * interrupted save leaves the previous model.json, which still names its own complete weights file.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';

export { writeFileAtomic };

const MODEL_JSON = 'model.json';

/** A tensor with its name, as optimizers' getWeights() return them. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}


function concat(weightData: tf.io.WeightData): Uint8Array {
  const parts = Array.isArray(weightData) ? weightData : [weightData];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return out;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** tf.io handler for a directory: `model.save(fileSystem(dir))`, `tf.loadLayersModel(fileSystem(dir))`. */
export function fileSystem(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await fs.mkdir(dir, { recursive: true });
      const bytes = concat(artifacts.weightData ?? new ArrayBuffer(0));
      const weightsFile = `weights-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.bin`;
      await writeFileAtomic(path.join(dir, weightsFile), bytes);
      const { weightData: _data, weightSpecs, ...rest } = artifacts;
      const json = { ...rest, weightsManifest: [{ paths: [`./${weightsFile}`], weights: weightSpecs ?? [] }] };
      await writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
      for (const f of await fs.readdir(dir)) {
        if (/^weights-[0-9a-f]+\.bin$/.test(f) && f !== weightsFile) await fs.rm(path.join(dir, f), { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const file = path.join(dir, MODEL_JSON);
      const json = await readJson(file);
      const manifest = json.weightsManifest as tf.io.WeightsManifestConfig | undefined;
      if (!Array.isArray(manifest)) throw new Error(`${file} has no weightsManifest array`);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const group of manifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const weightsPath = path.join(dir, p);
          try {
            parts.push(await fs.readFile(weightsPath));
          } catch (e) {
            throw new Error(`Cannot read the weights file ${weightsPath} named by ${file}: ${(e as Error).message}`);
          }
        }
      }
      const data = concat(parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer));
      const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'bool' ? 1 : 4), 0);
      if (specs.every((s) => !s.quantization) && data.byteLength !== expected) {
        throw new Error(`The weights named by ${file} hold ${data.byteLength} bytes; the manifest needs ${expected}`);
      }
      const { weightsManifest: _m, ...rest } = json;
      return { ...(rest as tf.io.ModelArtifacts), weightSpecs: specs, weightData: data.buffer as ArrayBuffer };
    },
  };
}

/** Saves named tensors (e.g. `await optimizer.getWeights()`) in the same format, crash-safe. */
export async function saveTensors(dir: string, tensors: NamedTensor[] | tf.NamedTensorMap,
  metadata: Record<string, {}> = {}): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await fileSystem(dir).save!({ weightData: data, weightSpecs: specs, format: 'sacl-au-tensors', userDefinedMetadata: metadata });
}

/** Loads what {@link saveTensors} wrote: the tensors by name, in saved order, and the metadata. */
export async function loadTensors(dir: string): Promise<{ tensors: NamedTensor[]; metadata: Record<string, {}> }> {
  const artifacts = await fileSystem(dir).load!();
  const map = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const tensors = artifacts.weightSpecs!.map((s) => ({ name: s.name, tensor: map[s.name]! }));
  return { tensors, metadata: (artifacts.userDefinedMetadata ?? {}) as Record<string, {}> };
}
