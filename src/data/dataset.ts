/**
 * The dataset interface the trainer, the evaluator and every reader share: a list of samples (an image
 * on disk, its 49 landmarks, its AU labels, its subject), never the images themselves, so 140 k frames
 * stream. Labels are 1 (present), 0 (absent) or -1 (unknown: left out of losses and counts).
 */
import type { AuSet } from '../face/au.js';

export const UNKNOWN = -1;

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
 * ME-GraphAU's fold naming (docs/datasets.md, Subjects and folds): fold 1 trains on parts 1+2 and tests on part 3, fold 2 trains on
 * 1+3 and tests on 2, fold 3 trains on 2+3 and tests on 1. Subject-exclusive by construction.
 */
export function foldSplit(dataset: AuDataset, fold: number): { train: AuSample[]; test: AuSample[] } {
  if (![1, 2, 3].includes(fold)) throw new RangeError(`fold: expected 1, 2 or 3; got ${fold}`);
  const testPart = dataset.parts[[2, 1, 0][fold - 1]!]!;
  const test = new Set(testPart);
  const known = new Set(dataset.parts.flat());
  const stray = [...new Set(dataset.samples.map((s) => s.subject))].filter((s) => !known.has(s));
  if (stray.length) throw new RangeError(`${dataset.name}: subjects ${stray.slice(0, 5).join(', ')} belong to no part of the 3-fold split`);
  return {
    train: dataset.samples.filter((s) => !test.has(s.subject)),
    test: dataset.samples.filter((s) => test.has(s.subject)),
  };
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
