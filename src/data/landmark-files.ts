/**
 * Landmark files the layout readers take, all returned as 49 interleaved 0-based (x, y) pairs by frame.
 *
 * CSV (`Landmarks/<sequence>.csv`: a header, then a frame number and x1 y1 … per row, 1-based): 49 points
 * (what the synthetic generator and `sacl-au align` write), or DISFA's 66 mapped to 49.
 *
 * The datasets' own files, as distributed (MATLAB MAT-files; docs/datasets.md):
 *   - BP4D: `2DFeatures/<subject>_<task>.mat` (v7.3), a struct array `fit` with one element per frame
 *     image of the sequence, in frame order: `fit(k).pred` holds the 49 tracked points of the sequence's
 *     k-th frame image as a 49 × 2 [x y] matrix, empty where the tracker lost the face. The file names
 *     no frame numbers, so the element count must equal the image count (docs/datasets.md);
 *   - DISFA: `Landmark_Points/<SN>/tmp_frame_lm/*_lm.mat` (Level 5), one file per video frame holding
 *     `pts`, the 66 points as a 66 × 2 [x y] matrix, the frame number in the name: `<SN>_<n>_lm.mat`
 *     counts from 0 (n = 0 is label frame 1), `l<n>_lm.mat` from 0 or 1 as the folder's lowest number
 *     says. A missing file (SN031 lacks one) leaves its frame without landmarks and shifts no other.
 * Coordinates are MATLAB's 1-based pixels; they are returned 0-based, as every reader returns them.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NUM_LANDMARKS } from '../face/landmarks.js';
import { landmarksFromMatrix, readMatVariable, structField } from './mat/index.js';
import { landmarks66To49 } from './list-formats.js';
import { float32Landmarks } from './dataset.js';
import { rangeError } from '../util/validate.js';

/** Landmarks by frame (the frame column's number, as text) from a landmark CSV of 49 or 66 points. */
export function readLandmarkCsv(file: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const rowOf = new Map<string, number>();
  readFileSync(file, 'utf8').split(/\r?\n/).slice(1).forEach((line, i) => {
    if (!line.trim()) return;
    const cells = line.split(',').map((c) => Number(c.trim()));
    if ((cells.length !== 1 + 2 * NUM_LANDMARKS && cells.length !== 1 + 2 * 66) || cells.some((v) => !Number.isFinite(v))) {
      throw rangeError(`row ${i + 2} of ${file}`, `a frame and ${2 * NUM_LANDMARKS} numbers (49 points) or 132 (66 points)`,
        JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line));
    }
    const frame = String(cells[0]);
    const first = rowOf.get(frame);
    if (first !== undefined) throw rangeError(`row ${i + 2} of ${file}`, 'one row per frame', `frame ${frame} again (first on row ${first})`);
    rowOf.set(frame, i + 2);
    const points = float32Landmarks(cells.slice(1).map((v) => v - 1), `row ${i + 2} of ${file}`);
    out.set(frame, points.length === 132 ? landmarks66To49(points) : points);
  });
  return out;
}

/**
 * Landmarks by frame number from a BP4D 2-D feature file, given the sequence's frame numbers in order
 * (those of its images in `sequenceDir`): `fit(k)` belongs to the k-th of them.
 */
export async function readBp4dFeatureFile(file: string, frames: readonly number[], sequenceDir: string): Promise<Map<string, Float32Array>> {
  const preds = structField(await readMatVariable(file, 'fit', ['pred']), 'pred', `fit in ${file}`);
  if (preds.length !== frames.length) {
    throw rangeError(file, `one fit element per frame image in ${sequenceDir} (${frames.length})`, preds.length);
  }
  const out = new Map<string, Float32Array>();
  preds.forEach((p, i) => {
    const points = landmarksFromMatrix(p, `fit(${i + 1}).pred in ${file}`, NUM_LANDMARKS);
    if (points) out.set(String(frames[i]), points);
  });
  return out;
}

/** The folder of a DISFA subject's per-frame landmark files: `tmp_frame_lm`, or the subject folder's only subfolder. */
function disfaPointDir(root: string, sn: string): string | null {
  const base = join(root, 'Landmark_Points', sn);
  if (!existsSync(base)) return null;
  if (existsSync(join(base, 'tmp_frame_lm'))) return join(base, 'tmp_frame_lm');
  const dirs = readdirSync(base).filter((d) => statSync(join(base, d)).isDirectory());
  return dirs.length === 1 ? join(base, dirs[0]!) : base;
}

/**
 * The label frame (1-based) of each DISFA landmark file, from its name: `<SN>_<n>_lm.mat` counts from 0;
 * `l<n>_lm.mat` (and any other `<name><n>_lm.mat`) from 0 when the folder holds a number 0, else from 1.
 */
export function disfaPointFrames(dir: string, names: readonly string[]): Map<number, string> {
  const lm = names.filter((name) => /_lm\.mat$/i.test(name));
  if (lm.length === 0) throw rangeError(dir, '<name><frame>_lm.mat landmark files', 'none');
  const parsed = lm.map((name) => {
    const subject = /^SN\d+_/i.exec(name)?.[0] ?? '';
    const m = /^\D*(\d+)_lm\.mat$/i.exec(name.slice(subject.length));
    if (!m) throw rangeError(`the name of ${join(dir, name)}`, 'a frame number before _lm.mat', 'none');
    return { name, zeroBased: subject !== '', n: Number(m[1]) };
  });
  const otherFromZero = parsed.some((f) => !f.zeroBased && f.n === 0);
  const out = new Map<number, string>();
  for (const f of parsed) {
    const frame = f.zeroBased || otherFromZero ? f.n + 1 : f.n;
    const other = out.get(frame);
    if (other !== undefined) throw rangeError(dir, 'one landmark file per frame', `${other} and ${f.name} for frame ${frame}`);
    out.set(frame, f.name);
  }
  return out;
}

/**
 * Landmarks by label frame (1-based, as text) from a DISFA subject's `Landmark_Points/<SN>/…/*_lm.mat`
 * files, mapped from 66 to 49 points; null when the subject has no such folder.
 */
export async function readDisfaPointFiles(root: string, sn: string): Promise<Map<string, Float32Array> | null> {
  const dir = disfaPointDir(root, sn);
  if (!dir) return null;
  const out = new Map<string, Float32Array>();
  for (const [frame, name] of [...disfaPointFrames(dir, readdirSync(dir))].sort((a, b) => a[0] - b[0])) {
    const file = join(dir, name);
    const points = landmarksFromMatrix(await readMatVariable(file, 'pts'), `pts in ${file}`, 66);
    if (points) out.set(String(frame), landmarks66To49(points));
  }
  return out;
}
