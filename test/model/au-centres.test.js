/**
 * AU centres (paper Table 2): hand-computed values, the tensor version, flip consistency, ROI layouts; the
 * untrained landmark head starts on the mean face exactly where the loader's centre crop puts it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { AuModel, FLIP_PERMUTATION, alignedTemplate, auCentres, auCentresTensor, flipLandmarks, inputTemplate, modelConfig, roisOf }
  from '../../dist/model/index.js';
import { batches } from '../../dist/data/loader.js';
import { Rng } from '../helpers/random.js';

const test = suite('AU centres');
test.before(async () => { await tf.setBackend('cpu'); });

/** Point i at (i, 100 + i), except the inner eye corners: x22 = 80, x25 = 120, so r = 40. */
function knownLandmarks() {
  const p = new Float32Array(98);
  for (let i = 0; i < 49; i++) {
    p[2 * i] = i;
    p[2 * i + 1] = 100 + i;
  }
  p[44] = 80;
  p[50] = 120;
  return p;
}

test('BP4D: 18 ROIs, values worked out by hand from Table 2', () => {
  const c = auCentres(knownLandmarks(), 'bp4d');
  assert.is(c.length, 36);
  const at = (r) => [c[2 * r], c[2 * r + 1]];
  assert.equal(at(0), [4, 104 - 20]); // AU1: point 4, half a scale above
  assert.equal(at(1), [5, 105 - 20]);
  assert.ok(Math.abs(at(2)[1] - (101 - 40 / 3)) < 1e-4, `AU2 y ${at(2)[1]}`); // point 1, a third above
  assert.ok(Math.abs(at(4)[1] - (102 + 40 / 3)) < 1e-4); // AU4: point 2, a third below
  assert.equal(at(6), [24, 124 + 40]); // AU6: point 24, one scale below
  assert.equal(at(7), [29, 129 + 40]);
  assert.equal(at(8), [21, 121]); // AU7: the eye itself
  assert.equal(at(12), [31, 131]); // AU12/14/15: lip corners
  assert.equal(at(13), [37, 137]);
  assert.equal(at(14), [39, 139 + 20]); // AU17: half a scale below the lower lip
  assert.equal(at(16), [34, 134]); // AU23/24: lip centre, top
  assert.equal(at(17), [40, 140]);
});

test('DISFA: 16 ROIs in the order P1 P2 P3 P4 P10 P7 P9 P8', () => {
  const c = auCentres(knownLandmarks(), 'disfa');
  assert.is(c.length, 32);
  assert.equal(roisOf('disfa').map((r) => r.pair.name), ['P1', 'P1', 'P2', 'P2', 'P3', 'P3', 'P4', 'P4', 'P10', 'P10', 'P7', 'P7', 'P9', 'P9', 'P8', 'P8']);
  assert.equal([c[16], c[17]], [15, 115 - 20]); // AU9: point 15, half a scale above
  assert.equal([c[30], c[31]], [41, 141 + 20]);
});

test('the tensor version equals the table, scaled by η, for a batch', () => {
  const rng = new Rng(5);
  const batch = [knownLandmarks(), Float32Array.from({ length: 98 }, () => rng.uniform(0, 224))];
  for (const set of ['bp4d', 'disfa']) {
    const got = auCentresTensor(tf.tensor3d(Float32Array.from(batch.flatMap((b) => [...b])), [2, 49, 2]), set, 0.25).arraySync();
    batch.forEach((lm, b) => {
      const want = auCentres(lm, set);
      got[b].forEach(([x, y], r) => {
        assert.ok(Math.abs(x - 0.25 * want[2 * r]) < 1e-4 && Math.abs(y - 0.25 * want[2 * r + 1]) < 1e-4, `${set} image ${b} roi ${r}`);
      });
    });
  }
});

test('flip consistency: centres of the flipped face are the mirrored centres of the partner ROIs', () => {
  const rng = new Rng(6);
  for (const set of ['bp4d', 'disfa']) {
    const rois = roisOf(set);
    for (let trial = 0; trial < 5; trial++) {
      const lm = Float32Array.from({ length: 98 }, () => rng.uniform(0, 224));
      const c = auCentres(lm, set);
      const f = auCentres(flipLandmarks(lm, 224), set);
      rois.forEach((roi, r) => {
        // the partner ROI: same pair, on the landmark the flip permutation maps onto
        const partner = rois.findIndex((o) => o.pair === roi.pair && o.landmark === FLIP_PERMUTATION[roi.landmark]);
        assert.ok(partner >= 0, `${set} ROI ${r} (${roi.pair.name}) has no mirror partner`);
        assert.ok(Math.abs(f[2 * r] - (223 - c[2 * partner])) < 1e-3, `${set} ROI ${r} x`);
        assert.ok(Math.abs(f[2 * r + 1] - c[2 * partner + 1]) < 1e-3, `${set} ROI ${r} y`);
      });
    }
  }
});

test('flipping twice is the identity; the permutation is an involution', () => {
  const lm = knownLandmarks();
  assert.equal(Array.from(flipLandmarks(flipLandmarks(lm, 224), 224)), Array.from(lm));
  FLIP_PERMUTATION.forEach((j, i) => assert.is(FLIP_PERMUTATION[j], i));
});

test('the mean face sits where the centre crop puts an aligned face (v·256 − 16 at 224)', async () => {
  const t = alignedTemplate();
  const at224 = inputTemplate(224);
  const at112 = inputTemplate(112);
  for (let i = 0; i < t.length; i++) {
    assert.ok(Math.abs(at224[i] - (t[i] * 256 - 16)) < 1e-4, `224: ${at224[i]} vs ${t[i] * 256 - 16}`);
    assert.ok(Math.abs(at112[i] - (t[i] * 128 - 8)) < 1e-4, `112: ${at112[i]} vs ${t[i] * 128 - 8}`);
  }
  // an aligned 256-px face whose landmarks are the template, through the loader's test-time path
  const dir = mkdtempSync(join(tmpdir(), 'sacl-template-'));
  try {
    const file = join(dir, 'face.png');
    await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toFile(file);
    const sample = { id: 'a', subject: 'S', imagePath: file, landmarks: t.map((v) => v * 256), labels: new Int8Array(12) };
    const model = new AuModel(modelConfig('tiny'), 1); // 112 px input, 128 px aligned faces
    let batch;
    for await (const b of batches([sample], { inputSize: 112, batchSize: 1, augment: false, shuffle: false, seed: 1, epoch: 0 })) batch = b;
    const predicted = tf.tidy(() => model.predict(tf.tensor4d(batch.images, [1, 112, 112, 3])).landmarks.dataSync());
    model.dispose();
    // the untrained head's offsets are tiny (FC weights ~1e-4, bias 0): it starts on the loader's landmarks
    const off = Math.max(...Array.from(predicted, (v, i) => Math.abs(v - batch.landmarks[i])));
    assert.ok(off < 0.05, `an untrained model's landmarks are up to ${off} px from the aligned face's`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
