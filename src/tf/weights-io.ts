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
import { message } from '../util/validate.js';

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

/** The weights files' bytes as one buffer: one file read into a buffer of its own is used as it is, several are joined (one copy). */
function joinFiles(parts: Uint8Array[]): ArrayBuffer {
  const only = parts.length === 1 ? parts[0]! : null;
  if (only && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only.buffer as ArrayBuffer;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
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
      const groups = checkManifest(json, file);
      const realDir = await fs.realpath(dir);
      // every file's size is checked before any is read: the manifest bounds what loading allocates
      const files = await Promise.all(groups.flatMap((g) => g.paths).map((p) => weightsFile(dir, realDir, p, file)));
      const specs = groups.flatMap((g) => g.weights);
      const size = files.reduce((n, f) => n + f.size, 0);
      const expected = specs.reduce((n, s) => n + specBytes(s), 0);
      if (size !== expected) throw new Error(message(`the weights files named by ${file}`, `${expected} bytes (what its manifest lists)`, `${size} bytes`));
      const parts: Uint8Array[] = [];
      for (const f of files) {
        let bytes: Uint8Array;
        try {
          bytes = await fs.readFile(f.path);
        } catch (e) {
          throw new Error(`Cannot read the weights file ${f.path} named by ${file}: ${(e as Error).message}`);
        }
        if (bytes.byteLength !== f.size) throw new Error(`${f.path} changed size while ${file} was loading`);
        parts.push(bytes);
      }
      const { weightsManifest: _m, ...rest } = json;
      return { ...(rest as tf.io.ModelArtifacts), weightSpecs: specs, weightData: joinFiles(parts) };
    },
  };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Bytes a manifest entry takes in the weights file (quantized entries at their stored width). */
function specBytes(s: tf.io.WeightsManifestEntry): number {
  const count = s.shape.reduce((a, b) => a * b, 1);
  return count * (s.quantization ? QUANTIZED_BYTES[s.quantization.dtype]! : DTYPE_BYTES[s.dtype]!);
}

const describe = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80) ?? String(v));

/** The manifest's groups, every field checked; errors name `file` and the field. */
function checkManifest(json: Record<string, unknown>, file: string): tf.io.WeightsManifestConfig {
  const fail = (name: string, expected: string, got: unknown): never => {
    throw new TypeError(message(`${name} in ${file}`, expected, describe(got)));
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('the file', 'a JSON object', json);
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) fail('weightsManifest', 'an array', manifest);
  const names = new Set<string>();
  (manifest as unknown[]).forEach((group, g) => {
    const at = `weightsManifest[${g}]`;
    if (group === null || typeof group !== 'object') fail(at, 'an object', group);
    const { paths, weights } = group as { paths: unknown; weights: unknown };
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p === '')) fail(`${at}.paths`, 'a list of file names', paths);
    if (!Array.isArray(weights)) fail(`${at}.weights`, 'an array', weights);
    (weights as unknown[]).forEach((w, i) => {
      const wat = `${at}.weights[${i}]`;
      if (w === null || typeof w !== 'object') fail(wat, 'an object', w);
      const { name, shape, dtype, quantization } = w as Record<string, unknown>;
      if (typeof name !== 'string' || name === '') fail(`${wat}.name`, 'a non-empty string', name);
      if (names.has(name as string)) fail(`${wat}.name`, 'a name used once', name);
      names.add(name as string);
      if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`${wat}.shape`, 'a list of non-negative integers', shape);
      if (!(typeof dtype === 'string' && dtype in DTYPE_BYTES)) fail(`${wat}.dtype`, 'float32, int32 or bool', dtype);
      if (quantization !== undefined) {
        const q = quantization as Record<string, unknown> | null;
        if (q === null || typeof q !== 'object' || !(typeof q.dtype === 'string' && q.dtype in QUANTIZED_BYTES)) {
          fail(`${wat}.quantization.dtype`, 'uint8, uint16 or float16', q?.dtype);
        }
      }
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(count * 4)) fail(`${wat}.shape`, 'fewer than 2^51 elements', shape);
    });
  });
  return manifest as tf.io.WeightsManifestConfig;
}

/**
 * A weights file named by the manifest, confined to the model's directory: a relative path without `..`,
 * a regular file, and (through symlinks) still inside the directory. Returns its path and size.
 */
async function weightsFile(dir: string, realDir: string, name: string, file: string): Promise<{ path: string; size: number }> {
  const parts = name.split(/[\\/]/);
  if (path.isAbsolute(name) || /^[a-zA-Z]:/.test(name) || parts.includes('..')) {
    throw new Error(message(`the weights path ${JSON.stringify(name)} in ${file}`, `a file inside ${dir} (no absolute paths, no "..")`, JSON.stringify(name)));
  }
  const weightsPath = path.join(dir, ...parts);
  let real: string;
  let stat: import('node:fs').Stats;
  try {
    real = await fs.realpath(weightsPath);
    stat = await fs.stat(real);
  } catch (e) {
    throw new Error(`Cannot read the weights file ${weightsPath} named by ${file}: ${(e as Error).message}`);
  }
  const inside = path.relative(realDir, real);
  if (inside === '' || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    throw new Error(message(`the weights path ${JSON.stringify(name)} in ${file}`, `a file inside ${dir}`, `a path that leads outside it (to ${real})`));
  }
  if (!stat.isFile()) throw new Error(message(`the weights path ${JSON.stringify(name)} in ${file}`, 'a regular file', stat.isDirectory() ? 'a directory' : 'a special file'));
  return { path: real, size: stat.size };
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
