/**
 * The prepared list formats many users already have (docs/datasets.md):
 *   - ME-GraphAU: `list/<DS>_{train|test}_img_path_fold<k>.txt` (one relative image path a line) and
 *     `list/<DS>_{train|test}_label_fold<k>.txt` (space-separated 0/1 per AU, same row order); images
 *     already aligned at 256, under `<root>/img/` or `<root>/`; no landmarks.
 *   - JAA-Net: `<DS>_part<k>_path.txt`, `_land.txt` (98 numbers a line: x1 y1 … x49 y49), `_AUoccur.txt`
 *     (0/1, or 9 unknown, per AU), optionally `_biocular.txt`, one set per subject part.
 * Subjects are the first component of each image path (`F007/T1/643.jpg` → F007); the three subject
 * parts come from the lists themselves (ME-GraphAU's fold k tests one part), so foldSplit works alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AU_SETS, type AuSet } from '../face/au.js';
import { NUM_LANDMARKS } from '../face/landmarks.js';
import { UNKNOWN, type AuDataset, type AuSample } from './dataset.js';

const DS_NAME: Record<AuSet, string> = { bp4d: 'BP4D', disfa: 'DISFA' };

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

function numbers(file: string, line: string, row: number, count: number): number[] {
  const cells = line.split(/[\s,]+/);
  if (cells.length !== count) throw new RangeError(`${file}: line ${row + 1}: expected ${count} values; got ${cells.length}`);
  return cells.map((c) => {
    const v = Number(c);
    if (!Number.isFinite(v)) throw new RangeError(`${file}: line ${row + 1}: expected a number; got ${JSON.stringify(c)}`);
    return v;
  });
}

function labelRow(file: string, line: string, row: number, numAus: number): Int8Array {
  return Int8Array.from(numbers(file, line, row, numAus), (v) => {
    if (v === 9) return UNKNOWN;
    if (v !== 0 && v !== 1) throw new RangeError(`${file}: line ${row + 1}: AU values are 0, 1 or 9; got ${v}`);
    return v;
  });
}

const subjectOf = (path: string) => path.split(/[\\/]/)[0]!;

/** Where a list's relative paths resolve: `<root>/img/<path>` (ME-GraphAU's data layout) or `<root>/<path>`. */
function imageBase(root: string, firstPath: string): string {
  return existsSync(join(root, 'img', firstPath)) || !existsSync(join(root, firstPath)) && existsSync(join(root, 'img')) ? join(root, 'img') : root;
}

export function hasMeGraphAuLists(root: string, set: AuSet): boolean {
  return existsSync(join(root, 'list', `${DS_NAME[set]}_test_img_path_fold1.txt`));
}

export function readMeGraphAuLists(root: string, set: AuSet): AuDataset {
  const aus = AU_SETS[set];
  const byPath = new Map<string, AuSample>();
  const parts: [string[], string[], string[]] = [[], [], []];
  let base: string | null = null;
  for (const fold of [1, 2, 3]) {
    for (const split of ['train', 'test'] as const) {
      const pathFile = join(root, 'list', `${DS_NAME[set]}_${split}_img_path_fold${fold}.txt`);
      const labelFile = join(root, 'list', `${DS_NAME[set]}_${split}_label_fold${fold}.txt`);
      if (!existsSync(pathFile)) continue;
      if (!existsSync(labelFile)) throw new RangeError(`${pathFile} has no label list beside it (${labelFile})`);
      const paths = lines(pathFile);
      const labels = lines(labelFile);
      if (paths.length !== labels.length) throw new RangeError(`${labelFile}: ${labels.length} label rows for ${paths.length} paths in ${pathFile}`);
      base ??= imageBase(root, paths[0] ?? '');
      paths.forEach((p, i) => {
        if (!byPath.has(p)) byPath.set(p, { id: p, subject: subjectOf(p), imagePath: join(base!, p), landmarks: null, labels: labelRow(labelFile, labels[i]!, i, aus.length) });
      });
      // ME-GraphAU: fold 1 tests part 3, fold 2 part 2, fold 3 part 1
      if (split === 'test') parts[3 - fold] = [...new Set(paths.map(subjectOf))].sort();
    }
  }
  if (byPath.size === 0) throw new RangeError(`${join(root, 'list')}: no ${DS_NAME[set]}_{train|test}_img_path_fold<k>.txt lists`);
  return { name: `${set} (ME-GraphAU lists)`, auSet: set, aus, samples: [...byPath.values()], parts };
}

export function hasJaaNetLists(root: string, set: AuSet): boolean {
  return existsSync(join(root, `${DS_NAME[set]}_part1_path.txt`));
}

export function readJaaNetLists(root: string, set: AuSet): AuDataset {
  const aus = AU_SETS[set];
  const samples: AuSample[] = [];
  const parts: [string[], string[], string[]] = [[], [], []];
  for (const part of [1, 2, 3]) {
    const prefix = join(root, `${DS_NAME[set]}_part${part}`);
    const files = { path: `${prefix}_path.txt`, land: `${prefix}_land.txt`, occur: `${prefix}_AUoccur.txt` };
    if (!existsSync(files.path)) throw new RangeError(`${files.path}: missing (JAA-Net lists need parts 1, 2 and 3)`);
    const paths = lines(files.path);
    const lands = existsSync(files.land) ? lines(files.land) : null;
    const occur = lines(files.occur);
    if (occur.length !== paths.length || (lands && lands.length !== paths.length)) {
      throw new RangeError(`${prefix}_*.txt: the path, landmark and AU lists differ in length (${paths.length}, ${lands?.length ?? '–'}, ${occur.length})`);
    }
    const base = imageBase(root, paths[0] ?? '');
    paths.forEach((p, i) => {
      samples.push({
        id: p, subject: subjectOf(p), imagePath: join(base, p),
        landmarks: lands ? Float32Array.from(numbers(files.land, lands[i]!, i, 2 * NUM_LANDMARKS)) : null,
        labels: labelRow(files.occur, occur[i]!, i, aus.length),
      });
    });
    parts[part - 1] = [...new Set(paths.map(subjectOf))].sort();
  }
  return { name: `${set} (JAA-Net lists)`, auSet: set, aus, samples, parts };
}

/** DISFA's 66 IntraFace points → the 49-point scheme: drop the 17 jaw points (docs/model.md, Landmarks and AU centres). */
export function landmarks66To49(points: ArrayLike<number>): Float32Array {
  if (points.length !== 132) throw new RangeError(`landmarks: expected 66 (x, y) pairs (132 numbers); got ${points.length}`);
  return Float32Array.from({ length: 2 * NUM_LANDMARKS }, (_, i) => points[34 + i]!);
}
