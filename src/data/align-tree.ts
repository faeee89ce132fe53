/**
 * `sacl-au align`: writes an aligned copy of a BP4D- or DISFA-layout tree once (so epochs never
 * re-align): every frame warped to size × size by its own landmarks, the landmarks moved by the same
 * transform (written as 49-point `Landmarks/<sequence>.csv`, which both layout readers take), the AU
 * files and folds copied. Resumable: frames already written are skipped. A frame without landmarks or
 * with an unreadable image stops the run with its name, or with skipBad is counted and left out. The
 * output must lie outside the source tree, and records its size, layout and recipe (`align.json`): a
 * re-run with other parameters is refused instead of mixing old frames with new landmarks.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { readBp4dLayout } from './bp4d-layout.js';
import { readDisfaLayout } from './disfa-layout.js';
import { alignmentTransform, applyAffine, warpAffine } from './align.js';
import type { ReadProgress } from './dataset.js';
import { writeFileAtomic } from '../util/fs.js';
import { UsageError, usageError } from '../util/errors.js';

export interface AlignResult {
  aligned: number;
  skippedExisting: number;
  bad: { file: string; reason: string }[];
}

/** Atomic write into a directory that may not exist yet. */
async function writeInto(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, data);
}

/** What each layout keeps besides frames and landmarks: its label files (and folds), copied as they are. */
const LAYOUT = {
  bp4d: { read: (root: string, p?: ReadProgress) => readBp4dLayout(root, 'bp4d', p), copy: [join('AUCoding', 'AU_OCC'), 'folds.json'] },
  disfa: { read: readDisfaLayout, copy: ['ActionUnit_Labels'] },
} as const;

export type AlignLayout = keyof typeof LAYOUT;

/** Written into the output first: what the frames there were aligned with, so a re-run cannot mix two. */
export const ALIGN_RECORD = 'align.json';

interface AlignRecord {
  format: 'sacl-au-align';
  layout: AlignLayout;
  size: number;
  /** JAA-Net's: eyes levelled, box of eye centres, nose tip and mouth corners enlarged 2.9, grey border. */
  recipe: 'jaa-net-2.9';
}

/** The real path of `p`; for a path that does not exist yet, its nearest existing ancestor's real path joined with the rest. */
async function realPathOf(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(await realPathOf(parent), basename(p));
  }
}

/** Refuses an output folder that is the source tree or inside it: frames and Landmarks/*.csv would overwrite the source's. */
async function checkOutside(root: string, out: string): Promise<void> {
  const inside = relative(await realPathOf(root), await realPathOf(out));
  if (inside === '' || !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))) {
    throw usageError('--out', `a folder outside --root (${root})`, `${out}, where the aligned files would overwrite the source's`);
  }
}

/**
 * Checks the output's record against this run (a re-run with another size or layout would keep the old
 * frames and rewrite the landmarks); returns whether the folder already had one.
 */
async function checkRecord(out: string, record: AlignRecord): Promise<boolean> {
  const file = join(out, ALIGN_RECORD);
  if (!existsSync(file)) return false;
  let saved: Partial<AlignRecord>;
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as Partial<AlignRecord>;
  } catch (e) {
    throw new Error(`${file}: cannot read the alignment record (${(e as Error).message}); remove ${out} and align again`);
  }
  for (const [key, flag] of [['size', '--size'], ['layout', '--dataset'], ['recipe', 'the alignment recipe']] as const) {
    if (saved[key] !== record[key]) {
      throw usageError(flag, `${JSON.stringify(saved[key])} (what ${out} was aligned with, ${file})`,
        `${JSON.stringify(record[key])}: use another --out, or remove this one to align again`);
    }
  }
  return true;
}

export async function alignTree({ root, out, layout = 'bp4d', size = 256, skipBad = false, onRead, onProgress }: {
  root: string; out: string; layout?: AlignLayout; size?: number; skipBad?: boolean;
  /** Reading the tree (its landmark files) sequence by sequence. */
  onRead?: ReadProgress;
  /** Aligning, frame by frame. */
  onProgress?: (done: number, total: number) => void;
}): Promise<AlignResult> {
  await checkOutside(root, out);
  const record: AlignRecord = { format: 'sacl-au-align', layout, size, recipe: 'jaa-net-2.9' };
  const recorded = await checkRecord(out, record);
  const dataset = await LAYOUT[layout].read(root, onRead);
  if (!recorded) {
    // a folder aligned before the record existed: its frames must have this run's size
    const existing = dataset.samples.map((s) => join(out, relative(root, s.imagePath))).find((f) => existsSync(f));
    if (existing) {
      const { width, height } = await sharp(existing).metadata();
      if (width !== size || height !== size) {
        throw usageError('--size', `${width} (${existing} is already aligned at ${width}×${height})`, `${size}: use another --out, or remove this one to align again`);
      }
    }
    await writeInto(join(out, ALIGN_RECORD), `${JSON.stringify(record)}\n`);
  }
  const result: AlignResult = { aligned: 0, skippedExisting: 0, bad: [] };
  const landmarkRows = new Map<string, string[]>();
  let done = 0;
  for (const s of dataset.samples) {
    // ids are <subject>/<task>/<frame> (BP4D) or <SN>/<frame> (DISFA): the sequence names the CSV
    const parts = s.id.split('/');
    const frame = parts.pop()!;
    const key = parts.join('_');
    const target = join(out, relative(root, s.imagePath));
    try {
      if (!s.landmarks) throw new Error('no landmarks for this frame');
      const m = alignmentTransform(s.landmarks, size);
      if (existsSync(target)) result.skippedExisting++;
      else {
        const { data, info } = await sharp(s.imagePath).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        const warped = sharp(warpAffine(data, info.width, info.height, m, size), { raw: { width: size, height: size, channels: 3 } });
        // the same name as the source, so the layout reader finds it; encoded as the extension says
        await writeInto(target, await (/\.png$/i.test(target) ? warped.png() : warped.jpeg({ quality: 95 })).toBuffer());
        result.aligned++;
      }
      const moved = applyAffine(m, s.landmarks);
      if (!landmarkRows.has(key)) landmarkRows.set(key, []);
      landmarkRows.get(key)!.push(`${frame},${Array.from(moved, (v) => (v + 1).toFixed(2)).join(',')}`);
    } catch (e) {
      const reason = (e as Error).message;
      if (!skipBad) throw new Error(`${s.imagePath}: ${reason} (use --skip-bad to leave such frames out)`);
      result.bad.push({ file: s.imagePath, reason });
    }
    onProgress?.(++done, dataset.samples.length);
  }
  const header = `Frame,${Array.from({ length: 49 }, (_, i) => `x${i + 1},y${i + 1}`).join(',')}`;
  for (const [key, rows] of landmarkRows) await writeInto(join(out, 'Landmarks', `${key}.csv`), `${[header, ...rows].join('\n')}\n`);
  for (const item of LAYOUT[layout].copy) {
    if (existsSync(join(root, item))) await cp(join(root, item), join(out, item), { recursive: true });
  }
  return result;
}
