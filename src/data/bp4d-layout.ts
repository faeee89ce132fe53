/**
 * Reader for BP4D's distributed layout (docs/datasets.md): frames `<root>/<subject>/<task>/<frame>.jpg`, the
 * frame number zero-padded to four digits as BP4D names them (`0643.jpg`) or not (`643.jpg`), and AU
 * occurrence files `<root>/AUCoding/AU_OCC/<subject>_<task>.csv` (a frame column and one column per AU;
 * 0, 1, 9 = unknown). Landmarks come from `<root>/Landmarks/<subject>_<task>.csv` (frame, then x1 y1 …
 * x49 y49, 1-based like the datasets' MATLAB files; what the synthetic generator and `sacl-au align`
 * write) or, failing that, from BP4D's own `<root>/2DFeatures/<subject>_<task>.mat`, whose elements are
 * the sequence's frames in order (landmark-files.ts). Subject parts come from `<root>/folds.json` when
 * present, else from the paper's BP4D split (Table 3).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AU_SETS } from '../face/au.js';
import { UNKNOWN, readFoldsFile, type AuDataset, type AuSample, type ReadProgress } from './dataset.js';
import { readBp4dFeatureFile, readLandmarkCsv } from './landmark-files.js';
import { rangeError } from '../util/validate.js';

/** Paper Table 3. */
export const BP4D_PARTS: [string[], string[], string[]] = [
  ['F001', 'F002', 'F008', 'F009', 'F010', 'F016', 'F018', 'F023', 'M001', 'M004', 'M007', 'M008', 'M012', 'M014'],
  ['F003', 'F005', 'F011', 'F013', 'F020', 'F022', 'M002', 'M005', 'M010', 'M011', 'M013', 'M016', 'M017', 'M018'],
  ['F004', 'F006', 'F007', 'F012', 'F014', 'F015', 'F017', 'F019', 'F021', 'M003', 'M006', 'M009', 'M015'],
];

/** Rows of a small CSV file (comma-separated, first row the header), with the file named in errors. */
function readCsv(file: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new RangeError(`${file}: empty file`);
  const split = (l: string) => l.split(',').map((c) => c.trim());
  return { header: split(lines[0]!), rows: lines.slice(1).map(split) };
}

function parseNumber(file: string, row: number, text: string): number {
  const v = Number(text);
  if (text === '' || !Number.isFinite(v)) throw rangeError(`row ${row + 2} of ${file}`, 'a number', JSON.stringify(text));
  return v;
}

const FRAME_IMAGE = /^(\d+)\.(jpe?g|png)$/i;

/** A sequence folder's frame images by frame number (`0643.jpg` and `643.jpg` are both frame 643). */
function sequenceImages(dir: string): Map<number, string> {
  const out = new Map<number, string>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const m = FRAME_IMAGE.exec(name);
    if (!m) continue;
    const frame = Number(m[1]);
    const other = out.get(frame);
    if (other !== undefined) throw rangeError(dir, 'one image per frame', `${other} and ${name} for frame ${frame}`);
    out.set(frame, name);
  }
  return out;
}

/**
 * A sequence's landmarks by frame: the Landmarks CSV, else BP4D's 2-D feature file (its elements numbered
 * by the sequence's frame images in order), else none.
 */
async function sequenceLandmarks(root: string, subject: string, task: string, images: Map<number, string>): Promise<Map<string, Float32Array>> {
  const csv = join(root, 'Landmarks', `${subject}_${task}.csv`);
  if (existsSync(csv)) return readLandmarkCsv(csv);
  const mat = join(root, '2DFeatures', `${subject}_${task}.mat`);
  if (existsSync(mat)) return readBp4dFeatureFile(mat, [...images.keys()].sort((a, b) => a - b), join(root, subject, task));
  return new Map();
}

export async function readBp4dLayout(root: string, name = 'bp4d', onProgress?: ReadProgress): Promise<AuDataset> {
  const occDir = join(root, 'AUCoding', 'AU_OCC');
  if (!existsSync(occDir)) throw new RangeError(`${root}: no AUCoding/AU_OCC directory: not a BP4D-layout tree`);
  const aus = AU_SETS.bp4d;
  const samples: AuSample[] = [];
  const files = readdirSync(occDir).filter((f) => f.endsWith('.csv')).sort();
  for (const [done, file] of files.entries()) {
    onProgress?.(done, files.length);
    const m = /^([A-Za-z]+\d+)_(T\d+)\.csv$/.exec(file);
    if (!m) continue;
    const [, subject, task] = m as unknown as [string, string, string];
    const path = join(occDir, file);
    const { header, rows } = readCsv(path);
    const columns = aus.map((au) => {
      const i = header.findIndex((h) => h.replace(/^AU/i, '') === String(au));
      if (i < 0) throw new RangeError(`${path}: no column for AU${au} in the header`);
      return i;
    });
    const images = sequenceImages(join(root, subject, task));
    const landmarks = await sequenceLandmarks(root, subject, task, images);
    const rowOf = new Map<number, number>();
    rows.forEach((cells, r) => {
      const n = parseNumber(path, r, cells[0]!);
      const frame = String(n);
      const first = rowOf.get(n);
      if (first !== undefined) throw rangeError(`row ${r + 2} of ${path}`, 'one row per frame', `frame ${frame} again (first on row ${first + 2})`);
      rowOf.set(n, r);
      const labels = Int8Array.from(columns, (c) => {
        const v = parseNumber(path, r, cells[c] ?? '');
        if (v !== 0 && v !== 1 && v !== 9) throw rangeError(`row ${r + 2} of ${path}`, 'AU values 0, 1 or 9', v);
        return v === 9 ? UNKNOWN : v;
      });
      samples.push({ id: `${subject}/${task}/${frame}`, subject, imagePath: join(root, subject, task, images.get(n) ?? `${frame}.jpg`), landmarks: landmarks.get(frame) ?? null, labels });
    });
  }
  onProgress?.(files.length, files.length);
  if (samples.length === 0) throw new RangeError(`${occDir}: no <subject>_<task>.csv occurrence files`);
  const foldsFile = join(root, 'folds.json');
  const parts = existsSync(foldsFile) ? readFoldsFile(foldsFile) : BP4D_PARTS;
  return { name, auSet: 'bp4d', aus, samples, parts };
}
