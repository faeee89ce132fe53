/**
 * The paper's reported results, to print beside ours: Tables 5 and 6 (per-AU F1, 3-fold means), Table 7
 * (ablation of each part, BP4D), Table 8 (parameters and FLOPs) and Table 9 (fusion, correlation way,
 * distance metric, GCN type; BP4D). F1 in %, parameters in millions, FLOPs in G (multiply-adds).
 */
import type { AuSet } from '../face/au.js';

export const PAPER_F1: Readonly<Record<AuSet, { perAu: Readonly<Record<number, number>>; mean: number }>> = {
  bp4d: { perAu: { 1: 57.8, 2: 48.8, 4: 59.4, 6: 79.1, 7: 78.8, 10: 84.0, 12: 88.2, 14: 65.2, 15: 56.1, 17: 63.8, 23: 50.8, 24: 55.2 }, mean: 65.6 },
  disfa: { perAu: { 1: 62.0, 2: 65.7, 4: 74.5, 6: 53.2, 9: 43.1, 12: 76.9, 25: 95.6, 26: 53.1 }, mean: 65.5 },
};

/** One row of an ablation table: F1 per BP4D AU (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24), the average, and the model's size where the paper gives it. */
export interface PaperRow {
  name: string;
  f1: readonly number[];
  mean: number;
  /** Millions of parameters (Table 8, or §4.3.3 for the Transformer). */
  params?: number;
  /** G multiply-adds at 224 px (Table 8, or §4.3.3). */
  flops?: number;
}

const OURS_F1 = [57.8, 48.8, 59.4, 79.1, 78.8, 84.0, 88.2, 65.2, 56.1, 63.8, 50.8, 55.2];

/** Table 7 (F1) with Table 8 (complexity), keyed by the rows of `sacl-au reproduce --table 7`. */
export const PAPER_TABLE7: Readonly<Record<string, PaperRow>> = {
  'baseline-no-da': { name: 'Baseline', f1: [44.9, 42.4, 51.6, 76.8, 79.3, 81.7, 86.9, 62.2, 48.9, 58.8, 44.6, 46.3], mean: 60.4 },
  baseline: { name: 'Baseline+DA (Baseline*)', f1: [51.4, 41.4, 53.8, 77.2, 78.4, 80.3, 87.2, 61.4, 50.3, 61.3, 44.6, 47.2], mean: 61.2, params: 10.0, flops: 1.47 },
  msfl: { name: 'Baseline*+MSFL', f1: [55.0, 47.7, 57.0, 77.6, 79.1, 83.4, 88.0, 65.2, 52.5, 63.1, 47.7, 48.9], mean: 63.8, params: 12.5, flops: 1.66 },
  sacl: { name: 'Baseline*+SACL', f1: [47.2, 39.4, 56.4, 77.4, 77.0, 83.9, 87.9, 64.6, 53.1, 62.6, 48.2, 54.2], mean: 62.7, params: 24.2, flops: 2.36 },
  fbg: { name: 'Baseline*+MSFL+FBG', f1: [56.9, 50.5, 60.0, 77.8, 78.9, 84.2, 87.8, 66.6, 53.3, 64.0, 46.8, 48.9], mean: 64.6 },
  sbg: { name: 'Baseline*+MSFL+SBG', f1: [56.0, 49.4, 58.9, 77.9, 79.2, 84.1, 87.7, 65.3, 55.9, 64.5, 47.9, 49.5], mean: 64.7 },
  full: { name: 'Baseline*+MSFL+SACL', f1: OURS_F1, mean: 65.6, params: 27.1, flops: 2.57 },
};

/**
 * Table 9 keyed by row; every group's last setting is the full model (65.6). The number of neighbours K
 * is only plotted (Fig. 5b, best at K = 9), so its other rows have no paper F1.
 */
export const PAPER_TABLE9: Readonly<Record<string, PaperRow>> = {
  'cross-attention': { name: 'Cross-attention', f1: [55.8, 48.8, 58.6, 78.6, 79.6, 83.9, 88.5, 68.1, 55.2, 64.2, 49.2, 50.4], mean: 65.1 },
  concat: { name: 'Concatenation', f1: OURS_F1, mean: 65.6, params: 27.1, flops: 2.57 },
  transformer: { name: 'Transformer', f1: [53.7, 48.4, 58.6, 78.1, 79.0, 85.2, 88.3, 65.4, 54.8, 65.1, 46.4, 53.6], mean: 64.7, params: 74.0, flops: 3.41 },
  gcn: { name: 'GCN', f1: OURS_F1, mean: 65.6, params: 27.1, flops: 2.57 },
  manhattan: { name: 'Manhattan distance', f1: [55.0, 48.7, 62.3, 77.9, 79.1, 84.8, 89.0, 67.6, 55.6, 64.2, 46.9, 51.9], mean: 65.3 },
  cosine: { name: 'Cosine similarity', f1: [56.0, 48.3, 59.4, 78.7, 79.6, 83.9, 88.1, 64.4, 54.0, 62.1, 48.4, 54.3], mean: 64.8 },
  euclidean: { name: 'Euclidean distance', f1: OURS_F1, mean: 65.6, params: 27.1, flops: 2.57 },
  edgeconv: { name: 'EdgeConv', f1: [56.7, 48.6, 60.2, 78.1, 79.4, 84.9, 88.4, 66.9, 51.9, 65.4, 48.7, 52.2], mean: 65.1 },
  gin: { name: 'GIN', f1: [55.3, 48.3, 59.6, 78.8, 79.0, 84.8, 87.7, 68.3, 55.1, 62.2, 46.4, 53.1], mean: 64.9 },
  graphsage: { name: 'GraphSAGE', f1: [55.7, 47.9, 59.5, 77.3, 80.0, 83.4, 88.7, 66.4, 54.8, 64.6, 48.1, 51.4], mean: 64.8 },
  'max-relative': { name: 'Max-Relative GraphConv', f1: OURS_F1, mean: 65.6, params: 27.1, flops: 2.57 },
  k9: { name: 'K = 9', f1: OURS_F1, mean: 65.6, params: 27.1, flops: 2.57 },
};
