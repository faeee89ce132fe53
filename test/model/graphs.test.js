/**
 * SACL's graphs: self-adjusting (rebuilt from each block's input features, equal to a KNN of them, and
 * different from block to block) or fixed (FACS, statistics), checked against hand-worked rows.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { AuModel, cooccurrenceFromLabels, facsGraph, roisOf, statisticsGraph } from '../../dist/model/index.js';
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
  const fixed = Array.from(facsGraph('bp4d', 5));
  for (const g of graphs) assert.equal(Array.from(g.neighbours), [...fixed, ...fixed]);
  tf.dispose(images);
  model.dispose();
});

test('FACS graph rows: self, the other side of the same AU, then AUs sharing emotion prototypes', () => {
  const rois = roisOf('bp4d').map((r) => `${r.pair.aus.join('/')}${r.side ? 'R' : 'L'}`);
  const row = (g, i, k) => Array.from(g.slice(i * k, (i + 1) * k)).map((j) => rois[j]);
  const g = facsGraph('bp4d', 9);
  // AU6 left: AU6 right, then AU12/14/15 (happiness) on both sides; padded with itself
  assert.equal(row(g, 6, 9), ['6L', '6R', '12/14/15L', '12/14/15R', '6L', '6L', '6L', '6L', '6L']);
  // AU1 left: AU1 right; then the nodes sharing two prototypes with AU1 (AU2: surprise, fear; AU4: sadness,
  // fear; AU25 of the lip-centre pair: surprise, fear) by index; then the first one-prototype node (AU7)
  assert.equal(row(g, 0, 9), ['1L', '1R', '2L', '2R', '4L', '4R', '23/24/25L', '23/24/25R', '7L']);
});

test('statistics graph from co-occurrence counted on labels (unknowns skipped)', () => {
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
  const g = statisticsGraph('bp4d', 6, p);
  const rois = roisOf('bp4d');
  // AU1 left: itself, AU1 right, then AU4's nodes (max(0.2, 1) = 1) before AU2's (0.75)
  assert.equal(Array.from(g.slice(0, 6)).map((j) => `${rois[j].pair.aus[0]}${rois[j].side}`), ['10', '11', '40', '41', '20', '21']);
});

test.run();
