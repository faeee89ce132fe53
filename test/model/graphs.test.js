/**
 * SACL's graphs: self-adjusting (rebuilt from each block's input features, equal to a KNN of them, and
 * different from block to block) or fixed: AU-GCN's thresholded co-occurrence graph (the paper's SBG) and
 * our emotion-prototype and top-K alternatives, checked against hand-made label matrices and hand-worked rows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import {
  AU_SETS, AuModel, adjacencyNeighbours, auGcnAdjacency, cooccurrenceFromLabels, emotionPrototypeGraph, modelConfig, roisOf,
  topKCooccurrenceGraph,
} from '../../dist/model/index.js';
import { knnGraph } from '../../dist/index.js';
import { randomBatch, smallConfig, useWasm } from './helpers.js';

const test = suite('SACL graphs');
test.before(useWasm);

test('self-adjusting: every block builds the KNN graph of its own input features, and the graphs change', () => {
  const config = smallConfig('full', { sacl: { widths: [8, 16], depths: [3, 2], k: 5 } });
  const model = new AuModel(config, 4);
  const { images } = randomBatch(config, 2, 3);
  const graphs = model.graphs(images);
  assert.equal(graphs.map((g) => [g.stage, g.block]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1]]);
  for (const g of graphs) {
    assert.equal(g.neighbourShape, [2, 18, 5]);
    const want = knnGraph({ shape: g.featureShape, data: g.features }, 5, { backend: 'reference' });
    assert.equal(Array.from(g.neighbours), Array.from(want.data), `stage ${g.stage} block ${g.block}`);
  }
  // the graph is rebuilt from new features: at the least, a new stage (widened features) sees a new graph
  const key = (g) => Array.from(g.neighbours).join();
  assert.not.equal(key(graphs[3]), key(graphs[2]), 'stage 2 reuses stage 1\'s graph');
  assert.ok(new Set(graphs.map(key)).size >= 2);
  tf.dispose(images);
  model.dispose();
});

test('FBG: one fixed FACS graph in every block, for every image', () => {
  const config = smallConfig('fbg');
  const model = new AuModel(config, 4);
  const { images } = randomBatch(config, 2, 3);
  const graphs = model.graphs(images);
  const fixed = Array.from(emotionPrototypeGraph('bp4d', 5));
  for (const g of graphs) assert.equal(Array.from(g.neighbours), [...fixed, ...fixed]);
  tf.dispose(images);
  model.dispose();
});

test('emotion-prototype graph rows: self, the other side of the same AU, then AUs sharing emotion prototypes', () => {
  const rois = roisOf('bp4d').map((r) => `${r.pair.aus.join('/')}${r.side ? 'R' : 'L'}`);
  const row = (g, i, k) => Array.from(g.slice(i * k, (i + 1) * k)).map((j) => rois[j]);
  const g = emotionPrototypeGraph('bp4d', 9);
  // AU6 left: AU6 right, then AU12/14/15 (happiness) on both sides; padded with itself
  assert.equal(row(g, 6, 9), ['6L', '6R', '12/14/15L', '12/14/15R', '6L', '6L', '6L', '6L', '6L']);
  // AU1 left: AU1 right; then the nodes sharing two prototypes with AU1 (AU2: surprise, fear; AU4: sadness,
  // fear; AU25 of the lip-centre pair: surprise, fear) by index; then the first one-prototype node (AU7)
  assert.equal(row(g, 0, 9), ['1L', '1R', '2L', '2R', '4L', '4R', '23/24/25L', '23/24/25R', '7L']);
});

test('top-K graph from co-occurrence counted on labels (unknowns skipped)', () => {
  // AUs (bp4d order) 0 = AU1, 1 = AU2; AU1 present in 4 frames, with AU2 in 3 of them; a 9 is unknown
  const labels = [
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  ];
  const p = cooccurrenceFromLabels(labels, 12);
  assert.is(p[0][1], 3 / 4); // P(AU2 | AU1): the unknown frame is left out
  assert.is(p[1][0], 3 / 4); // P(AU1 | AU2)
  assert.is(p[0][2], 1 / 5); // P(AU4 | AU1)
  assert.is(p[3][0], 0); // AU6 never present
  assert.is(p[2][0], 1); // P(AU1 | AU4): AU4's one frame has AU1
  const g = topKCooccurrenceGraph('bp4d', 6, p);
  const rois = roisOf('bp4d');
  // AU1 left: itself, AU1 right, then AU4's nodes (max(0.2, 1) = 1) before AU2's (0.75)
  assert.equal(Array.from(g.slice(0, 6)).map((j) => `${rois[j].pair.aus[0]}${rois[j].side}`), ['10', '11', '40', '41', '20', '21']);
});

// BP4D frames over AU_SETS.bp4d = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24], built from AU lists.
const frame = (present, unknown = []) => AU_SETS.bp4d.map((a) => (unknown.includes(a) ? 9 : present.includes(a) ? 1 : 0));
// AU1 in 5 frames, 2 with AU4: P(4 | 1) = 2/5 = 0.4 exactly. AU4 in 6 frames: P(1 | 4) = 2/6.
// AU6 and AU12 in 3 frames each, 1 together: P(12 | 6) = P(6 | 12) = 1/3. AU2 only ever unknown,
// AU24 present once alone; every other AU never present.
const LABELS = [
  frame([1, 4]), frame([1, 4]), frame([1]), frame([1]), frame([1], [2]),
  frame([4]), frame([4]), frame([4]), frame([4]),
  frame([6, 12]), frame([6]), frame([6]), frame([12]), frame([12]),
  frame([24]),
];
const idx = (au) => AU_SETS.bp4d.indexOf(au);
/** Off-diagonal edges of an AU adjacency as 'a-b' AU names, a < b. */
const edges = (A) => A.flatMap((row, i) => row.flatMap((v, j) => (j > i && v ? [`${AU_SETS.bp4d[i]}-${AU_SETS.bp4d[j]}`] : [])));

test('AU-GCN graph: P(j | i) ≥ τ in either direction links AUs i and j; binary, symmetric, self-loops', () => {
  const p = cooccurrenceFromLabels(LABELS, 12);
  assert.is(p[idx(1)][idx(4)], 0.4);
  assert.is(p[idx(4)][idx(1)], 2 / 6);
  const a = auGcnAdjacency(p, 0.4);
  // exactly τ in one direction is an edge; 1/3 both ways is not
  assert.equal(edges(a), ['1-4']);
  assert.ok(a.every((row, i) => row.every((v, j) => (v === 0 || v === 1) && v === a[j][i])), 'binary and symmetric');
  assert.ok(a.every((row, i) => row[i] === 1), 'every AU keeps its self-loop, even one never present (AU2, AU7…)');
  // lowering τ to 1/3 adds AU6–AU12 (1/3 ≥ 1/3); raising it past 0.4 drops AU1–AU4
  assert.equal(edges(auGcnAdjacency(p, 1 / 3)), ['1-4', '6-12']);
  assert.equal(edges(auGcnAdjacency(p, 0.41)), []);
  // the unknown AU2 label leaves P(4 | 1) over the 5 frames with AU1: AU2 is never present, so no edge
  assert.is(p[idx(1)][idx(2)], 0);
  assert.throws(() => auGcnAdjacency(p, 0), /Expected a number in \(0, 1\] for sbgThreshold but received 0/);
  assert.throws(() => auGcnAdjacency(p.slice(1), 0.4), /Expected a row of 11 finite numbers for cooccurrence\[0\] but received array \[/);
});

test('AU graph → ROI neighbour lists: node order of roisOf, both sides of an AU linked, width = max degree + 1', () => {
  const p = cooccurrenceFromLabels(LABELS, 12);
  const name = (set) => roisOf(set).map((r) => `${r.pair.aus.join('/')}${r.side ? 'R' : 'L'}`);
  const rowsOf = ({ neighbours, width }, set) => Array.from({ length: neighbours.length / width }, (_, i) => Array.from(neighbours.slice(i * width, (i + 1) * width)).map((j) => name(set)[j]));
  let g = adjacencyNeighbours('bp4d', auGcnAdjacency(p, 0.4));
  assert.is(g.width, 4);
  let rows = rowsOf(g, 'bp4d');
  assert.equal(rows[0], ['1L', '1R', '4L', '4R']);
  assert.equal(rows[5], ['4R', '1L', '1R', '4L']);
  assert.equal(rows[2], ['2L', '2R', '2L', '2L']); // AU2 never present: its own pair only, padded with itself
  assert.equal(rows[16], ['23/24/25L', '23/24/25R', '23/24/25L', '23/24/25L']);
  g = adjacencyNeighbours('bp4d', auGcnAdjacency(p, 1 / 3));
  rows = rowsOf(g, 'bp4d');
  // AU12 sits in the 12/14/15 pair: its nodes gain AU6's
  assert.equal(rows[6], ['6L', '6R', '12/14/15L', '12/14/15R']);
  assert.equal(rows[13], ['12/14/15R', '6L', '6R', '12/14/15L']);
  // pairs holding several AUs take the edges of each AU the set labels: AU17 (P8, with AU26) and AU24
  // (P9, with AU23/25) sit at positions 9 and 11 of BP4D's AUs but in pairs 8 and 9
  const b = AU_SETS.bp4d.map((x) => AU_SETS.bp4d.map((y) => (x === y || [x, y].sort((m, n) => m - n).join() === '1,17' || [x, y].sort((m, n) => m - n).join() === '2,24' ? 1 : 0)));
  const rb = rowsOf(adjacencyNeighbours('bp4d', b), 'bp4d');
  assert.equal(rb[14], ['17/26L', '1L', '1R', '17/26R']);
  assert.equal(rb[17], ['23/24/25R', '2L', '2R', '23/24/25L']);
  assert.equal(rb[0], ['1L', '1R', '17/26L', '17/26R']);
  // DISFA: AUs [1, 2, 4, 6, 9, 12, 25, 26] in its own pair order (AU9 → P10 nodes 8/9, AU25 → P9 nodes
  // 12/13, AU26 → P8 nodes 14/15)
  const d = AU_SETS.disfa.map((a) => AU_SETS.disfa.map((b) => (a === b || (a === 9 && b === 25) || (a === 25 && b === 9) ? 1 : 0)));
  const rd = rowsOf(adjacencyNeighbours('disfa', d), 'disfa');
  assert.equal(rd[8], ['9L', '9R', '23/24/25L', '23/24/25R']);
  assert.equal(rd[12], ['23/24/25L', '9L', '9R', '23/24/25R']);
  assert.equal(rd[14], ['17/26L', '17/26R', '17/26L', '17/26L']);
  assert.throws(() => adjacencyNeighbours('disfa', auGcnAdjacency(p, 0.4)), /Expected a 8×8 matrix of finite numbers for adjacency \(disfa\) but received 12 rows/);
});

const narrow = { inputSize: 64, backbone: { dims: [8, 16, 24, 32], heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], srRatios: [8, 4, 2, 1], mlpRatio: 2 },
  roiSize: 3, landmarks: [8, 8, 8], classifier: { hidden: 8 } };
const sbgConfig = (sacl = {}) => modelConfig('sbg', { ...narrow,
  sacl: { widths: [8, 16], depths: [1, 1], k: 5, groups: 2, ffnRatio: 2, cooccurrence: cooccurrenceFromLabels(LABELS, 12), ...sacl } });
/** The one fixed neighbour table every block of a model used, checked to be the same in all blocks and images. */
function fixedTable(model, config) {
  const { images } = randomBatch(config, 2, 3);
  const graphs = model.graphs(images);
  tf.dispose(images);
  const [B, N, W] = graphs[0].neighbourShape;
  const one = Array.from(graphs[0].neighbours.slice(0, N * W));
  for (const g of graphs) assert.equal(Array.from(g.neighbours), Array.from({ length: B }, () => one).flat());
  return { table: one, width: W };
}

test('config switch: SBG defaults to AU-GCN\'s graph (τ 0.4); sbg "top-k" and FBG "emotion-prototype" stay reachable', () => {
  assert.is(modelConfig('sbg').sacl.sbg, 'au-gcn');
  assert.is(modelConfig('sbg').sacl.sbgThreshold, 0.4);
  assert.is(modelConfig('fbg').sacl.fbg, 'emotion-prototype');
  const p = cooccurrenceFromLabels(LABELS, 12);
  const cases = [
    [sbgConfig(), adjacencyNeighbours('bp4d', auGcnAdjacency(p, 0.4))],
    [sbgConfig({ sbgThreshold: 1 / 3 }), adjacencyNeighbours('bp4d', auGcnAdjacency(p, 1 / 3))],
    [sbgConfig({ sbg: 'top-k' }), { neighbours: topKCooccurrenceGraph('bp4d', 5, p), width: 5 }],
    [modelConfig('fbg', { ...narrow, sacl: { widths: [8, 16], depths: [1, 1], k: 5, groups: 2, ffnRatio: 2 } }),
      { neighbours: emotionPrototypeGraph('bp4d', 5), width: 5 }],
  ];
  for (const [config, want] of cases) {
    const model = new AuModel(config, 4);
    const got = fixedTable(model, config);
    assert.is(got.width, want.width, `${config.sacl.graph}/${config.sacl.sbg}`);
    assert.equal(got.table, Array.from(want.neighbours), `${config.sacl.graph}/${config.sacl.sbg}/${config.sacl.sbgThreshold}`);
    model.dispose();
  }
  assert.throws(() => sbgConfig({ sbg: 'srerl' }), /Expected one of "au-gcn", "top-k" for sacl\.sbg but received "srerl"/);
  assert.throws(() => sbgConfig({ sbgThreshold: 1.5 }), /Expected a number in \(0, 1\] for sacl\.sbgThreshold but received 1\.5/);
  assert.throws(() => modelConfig('fbg', { sacl: { fbg: 'kdsrl' } }), /Expected "emotion-prototype" \(KDSRL's FACS-based graph, the paper's \[1\], is not encoded: its definition is not public.*\) for sacl\.fbg but received "kdsrl"/);
});

test('a checkpoint saved before the graph-source fields loads with the graph it was trained on (top-K)', async () => {
  const config = sbgConfig({ sbg: 'top-k' });
  const model = new AuModel(config, 4);
  const dir = mkdtempSync(join(tmpdir(), 'sacl-graphs-'));
  try {
    await model.save(dir);
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const saved = json.userDefinedMetadata.config.sacl;
    for (const key of ['fbg', 'sbg', 'sbgThreshold']) delete saved[key];
    writeFileSync(file, JSON.stringify(json));
    const loaded = await AuModel.load(dir);
    assert.is(loaded.config.sacl.sbg, 'top-k');
    assert.equal(fixedTable(loaded, config), fixedTable(model, config));
    loaded.dispose();
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
