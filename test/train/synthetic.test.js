/**
 * The synthetic dataset: deterministic from the seed, written in BP4D's layout and read back by the
 * BP4D-layout reader, AU deformations local to the AU's centre, co-occurrence following the prototypes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../../dist/data/synthetic/generate.js';
import { makeIdentity, renderFace } from '../../dist/data/synthetic/face.js';
import { readBp4dLayout } from '../../dist/data/bp4d-layout.js';
import { foldSplit } from '../../dist/data/dataset.js';
import { auCentres, alignedTemplate } from '../../dist/model/index.js';
import { Random } from '../../dist/util/random.js';

const test = suite('synthetic AU dataset');
const dirs = [];
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'sacl-synth-')); dirs.push(d); return d; };

test('deterministic: two generations with one seed are byte-identical; BP4D layout read back', async () => {
  const [a, b] = [tmp(), tmp()];
  const opts = { seed: 7, subjects: 3, tasks: 1, framesPerTask: 4, size: 96 };
  await generateSynthetic({ root: a, ...opts });
  await generateSynthetic({ root: b, ...opts });
  for (const f of ['AUCoding/AU_OCC/F001_T1.csv', 'Landmarks/M001_T1.csv', 'F002/T1/3.jpg', 'folds.json']) {
    assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
  }
  const ds = await readBp4dLayout(a, 'synthetic');
  assert.is(ds.samples.length, 12);
  assert.equal(ds.parts, [['F001'], ['M001'], ['F002']]);
  const s = ds.samples.find((x) => x.id === 'M001/T1/2');
  assert.is(s.imagePath, join(a, 'M001', 'T1', '2.jpg'));
  assert.is(s.labels.length, 12);
  assert.is(s.landmarks.length, 98);
  const { train, test: held } = foldSplit(ds, 1);
  assert.ok(held.every((x) => x.subject === 'F002') && train.every((x) => x.subject !== 'F002'));
  const other = tmp();
  await generateSynthetic({ root: other, ...opts, seed: 8 });
  assert.not.ok(readFileSync(join(a, 'F002/T1/3.jpg')).equals(readFileSync(join(other, 'F002/T1/3.jpg'))), 'another seed, another image');
});

test('every AU changes the face near its own centre (labels match deformations)', () => {
  const size = 128;
  const identity = makeIdentity(new Random(3, 'id'), 7);
  const frame = (aus) => ({ aus: new Map(aus.map((a) => [a, 1])), angle: 0, scale: 1, shiftX: 0, shiftY: 0, light: 1, lightAngle: 0, noise: 0 });
  const neutral = renderFace(identity, frame([]), size, new Random(1));
  const centres = auCentres(neutral.landmarks, 'bp4d');
  const roiOf = { 1: 0, 2: 1, 4: 2, 6: 3, 7: 4, 10: 5, 12: 6, 14: 6, 15: 6, 17: 7, 23: 8, 24: 8 };
  const r = Math.abs(neutral.landmarks[44] - neutral.landmarks[50]);
  for (const au of [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]) {
    const active = renderFace(identity, frame([au]), size, new Random(1));
    let near = 0;
    let total = 0;
    const pair = roiOf[au];
    const cs = [[centres[4 * pair], centres[4 * pair + 1]], [centres[4 * pair + 2], centres[4 * pair + 3]]];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let d = 0;
        for (let c = 0; c < 3; c++) d += Math.abs(active.rgb[3 * (y * size + x) + c] - neutral.rgb[3 * (y * size + x) + c]);
        total += d;
        if (cs.some(([cx, cy]) => Math.hypot(x - cx, y - cy) < 1.3 * r)) near += d;
      }
    }
    assert.ok(total > 0, `AU${au} changes nothing`);
    assert.ok(near / total > 0.7, `AU${au}: only ${(100 * near / total).toFixed(0)} % of the change lies near its centre`);
  }
});

test('labels co-occur like the emotion prototypes (AU6 with AU12, AU1 with AU2)', async () => {
  const root = tmp();
  await generateSynthetic({ root, seed: 2, subjects: 3, tasks: 4, framesPerTask: 40, size: 64 });
  const ds = await readBp4dLayout(root, 'synthetic');
  const idx = (au) => ds.aus.indexOf(au);
  const cond = (a, b) => {
    const with_ = ds.samples.filter((s) => s.labels[idx(a)] === 1);
    return with_.filter((s) => s.labels[idx(b)] === 1).length / Math.max(1, with_.length);
  };
  const rate = (b) => ds.samples.filter((s) => s.labels[idx(b)] === 1).length / ds.samples.length;
  assert.ok(cond(6, 12) > 2 * rate(12), `P(12 | 6) = ${cond(6, 12)} vs P(12) = ${rate(12)}`);
  assert.ok(cond(2, 1) > 2 * rate(1), `P(1 | 2) = ${cond(2, 1)} vs P(1) = ${rate(1)}`);
  assert.ok(ds.samples.some((s) => s.labels.includes(-1)), 'some labels are unknown (9)');
  assert.ok(readdirSync(join(root, 'AUCoding', 'AU_OCC')).length === 12);
});

test.run();
