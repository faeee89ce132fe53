/**
 * AU detection metrics (paper §4.1; docs/training.md): p ≥ 0.5 is "present"; per AU, TP/FP/FN/TN over the whole test set,
 * unknown labels left out; F1 = 2PR/(P+R) (0 when undefined), accuracy = (TP+TN)/all; means over AUs.
 */
import { UNKNOWN } from '../data/dataset.js';

export interface AuCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface AuMetric extends AuCounts {
  au: number;
  f1: number;
  accuracy: number;
  /** F1 of predicting "present" on every frame. */
  alwaysPresentF1: number;
}

export interface Metrics {
  perAu: AuMetric[];
  meanF1: number;
  meanAccuracy: number;
  alwaysPresentMeanF1: number;
  frames: number;
}

export function f1Score({ tp, fp, fn }: AuCounts): number {
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** probabilities and labels: one row per frame, one column per AU of `aus`. */
export function auMetrics(aus: readonly number[], probabilities: ArrayLike<number>[], labels: ArrayLike<number>[], threshold = 0.5): Metrics {
  const perAu = aus.map((au, a) => {
    const c: AuCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
    labels.forEach((row, i) => {
      const y = row[a]!;
      if (y === UNKNOWN) return;
      const present = probabilities[i]![a]! >= threshold;
      if (present && y === 1) c.tp++;
      else if (present) c.fp++;
      else if (y === 1) c.fn++;
      else c.tn++;
    });
    const all = c.tp + c.fp + c.fn + c.tn;
    return {
      au, ...c, f1: f1Score(c), accuracy: all ? (c.tp + c.tn) / all : 0,
      alwaysPresentF1: f1Score({ tp: c.tp + c.fn, fp: c.fp + c.tn, fn: 0, tn: 0 }),
    };
  });
  const mean = (f: (m: AuMetric) => number) => perAu.reduce((s, m) => s + f(m), 0) / Math.max(1, perAu.length);
  return { perAu, meanF1: mean((m) => m.f1), meanAccuracy: mean((m) => m.accuracy), alwaysPresentMeanF1: mean((m) => m.alwaysPresentF1), frames: labels.length };
}
