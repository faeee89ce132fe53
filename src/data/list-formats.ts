/**
 * The prepared list formats many users already have (docs/datasets.md):
 *   - ME-GraphAU: `list/<DS>_{train|test}_img_path_fold<k>.txt` (one relative image path a line) and
 *     `list/<DS>_{train|test}_label_fold<k>.txt` (space-separated 0/1 per AU, same row order); images
 *     already aligned at 256, under `<root>/img/` or `<root>/`; no landmarks.
 *   - JAA-Net: `<DS>_part<k>_path.txt`, `_land.txt` (98 numbers a line: x1 y1 … x49 y49), `_AUoccur.txt`
 *     (0/1, or 9 unknown, per AU), optionally `_biocular.txt`, one set per subject part; in the root, or
 *     in `data/list/` with the images in `data/imgs/`, as JAA-Net's own repository keeps them.
 * A sample's subject is the first component of its image path that is a subject id of the dataset
 * (`F007/T1/0643.jpg` → F007, JAA-Net's `BP4D/F001/T1/2440.jpg` → F001, `DISFA/SN002/0.jpg` → SN002);
 * the three subject parts come from the lists themselves (ME-GraphAU's fold k tests one part), so
 * foldSplit works alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AU_SETS, type AuSet } from '../face/au.js';
import { NUM_LANDMARKS } from '../face/landmarks.js';
import { UNKNOWN, float32Landmarks, type AuDataset, type AuSample } from './dataset.js';
import { rangeError } from '../util/validate.js';

const DS_NAME: Record<AuSet, string> = { bp4d: 'BP4D', disfa: 'DISFA' };

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

function numbers(file: string, line: string, row: number, count: number): number[] {
  const cells = line.split(/[\s,]+/);
  if (cells.length !== count) throw rangeError(`line ${row + 1} of ${file}`, `${count} values`, cells.length);
  return cells.map((c) => {
    const v = Number(c);
    if (!Number.isFinite(v)) throw rangeError(`line ${row + 1} of ${file}`, 'a number', JSON.stringify(c));
    return v;
  });
}

function labelRow(file: string, line: string, row: number, numAus: number): Int8Array {
  return Int8Array.from(numbers(file, line, row, numAus), (v) => {
    if (v === 9) return UNKNOWN;
    if (v !== 0 && v !== 1) throw rangeError(`line ${row + 1} of ${file}`, 'AU values 0, 1 or 9', v);
    return v;
  });
}

/** Subject ids: BP4D's F001…F023 and M001…M018, DISFA's SN001…SN032. */
const SUBJECT_ID: Record<AuSet, { pattern: RegExp; say: string }> = {
  bp4d: { pattern: /^[FM]\d{3}$/, say: 'a BP4D subject id (F001…F023, M001…M018)' },
  disfa: { pattern: /^SN\d{3}$/, say: 'a DISFA subject id (SN001…SN032)' },
};

/** The first component of a list's image path that is a subject id of the dataset. */
export function subjectOf(path: string, set: AuSet, file: string, row: number): string {
  const subject = path.split(/[\\/]/).find((c) => SUBJECT_ID[set].pattern.test(c));
  if (subject === undefined) throw rangeError(`line ${row + 1} of ${file}`, `${SUBJECT_ID[set].say} as a component of the path`, JSON.stringify(path));
  return subject;
}

/**
 * A list entry is a path relative to the image folder: absolute paths and `..` components would leave
 * --root and are refused. Symlinks inside the tree are followed (docs/datasets.md says why).
 */
function checkEntries(paths: string[], file: string): void {
  paths.forEach((p, row) => {
    if (/^([\\/]|[a-zA-Z]:)/.test(p) || p.split(/[\\/]/).includes('..')) {
      throw rangeError(`line ${row + 1} of ${file}`, 'a path relative to the image folder, without ".."', JSON.stringify(p));
    }
  });
}

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
      checkEntries(paths, pathFile);
      const labels = lines(labelFile);
      if (paths.length !== labels.length) throw new RangeError(`${labelFile}: ${labels.length} label rows for ${paths.length} paths in ${pathFile}`);
      base ??= imageBase(root, paths[0] ?? '');
      const subjects = paths.map((p, i) => subjectOf(p, set, pathFile, i));
      paths.forEach((p, i) => {
        if (!byPath.has(p)) byPath.set(p, { id: p, subject: subjects[i]!, imagePath: join(base!, p), landmarks: null, labels: labelRow(labelFile, labels[i]!, i, aus.length) });
      });
      // ME-GraphAU: fold 1 tests part 3, fold 2 part 2, fold 3 part 1
      if (split === 'test') parts[3 - fold] = [...new Set(subjects)].sort();
    }
  }
  if (byPath.size === 0) throw new RangeError(`${join(root, 'list')}: no ${DS_NAME[set]}_{train|test}_img_path_fold<k>.txt lists`);
  return { name: `${set} (ME-GraphAU lists)`, auSet: set, aus, samples: [...byPath.values()], parts };
}

/** Where JAA-Net's lists are: the root itself, or JAA-Net's repository layout `data/list/` (images in `data/imgs/`). */
export function jaaNetListDir(root: string, set: AuSet): string | null {
  const first = `${DS_NAME[set]}_part1_path.txt`;
  if (existsSync(join(root, first))) return root;
  if (existsSync(join(root, 'data', 'list', first))) return join(root, 'data', 'list');
  return null;
}

export function hasJaaNetLists(root: string, set: AuSet): boolean {
  return jaaNetListDir(root, set) !== null;
}

export function readJaaNetLists(root: string, set: AuSet): AuDataset {
  const aus = AU_SETS[set];
  const listDir = jaaNetListDir(root, set);
  if (!listDir) throw new RangeError(`${root}: no ${DS_NAME[set]}_part1_path.txt, in the root or in data/list/`);
  const samples: AuSample[] = [];
  const parts: [string[], string[], string[]] = [[], [], []];
  for (const part of [1, 2, 3]) {
    const prefix = join(listDir, `${DS_NAME[set]}_part${part}`);
    const files = { path: `${prefix}_path.txt`, land: `${prefix}_land.txt`, occur: `${prefix}_AUoccur.txt` };
    if (!existsSync(files.path)) throw new RangeError(`${files.path}: missing (JAA-Net lists need parts 1, 2 and 3)`);
    if (!existsSync(files.occur)) throw new RangeError(`${files.occur}: missing (the AU labels of ${files.path})`);
    const paths = lines(files.path);
    checkEntries(paths, files.path);
    const lands = existsSync(files.land) ? lines(files.land) : null;
    const occur = lines(files.occur);
    if (occur.length !== paths.length || (lands && lands.length !== paths.length)) {
      throw new RangeError(`${prefix}_*.txt: the path, landmark and AU lists differ in length (${paths.length}, ${lands?.length ?? '–'}, ${occur.length})`);
    }
    const base = listDir === root ? imageBase(root, paths[0] ?? '') : join(root, 'data', 'imgs');
    const subjects = paths.map((p, i) => subjectOf(p, set, files.path, i));
    paths.forEach((p, i) => {
      samples.push({
        id: p, subject: subjects[i]!, imagePath: join(base, p),
        landmarks: lands ? float32Landmarks(numbers(files.land, lands[i]!, i, 2 * NUM_LANDMARKS), `line ${i + 1} of ${files.land}`) : null,
        labels: labelRow(files.occur, occur[i]!, i, aus.length),
      });
    });
    parts[part - 1] = [...new Set(subjects)].sort();
  }
  return { name: `${set} (JAA-Net lists)`, auSet: set, aus, samples, parts };
}

/** DISFA's 66 IntraFace points → the 49-point scheme: drop the 17 jaw points (docs/model.md, Landmarks and AU centres). */
export function landmarks66To49(points: ArrayLike<number>): Float32Array {
  if (points.length !== 132) throw rangeError('landmarks', '66 (x, y) pairs (132 numbers)', points.length);
  return Float32Array.from({ length: 2 * NUM_LANDMARKS }, (_, i) => points[34 + i]!);
}
