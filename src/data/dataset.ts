/**
 * The dataset interface the trainer, the evaluator and every reader share: a list of samples (an image
 * on disk, its 49 landmarks, its AU labels, its subject), never the images themselves, so 140 k frames
 * stream. Labels are 1 (present), 0 (absent) or -1 (unknown: left out of losses and counts).
 */
import { readFileSync } from 'node:fs';
import type { AuSet } from '../face/au.js';
import { rangeError } from '../util/validate.js';

export const UNKNOWN = -1;

/** The largest finite float32 (landmarks are stored as float32). */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Landmark coordinates as float32, or a RangeError naming `where` for a finite value float32 cannot hold
 * (it would become ±Infinity and surface later as a diverged training).
 */
export function float32Landmarks(values: ArrayLike<number>, where: string): Float32Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v) && Math.abs(Math.fround(v)) > FLOAT32_MAX) {
      throw rangeError(where, 'coordinates within float32 range (±3.4e38)', `${v}`);
    }
  }
  return Float32Array.from(values);
}

/** Called as a reader works through a tree's sequences (reading landmark files can take minutes). */
export type ReadProgress = (done: number, total: number) => void;

export interface AuSample {
  /** Unique within the dataset, e.g. "F001/T1/12". */
  id: string;
  subject: string;
  imagePath: string;
  /** 49 (x, y) in the image's pixels, 0-based; null when the dataset has none for this frame. */
  landmarks: Float32Array | null;
  /** One entry per AU of the dataset's set: 1, 0 or UNKNOWN. */
  labels: Int8Array;
}

export interface AuDataset {
  name: string;
  auSet: AuSet;
  aus: readonly number[];
  samples: AuSample[];
  /** Subjects of each of the three parts (paper Table 3 for the real sets). */
  parts: [string[], string[], string[]];
}

/**
 * ME-GraphAU's fold naming (docs/datasets.md, Subjects and folds): fold 1 trains on parts 1+2 and tests on
 * part 3, fold 2 trains on 1+3 and tests on 2, fold 3 trains on 2+3 and tests on 1. Subject-exclusive
 * (paper §4.1.1): parts that share a subject, a subject in no part, or a fold with an empty train or test
 * side are refused.
 */
export function foldSplit(dataset: AuDataset, fold: number): { train: AuSample[]; test: AuSample[] } {
  if (![1, 2, 3].includes(fold)) throw rangeError('fold', '1, 2 or 3', fold);
  const partOf = new Map<string, number>();
  dataset.parts.forEach((subjects, p) => subjects.forEach((s) => {
    const other = partOf.get(s);
    if (other !== undefined && other !== p) throw rangeError(`the parts of ${dataset.name}`, 'each subject in one part', `${s} in parts ${other + 1} and ${p + 1}`);
    partOf.set(s, p);
  }));
  const stray = [...new Set(dataset.samples.map((s) => s.subject))].filter((s) => !partOf.has(s));
  if (stray.length) throw new RangeError(`${dataset.name}: subjects ${stray.slice(0, 5).join(', ')} belong to no part of the 3-fold split`);
  const testPart = [2, 1, 0][fold - 1]!;
  const trainParts = [0, 1, 2].filter((p) => p !== testPart);
  const train = dataset.samples.filter((s) => partOf.get(s.subject) !== testPart);
  const test = dataset.samples.filter((s) => partOf.get(s.subject) === testPart);
  const parts = (ps: number[]) => ps.map((p) => `part ${p + 1} (${dataset.parts[p]!.length ? dataset.parts[p]!.join(', ') : 'no subjects'})`).join(' and ');
  if (test.length === 0) throw rangeError(`fold ${fold} of ${dataset.name}`, `test samples from ${parts([testPart])}`, 'none');
  if (train.length === 0) throw rangeError(`fold ${fold} of ${dataset.name}`, `training samples from ${parts(trainParts)}`, 'none');
  return { train, test };
}

/**
 * A tree's own subject parts from `file` (folds.json: `{"parts": [[ids…], [ids…], [ids…]]}`), or a
 * RangeError naming the file and what is wrong.
 */
export function readFoldsFile(file: string): [string[], string[], string[]] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw rangeError(file, 'JSON', `a parse error (${(e as Error).message})`);
  }
  const parts = (json as { parts?: unknown } | null)?.parts;
  if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => Array.isArray(p) && p.every((s) => typeof s === 'string'))) {
    const got = JSON.stringify(json) ?? String(json);
    throw rangeError(file, '{"parts": [[subject ids], [subject ids], [subject ids]]}', got.length > 80 ? `${got.slice(0, 80)}…` : got);
  }
  return parts as [string[], string[], string[]];
}

/** Per-AU positive rate over known labels. */
export function positiveRates(samples: AuSample[], numAus: number): number[] {
  const pos = new Float64Array(numAus);
  const known = new Float64Array(numAus);
  for (const s of samples) {
    for (let a = 0; a < numAus; a++) {
      const v = s.labels[a]!;
      if (v === UNKNOWN) continue;
      known[a]! += 1;
      if (v === 1) pos[a]! += 1;
    }
  }
  return Array.from(pos, (p, a) => (known[a]! > 0 ? p / known[a]! : 0));
}

/**
 * Class weights w_c = C · (1/r_c) / Σ_j (1/r_j) from the training fold (paper §4.1; docs/training.md). An AU never present
 * gets the rate of one positive in the fold, so its weight stays finite.
 */
export function classWeights(samples: AuSample[], numAus: number): number[] {
  const floor = 1 / Math.max(1, samples.length);
  const inv = positiveRates(samples, numAus).map((r) => 1 / Math.max(r, floor));
  const sum = inv.reduce((a, b) => a + b, 0);
  return inv.map((v) => (numAus * v) / sum);
}
