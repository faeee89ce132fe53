/**
 * Opens a dataset for the CLI. `synthetic` generates the built-in set on first use. `bp4d` and `disfa`
 * pick the format from what the root holds, and say which: BP4D's or DISFA's distributed layout,
 * ME-GraphAU's prepared lists (list/), or JAA-Net's lists (<DS>_part1_path.txt in the root or in data/list/).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readBp4dLayout } from './bp4d-layout.js';
import { hasDisfaLayout, readDisfaLayout } from './disfa-layout.js';
import type { AuDataset, ReadProgress } from './dataset.js';
import { hasMeGraphAuLists, jaaNetListDir, readJaaNetLists, readMeGraphAuLists } from './list-formats.js';
import { generateSynthetic, type SyntheticOptions } from './synthetic/generate.js';
import { UsageError, usageError } from '../util/errors.js';
import { AU_SET_NAMES, isAuSet } from '../face/au.js';

/** The built-in synthetic set, or a real dataset named by its AU set. */
export const DATASET_KINDS = ['synthetic', ...AU_SET_NAMES] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** Where a layout tree's landmarks come from, in words, for the format line (per-sequence files may still lack some). */
function landmarkSource(root: string, own: string): string {
  if (existsSync(join(root, 'Landmarks'))) return 'landmarks from Landmarks/*.csv';
  if (existsSync(join(root, own))) return `landmarks from ${own}/`;
  return 'no landmark files';
}

export async function openDataset(kind: string, root: string, synthetic: Omit<SyntheticOptions, 'root'> = {},
  say: (line: string) => void = () => {}, onProgress?: ReadProgress): Promise<AuDataset> {
  if (kind === 'synthetic') {
    await generateSynthetic({ ...synthetic, root });
    return readBp4dLayout(root, 'synthetic');
  }
  if (!isAuSet(kind)) throw usageError('--dataset', `one of ${DATASET_KINDS.join(', ')}`, JSON.stringify(kind));
  if (!existsSync(root)) throw new UsageError(`--root: ${root} does not exist`);
  if (hasMeGraphAuLists(root, kind)) {
    say(`${root}: ME-GraphAU lists (list/)`);
    return readMeGraphAuLists(root, kind);
  }
  const jaaNetLists = jaaNetListDir(root, kind);
  if (jaaNetLists) {
    say(`${root}: JAA-Net lists${jaaNetLists === root ? '' : ' (data/list/, images in data/imgs/)'}`);
    return readJaaNetLists(root, kind);
  }
  if (kind === 'bp4d' && existsSync(join(root, 'AUCoding'))) {
    say(`${root}: BP4D distributed layout (AUCoding/AU_OCC; ${landmarkSource(root, '2DFeatures')})`);
    return readBp4dLayout(root, 'bp4d', onProgress);
  }
  if (kind === 'disfa' && hasDisfaLayout(root)) {
    say(`${root}: DISFA distributed layout (ActionUnit_Labels/; ${landmarkSource(root, 'Landmark_Points')})`);
    return readDisfaLayout(root, onProgress);
  }
  throw new UsageError(`--root: ${root} holds none of the known ${kind} formats: ${kind === 'bp4d' ? 'AUCoding/AU_OCC (BP4D layout), ' : 'ActionUnit_Labels (DISFA layout), '}`
    + 'list/<DS>_{train|test}_img_path_fold<k>.txt (ME-GraphAU) or <DS>_part<k>_path.txt, in the root or in data/list/ (JAA-Net)');
}
