/**
 * The fixed graphs of Table 7's FBG and SBG variants, over the ROI nodes (two per centre pair). A node's
 * neighbour list is itself first, then the other nodes by decreasing relation score (ties by index),
 * padded with itself up to K: with Max-Relative aggregation a repeated self adds nothing (x_i − x_i = 0).
 */
import { AU_SETS, EMOTION_PROTOTYPES, roisOf, type AuSet } from '../face/au.js';

function neighbourList(n: number, k: number, score: (i: number, j: number) => number, positiveOnly: boolean): Int32Array {
  const out = new Int32Array(n * k);
  for (let i = 0; i < n; i++) {
    const others = Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i && (!positiveOnly || score(i, j) > 0))
      .sort((a, b) => score(i, b) - score(i, a) || a - b);
    const row = [i, ...others].slice(0, k);
    while (row.length < k) row.push(i);
    out.set(row, i * k);
  }
  return out;
}

/** Max over the AUs of two nodes of an AU-level relation. */
function nodeScore(set: AuSet, auScore: (a: number, b: number) => number): (i: number, j: number) => number {
  const rois = roisOf(set);
  return (i, j) => {
    let best = 0;
    for (const a of rois[i]!.pair.aus) for (const b of rois[j]!.pair.aus) best = Math.max(best, a === b ? Infinity : auScore(a, b));
    return best;
  };
}

/**
 * FACS-based graph: two nodes are related when their AUs appear together in an emotion prototype
 * (score = number of prototypes shared); nodes of the same AU (the two sides) rank first. Only related
 * nodes are neighbours. [N·K] row-major.
 */
export function facsGraph(set: AuSet, k: number): Int32Array {
  const shared = (a: number, b: number) => Object.values(EMOTION_PROTOTYPES).filter((p) => p.includes(a) && p.includes(b)).length;
  return neighbourList(roisOf(set).length, k, nodeScore(set, shared), true);
}

/**
 * Statistics-based graph: AU relation = max(P(b | a), P(a | b)) from the training fold's co-occurrence
 * matrix (cooccurrence[i][j] = P(AU j present | AU i present), AUs in the set's order); every node takes
 * its K − 1 most related nodes.
 */
export function statisticsGraph(set: AuSet, k: number, cooccurrence: number[][]): Int32Array {
  const aus = AU_SETS[set];
  const at = (a: number) => aus.indexOf(a);
  const relation = (a: number, b: number) => {
    const i = at(a);
    const j = at(b);
    return i < 0 || j < 0 ? 0 : Math.max(cooccurrence[i]![j]!, cooccurrence[j]![i]!);
  };
  return neighbourList(roisOf(set).length, k, nodeScore(set, relation), false);
}

/**
 * P(AU j present | AU i present) from labels [frames × AUs] (1 present, 0 absent, anything else unknown
 * and skipped pairwise). Rows of AUs never present are 0.
 */
export function cooccurrenceFromLabels(labels: ArrayLike<number>[], numAus: number): number[][] {
  const both = Array.from({ length: numAus }, () => new Float64Array(numAus));
  const given = Array.from({ length: numAus }, () => new Float64Array(numAus));
  for (const row of labels) {
    for (let i = 0; i < numAus; i++) {
      if (row[i] !== 1) continue;
      for (let j = 0; j < numAus; j++) {
        if (row[j] !== 0 && row[j] !== 1) continue;
        given[i]![j]! += 1;
        if (row[j] === 1) both[i]![j]! += 1;
      }
    }
  }
  return both.map((r, i) => Array.from(r, (v, j) => (given[i]![j]! > 0 ? v / given[i]![j]! : 0)));
}
