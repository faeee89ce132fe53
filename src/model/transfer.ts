/**
 * Initializing a model from another one's weights, e.g. DISFA fine-tuning from the best BP4D model
 * (paper §4.1.1). Every parameter with the same name and shape is copied (backbone, landmark
 * predictor, SACL: its layers are shared by all nodes, so 18 → 16 ROIs changes nothing). The per-AU
 * classifier rows are mapped AU by AU (JAA-Net's map for DISFA ← BP4D); AUs without a source (AU9) keep
 * their fresh initialization.
 */
import * as tf from '@tensorflow/tfjs';
import { AU_SETS, type AuSet } from '../face/au.js';
import type { AuModel } from './model.js';

/** DISFA AU ← BP4D AU (JAA-Net): AU25 from AU23, AU26 from AU17, AU9 fresh. */
export const DISFA_FROM_BP4D: Readonly<Record<number, number>> = { 1: 1, 2: 2, 4: 4, 6: 6, 12: 12, 25: 23, 26: 17 };

export function auMapping(from: AuSet, to: AuSet): Record<number, number> {
  if (from === to) return Object.fromEntries(AU_SETS[to].map((a) => [a, a]));
  if (from === 'bp4d' && to === 'disfa') return { ...DISFA_FROM_BP4D };
  throw new RangeError(`no AU mapping from ${from} to ${to} (supported: the same set, or bp4d → disfa)`);
}

export interface TransferReport {
  copied: number;
  mapped: number;
  fresh: string[];
}

export function transferWeights(target: AuModel, source: AuModel, map = auMapping(source.config.auSet, target.config.auSet)): TransferReport {
  const src = new Map(source.store.named().map((p) => [p.name, p.tensor]));
  const targetAus = AU_SETS[target.config.auSet];
  const sourceAus = AU_SETS[source.config.auSet];
  const report: TransferReport = { copied: 0, mapped: 0, fresh: [] };
  // the classifier's per-AU tensors: one row per AU (queries and heads); everything else is shared
  const isPerAu = (name: string) => name === 'classifier.queries' || name.startsWith('classifier.heads.');
  for (const { name, tensor } of target.store.named()) {
    const s = src.get(name);
    if (s && s.shape.join() === tensor.shape.join() && !(isPerAu(name) && source.config.auSet !== target.config.auSet)) {
      tensor.assign(s);
      report.copied++;
      continue;
    }
    const perAu = isPerAu(name) && s && tensor.shape[0] === targetAus.length && s.shape[0] === sourceAus.length
      && s.shape.slice(1).join() === tensor.shape.slice(1).join();
    if (!perAu) {
      report.fresh.push(name);
      continue;
    }
    tf.tidy(() => {
      const rows = targetAus.map((au, i) => {
        const from = map[au] === undefined ? -1 : sourceAus.indexOf(map[au]!);
        return from >= 0 ? tf.gather(s!, [from]) : tf.gather(tensor, [i]);
      });
      tensor.assign(tf.concat(rows, 0));
    });
    report.mapped++;
  }
  return report;
}
