/**
 * Reader for DISFA's distributed labels (docs/datasets.md): `<root>/ActionUnit_Labels/<SN>/<SN>_au<n>.txt`, lines
 * `frame,intensity`, an AU present when its intensity is ≥ 2 (paper §4.1.1). Frames are the video's
 * frames extracted as images under `<root>/<SN>/` (or `<root>/img/<SN>/`), named by index, 0-based as
 * ME-GraphAU's extraction writes them (`SN003/0.png` is label frame 1) or 1-based; the reader checks which
 * per subject. Landmarks come from `<root>/Landmarks/<SN>.csv` (frame, then the 66 IntraFace points
 * x1 y1 … x66 y66, 1-based; or 49 points, as `sacl-au align` writes) or, failing that, from DISFA's own
 * `<root>/Landmark_Points/<SN>/` MAT-files (landmark-files.ts); 66 points are mapped to the 49-point scheme.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AU_SETS } from '../face/au.js';
import { type AuDataset, type AuSample, type ReadProgress } from './dataset.js';
import { readDisfaPointFiles, readLandmarkCsv } from './landmark-files.js';
import { rangeError } from '../util/validate.js';

/** Paper Table 3. */
export const DISFA_PARTS: [string[], string[], string[]] = [
  ['SN001', 'SN002', 'SN009', 'SN010', 'SN016', 'SN026', 'SN027', 'SN030', 'SN032'],
  ['SN006', 'SN011', 'SN012', 'SN013', 'SN018', 'SN021', 'SN024', 'SN028', 'SN031'],
  ['SN003', 'SN004', 'SN005', 'SN007', 'SN008', 'SN017', 'SN023', 'SN025', 'SN029'],
];

export const DISFA_PRESENT_INTENSITY = 2;

export function hasDisfaLayout(root: string): boolean {
  return existsSync(join(root, 'ActionUnit_Labels'));
}

function intensities(file: string): Map<number, number> {
  const out = new Map<number, number>();
  const lineOf = new Map<number, number>();
  readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const [f, v] = line.split(',').map((c) => Number(c.trim()));
    if (!Number.isInteger(f) || !Number.isFinite(v)) throw rangeError(`line ${i + 1} of ${file}`, '"frame,intensity"', JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line));
    const first = lineOf.get(f!);
    if (first !== undefined) throw rangeError(`line ${i + 1} of ${file}`, 'one line per frame', `frame ${f} again (first on line ${first + 1})`);
    lineOf.set(f!, i);
    out.set(f!, v!);
  });
  return out;
}

/** The image file of label frame `frame` (1-based) of a subject, given the subject's naming. */
function frameFinder(dir: string, firstFrame: number): (frame: number) => string {
  for (const offset of [-1, 0]) {
    for (const ext of ['png', 'jpg']) {
      if (existsSync(join(dir, `${firstFrame + offset}.${ext}`))) return (frame) => join(dir, `${frame + offset}.${ext}`);
    }
  }
  return (frame) => join(dir, `${frame - 1}.png`);
}

export async function readDisfaLayout(root: string, onProgress?: ReadProgress): Promise<AuDataset> {
  const aus = AU_SETS.disfa;
  const labelsDir = join(root, 'ActionUnit_Labels');
  const samples: AuSample[] = [];
  const subjects = readdirSync(labelsDir).filter((d) => /^SN\d+$/.test(d)).sort();
  for (const [done, sn] of subjects.entries()) {
    onProgress?.(done, subjects.length);
    const perAu = aus.map((au) => {
      const file = join(labelsDir, sn, `${sn}_au${au}.txt`);
      if (!existsSync(file)) throw new RangeError(`${file}: missing (DISFA codes AU ${aus.join(', ')} for every subject)`);
      return intensities(file);
    });
    const frames = [...perAu[0]!.keys()].sort((a, b) => a - b);
    const imageDir = existsSync(join(root, 'img', sn)) ? join(root, 'img', sn) : join(root, sn);
    const imageOf = frameFinder(imageDir, frames[0] ?? 1);
    const landmarkFile = join(root, 'Landmarks', `${sn}.csv`);
    const landmarks = existsSync(landmarkFile) ? readLandmarkCsv(landmarkFile) : await readDisfaPointFiles(root, sn) ?? new Map();
    for (const frame of frames) {
      const labels = Int8Array.from(perAu, (m, a) => {
        const v = m.get(frame);
        if (v === undefined) throw new RangeError(`${join(labelsDir, sn, `${sn}_au${aus[a]}.txt`)}: no intensity for frame ${frame}`);
        return v >= DISFA_PRESENT_INTENSITY ? 1 : 0;
      });
      samples.push({ id: `${sn}/${frame}`, subject: sn, imagePath: imageOf(frame), landmarks: landmarks.get(String(frame)) ?? null, labels });
    }
  }
  onProgress?.(subjects.length, subjects.length);
  if (samples.length === 0) throw new RangeError(`${labelsDir}: no SN<nnn> label folders`);
  return { name: 'disfa', auSet: 'disfa', aus, samples, parts: DISFA_PARTS };
}
