/** The paper's reported per-AU F1 (Tables 5 and 6), to print beside ours when the AU set matches. */
import type { AuSet } from '../face/au.js';

export const PAPER_F1: Readonly<Record<AuSet, { perAu: Readonly<Record<number, number>>; mean: number }>> = {
  bp4d: { perAu: { 1: 57.8, 2: 48.8, 4: 59.4, 6: 79.1, 7: 78.8, 10: 84.0, 12: 88.2, 14: 65.2, 15: 56.1, 17: 63.8, 23: 50.8, 24: 55.2 }, mean: 65.6 },
  disfa: { perAu: { 1: 62.0, 2: 65.7, 4: 74.5, 6: 53.2, 9: 43.1, 12: 76.9, 25: 95.6, 26: 53.1 }, mean: 65.5 },
};
