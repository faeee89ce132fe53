/**
 * The fixed graphs of Table 7's FBG and SBG rows (§4.3.1), as neighbour lists over SACL's ROI nodes (two
 * per centre pair, `roisOf` order). Sources (docs/model.md, "Fixed graphs"):
 * - SBG `au-gcn`: the statistics-based graph of [3] (AU-GCN): AUs linked by their co-occurrence on the
 *   training fold, thresholded and binarised (τ and the symmetry are our choices: [3]'s are not public);
 * - SBG `top-k`: our earlier stand-in, each node's K − 1 most co-occurring nodes;
 * - FBG `emotion-prototype`: our stand-in for [1]'s FACS-based graph, whose definition is not public.
 *
 * A node carries the AUs of its centre pair that the dataset labels. A neighbour list is the node itself
 * first, then its neighbours, padded with itself to the list width: under Max-Relative aggregation (the
 * paper's GCN for every Table 7 row) a repeated self adds nothing, since x_i − x_i = 0.
 */
import { AU_SETS, EMOTION_PROTOTYPES, roisOf, type AuSet } from '../face/au.js';
import type { SaclConfig } from './config.js';
import { checkSquareMatrix, rangeError } from '../util/validate.js';

/** Neighbour lists [N × width], row-major, node order of `roisOf`. */
export interface NeighbourLists {
  neighbours: Int32Array;
  width: number;
}

/** Rows of node indices → one [N × width] table, each row padded with its own node. */
function pack(rows: number[][], width = Math.max(...rows.map((r) => r.length))): NeighbourLists {
  const neighbours = new Int32Array(rows.length * width);
  rows.forEach((row, i) => {
    const padded = row.slice(0, width);
    while (padded.length < width) padded.push(i);
    neighbours.set(padded, i * width);
  });
  return { neighbours, width };
}

/** Each node's AUs, restricted to the AUs the set labels, as indices into AU_SETS[set]. */
function nodeAus(set: AuSet): number[][] {
  const aus = AU_SETS[set];
  return roisOf(set).map((roi) => roi.pair.aus.map((a) => aus.indexOf(a)).filter((i) => i >= 0));
}

/**
 * [3]'s statistics-based AU graph: A[i][j] = 1 when P(AU j | AU i) ≥ τ or P(AU i | AU j) ≥ τ, else 0
 * (binarised, symmetric); A[i][i] = 1 (the GCN's self-loop). `cooccurrence[i][j]` = P(AU j present |
 * AU i present) on the training fold, AUs in AU_SETS order ({@link cooccurrenceFromLabels}). An AU never
 * present has an all-zero row and column, so it keeps only its self-loop.
 */
export function auGcnAdjacency(cooccurrence: number[][], threshold: number): number[][] {
  const n = cooccurrence.length;
  checkSquareMatrix('cooccurrence', cooccurrence, n);
  if (!(threshold > 0 && threshold <= 1)) throw rangeError('sbgThreshold', 'a number in (0, 1]', threshold);
  return cooccurrence.map((row, i) => row.map((p, j) => (i === j || p >= threshold || cooccurrence[j]![i]! >= threshold ? 1 : 0)));
}

/**
 * An AU adjacency (AU_SETS[set] order) as ROI neighbour lists: two nodes are neighbours when any AU of
 * one is adjacent to any AU of the other; the two sides of one pair share their AUs and so are always
 * neighbours. Neighbours follow the node itself in index order; the width is the largest degree + 1.
 */
export function adjacencyNeighbours(set: AuSet, adjacency: number[][]): NeighbourLists {
  checkSquareMatrix(`adjacency (${set})`, adjacency, AU_SETS[set].length);
  const aus = nodeAus(set);
  const linked = (i: number, j: number) => aus[i]!.some((a) => aus[j]!.some((b) => a === b || adjacency[a]![b] !== 0));
  return pack(aus.map((_, i) => [i, ...aus.map((__, j) => j).filter((j) => j !== i && linked(i, j))]));
}

/** Self first, then the other nodes by decreasing score (ties by index), cut or padded to K. */
function rankedNeighbours(n: number, k: number, score: (i: number, j: number) => number, positiveOnly: boolean): Int32Array {
  const rows = Array.from({ length: n }, (_, i) => [i, ...Array.from({ length: n }, (__, j) => j)
    .filter((j) => j !== i && (!positiveOnly || score(i, j) > 0))
    .sort((a, b) => score(i, b) - score(i, a) || a - b)]);
  return pack(rows, k).neighbours;
}

/** Max over the AUs of two nodes of an AU-level relation; nodes sharing an AU score highest. */
function nodeScore(set: AuSet, auScore: (a: number, b: number) => number): (i: number, j: number) => number {
  const rois = roisOf(set);
  return (i, j) => {
    let best = 0;
    for (const a of rois[i]!.pair.aus) for (const b of rois[j]!.pair.aus) best = Math.max(best, a === b ? Infinity : auScore(a, b));
    return best;
  };
}

/**
 * Our FBG stand-in (`emotion-prototype`): two nodes are related when their AUs appear together in an
 * emotion prototype (score = prototypes shared); nodes of the same AU (the two sides) rank first. Only
 * related nodes are neighbours. [N·K] row-major.
 */
export function emotionPrototypeGraph(set: AuSet, k: number): Int32Array {
  const shared = (a: number, b: number) => Object.values(EMOTION_PROTOTYPES).filter((p) => p.includes(a) && p.includes(b)).length;
  return rankedNeighbours(roisOf(set).length, k, nodeScore(set, shared), true);
}

/**
 * Our SBG alternative (`top-k`): AU relation = max(P(b | a), P(a | b)) from the training fold's
 * co-occurrence matrix; every node takes its K − 1 most related nodes. [N·K] row-major.
 */
export function topKCooccurrenceGraph(set: AuSet, k: number, cooccurrence: number[][]): Int32Array {
  const aus = AU_SETS[set];
  checkSquareMatrix('cooccurrence', cooccurrence, aus.length);
  const relation = (a: number, b: number) => {
    const i = aus.indexOf(a);
    const j = aus.indexOf(b);
    return i < 0 || j < 0 ? 0 : Math.max(cooccurrence[i]![j]!, cooccurrence[j]![i]!);
  };
  return rankedNeighbours(roisOf(set).length, k, nodeScore(set, relation), false);
}

/** The fixed graph a SACL config names (graph 'facs' → FBG, 'stats' → SBG); null for the KNN graph. */
export function fixedGraphOf(set: AuSet, c: SaclConfig): NeighbourLists | null {
  if (c.layer === 'transformer' || c.graph === 'knn') return null;
  if (c.graph === 'facs') return { neighbours: emotionPrototypeGraph(set, c.k), width: c.k };
  if (!c.cooccurrence) {
    throw rangeError('sacl.cooccurrence', 'the training fold\'s AU co-occurrence matrix when graph is "stats" (the statistics-based graph)', JSON.stringify(c.cooccurrence));
  }
  return c.sbg === 'top-k' ? { neighbours: topKCooccurrenceGraph(set, c.k, c.cooccurrence), width: c.k }
    : adjacencyNeighbours(set, auGcnAdjacency(c.cooccurrence, c.sbgThreshold));
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
