/**
 * `sacl-au align`: writes an aligned copy of a BP4D-layout tree once (so epochs never re-align): every
 * frame warped to size × size by its own landmarks, the landmarks moved by the same transform, the AU
 * files and folds copied. Resumable: frames already written are skipped. A frame without landmarks or
 * with an unreadable image stops the run with its name, or with skipBad is counted and left out.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import sharp from 'sharp';
import { readBp4dLayout } from './bp4d-layout.js';
import { alignmentTransform, applyAffine, warpAffine } from './align.js';
import { writeFileAtomic } from '../util/fs.js';

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

export async function alignTree({ root, out, size = 256, skipBad = false, onProgress }: {
  root: string; out: string; size?: number; skipBad?: boolean; onProgress?: (done: number, total: number) => void;
}): Promise<AlignResult> {
  const dataset = readBp4dLayout(root);
  const result: AlignResult = { aligned: 0, skippedExisting: 0, bad: [] };
  const landmarkRows = new Map<string, string[]>();
  let done = 0;
  for (const s of dataset.samples) {
    const [subject, task, frame] = s.id.split('/') as [string, string, string];
    const target = join(out, relative(root, s.imagePath));
    try {
      if (!s.landmarks) throw new Error('no landmarks for this frame');
      const image = sharp(s.imagePath).removeAlpha();
      const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
      const m = alignmentTransform(s.landmarks, size);
      if (existsSync(target)) result.skippedExisting++;
      else {
        const warped = warpAffine(data, info.width, info.height, m, size);
        await writeInto(target, await sharp(warped, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 95 }).toBuffer());
        result.aligned++;
      }
      const moved = applyAffine(m, s.landmarks);
      const key = `${subject}_${task}`;
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
  const occ = join(root, 'AUCoding', 'AU_OCC');
  await mkdir(join(out, 'AUCoding', 'AU_OCC'), { recursive: true });
  for (const f of await readdir(occ)) if (f.endsWith('.csv')) await copyFile(join(occ, f), join(out, 'AUCoding', 'AU_OCC', f));
  if (existsSync(join(root, 'folds.json'))) await copyFile(join(root, 'folds.json'), join(out, 'folds.json'));
  return result;
}
