/** Opens a dataset by kind and root for the CLI: the synthetic set (generated on first use) or a BP4D-layout tree. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readBp4dLayout } from './bp4d-layout.js';
import type { AuDataset } from './dataset.js';
import { generateSynthetic, type SyntheticOptions } from './synthetic/generate.js';

export const DATASET_KINDS = ['synthetic', 'bp4d'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export async function openDataset(kind: string, root: string, synthetic: Omit<SyntheticOptions, 'root'> = {}): Promise<AuDataset> {
  if (kind === 'synthetic') {
    await generateSynthetic({ ...synthetic, root });
    return readBp4dLayout(root, 'synthetic');
  }
  if (kind === 'bp4d') {
    if (!existsSync(join(root, 'AUCoding'))) throw new RangeError(`--root: ${root} has no AUCoding/ folder (expected BP4D's layout)`);
    return readBp4dLayout(root, 'bp4d');
  }
  throw new RangeError(`--dataset: expected one of ${DATASET_KINDS.join(', ')}; got ${JSON.stringify(kind)}`);
}
