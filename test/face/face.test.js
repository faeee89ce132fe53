/**
 * Faces in ordinary photos (sacl-au/face): face-api's detector and 68 landmarks on the photos its package
 * ships, the 68 → 49 mapping, the alignment, and predictFaces with a small model.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../dist/tf/engine.js';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { alignedTemplate, meanPoint, FLIP_PERMUTATION, LANDMARK_GROUPS } from '../../dist/face/landmarks.js';
import {
  IBUG68_FOR_49, alignFace, decodeImage, detectFaces, landmarks68To49, landmarksInBoxes, overlaySvg, predictFaces, roiQuads,
} from '../../dist/face/index.js';
import { alignedSize } from '../../dist/data/loader.js';
import { roisOf } from '../../dist/face/au.js';

const require = createRequire(import.meta.url);
const demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const test = suite('sacl-au/face');

/** Photos in face-api's package and how many faces each shows (counted by eye). */
const PHOTOS = [['sample1.jpg', 3], ['sample5.jpg', 5]];
const images = new Map();
const faces = new Map();

test.before(async () => {
  await initTf(process.env.SACL_TF_BACKEND ? {} : { prefer: 'wasm' }); // leaves process.env alone for later files
  for (const [name] of PHOTOS) images.set(name, await decodeImage(join(demo, name)));
});

/** The iBUG 68 scheme's mirror image, written from its definition: point i of the flipped face. */
function ibugFlip() {
  const pairs = [];
  for (let i = 0; i <= 16; i++) pairs.push([i, 16 - i]); // jaw
  for (let i = 0; i < 5; i++) pairs.push([17 + i, 26 - i], [26 - i, 17 + i]); // brows
  for (const i of [27, 28, 29, 30, 33, 51, 57, 62, 66]) pairs.push([i, i]); // on the midline
  for (const [a, b] of [[31, 35], [32, 34], [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46],
    [48, 54], [49, 53], [50, 52], [55, 59], [56, 58], [60, 64], [61, 63], [65, 67]]) pairs.push([a, b], [b, a]);
  const flip = new Array(68);
  for (const [a, b] of pairs) flip[a] = b;
  return flip;
}

test('68 → 49: drops the jaw and the inner-mouth corners, and commutes with both schemes\' mirror images', () => {
  assert.is(IBUG68_FOR_49.length, 49);
  const dropped = Array.from({ length: 68 }, (_, i) => i).filter((i) => !IBUG68_FOR_49.includes(i));
  assert.equal(dropped, [...Array.from({ length: 17 }, (_, i) => i), 60, 64]);
  const flip68 = ibugFlip();
  for (let i = 0; i < 49; i++) assert.is(IBUG68_FOR_49[FLIP_PERMUTATION[i]], flip68[IBUG68_FOR_49[i]], `point ${i}`);
  const coded = Float32Array.from({ length: 136 }, (_, k) => (k % 2 ? -1 : 1) * Math.floor(k / 2));
  const mapped = landmarks68To49(coded);
  for (let i = 0; i < 49; i++) assert.equal([mapped[2 * i], mapped[2 * i + 1]], [IBUG68_FOR_49[i], -IBUG68_FOR_49[i]]);
  assert.throws(() => landmarks68To49(new Float32Array(98)), /Expected 136 numbers \(68 points as x, y\) for points \(landmarks68To49\) but received 98/);
});

test('detectFaces: every face in the package\'s photos, on sacl-au\'s own tfjs, with landmarks in their boxes', async () => {
  const before = tf.memory().numTensors;
  for (const [name, count] of PHOTOS) {
    const image = images.get(name);
    const found = await detectFaces(image);
    faces.set(name, found);
    assert.is(found.length, count, name);
    for (const f of found) {
      assert.ok(f.score >= 0.5 && f.score <= 1, `${name}: score ${f.score}`);
      assert.ok(f.box.x >= -1 && f.box.y >= -1 && f.box.x + f.box.width <= image.width + 1 && f.box.y + f.box.height <= image.height + 1, `${name}: box in the image`);
      // brows may rise a little above a detector's box: allow a fifth of the box on each side
      const { x, y, width: w, height: h } = f.box;
      for (let i = 0; i < 68; i++) {
        const px = f.landmarks68[2 * i];
        const py = f.landmarks68[2 * i + 1];
        assert.ok(px > x - w / 5 && px < x + 1.2 * w && py > y - h / 5 && py < y + 1.2 * h, `${name}: landmark ${i} (${px}, ${py}) outside box ${JSON.stringify(f.box)}`);
      }
    }
    for (let i = 1; i < found.length; i++) assert.ok(found[i - 1].box.x <= found[i].box.x, 'left to right');
    assert.is((await detectFaces(image, { detector: 'tiny' })).length, count, `${name}, tiny detector`);
  }
  // the weights live in sacl-au's tfjs engine (a bundled tfjs copy would not show here)
  assert.ok(tf.memory().numTensors > before + 100, `tensors ${before} → ${tf.memory().numTensors}`);
  let error;
  await detectFaces(images.get('sample1.jpg'), { detector: 'yolo' }).catch((e) => { error = e; });
  assert.match(String(error), /RangeError: Expected one of "ssd", "tiny" for detector but received "yolo"/);
});

test('detectFaces on the \'cpu\' backend (sacl-au predict\'s default when the addon is built) finds the same faces', () => {
  // in a child: this process runs on wasm
  const face = fileURLToPath(new URL('../../dist/face/index.js', import.meta.url));
  const engine = fileURLToPath(new URL('../../dist/tf/engine.js', import.meta.url));
  const script = `
    const { initTf } = await import(${JSON.stringify(engine)});
    const { decodeImage, detectFaces } = await import(${JSON.stringify(face)});
    const { active } = await initTf({ prefer: 'cpu' });
    const image = await decodeImage(${JSON.stringify(join(demo, 'sample1.jpg'))});
    const counts = [];
    for (const detector of ['tiny', 'ssd']) counts.push((await detectFaces(image, { detector })).length);
    console.log(JSON.stringify({ active, counts }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()), { active: 'cpu', counts: [3, 3] });
});

test('landmarksInBoxes: all faces in one batch give each face\'s landmarks alone, close to the detector\'s own', async () => {
  const image = images.get('sample1.jpg');
  const found = faces.get('sample1.jpg');
  const boxes = found.map((f) => ({ box: f.box, score: f.score }));
  const batch = await landmarksInBoxes(image, [...boxes, { box: { x: -50, y: 10, width: 40, height: 40 }, score: 1 }]);
  assert.is(batch.length, 4);
  assert.is(batch[3], null, 'a box outside the picture gives null');
  for (let i = 0; i < found.length; i++) {
    const [alone] = await landmarksInBoxes(image, [boxes[i]]);
    const d = (a, b) => Math.max(...Array.from(a, (v, k) => Math.abs(v - b[k])));
    assert.ok(d(batch[i].landmarks68, alone.landmarks68) < 0.01, `face ${i}: batch vs alone ${d(batch[i].landmarks68, alone.landmarks68)}`);
    // the detector's crop differs by rounding only: within 2 % of the face's width
    const off = d(alone.landmarks68, found[i].landmarks68);
    assert.ok(off < 0.02 * found[i].box.width, `face ${i}: ${off.toFixed(2)} px from the detector's (box ${found[i].box.width.toFixed(0)} px wide)`);
    assert.is(alone.score, found[i].score);
  }
});

test('the 49 points land on the parts docs/model.md names (real faces, upright after alignment)', () => {
  for (const [name] of PHOTOS) {
    for (const f of faces.get(name)) {
      const p = alignFace(images.get(name), landmarks68To49(f.landmarks68), 256).landmarks;
      const X = (i) => p[2 * i];
      const Y = (i) => p[2 * i + 1];
      const at = `${name} face at x=${Math.round(f.box.x)}`;
      const eyeY = (meanPoint(p, LANDMARK_GROUPS.leftEye)[1] + meanPoint(p, LANDMARK_GROUPS.rightEye)[1]) / 2;
      for (let i = 0; i <= 9; i++) assert.ok(Y(i) < eyeY, `${at}: brow point ${i} above the eyes`);
      assert.ok(X(0) < X(4) && X(4) < X(5) && X(5) < X(9), `${at}: brows outer → inner, inner → outer`);
      assert.ok(X(19) < X(22) && X(22) < X(25) && X(25) < X(28), `${at}: eye corners left to right`);
      assert.ok(Y(20) < Y(24) && Y(21) < Y(23) && Y(26) < Y(30) && Y(27) < Y(29), `${at}: upper lids above lower lids`);
      assert.ok(Y(10) < Y(13) && Y(13) > eyeY, `${at}: nose bridge top → tip, below the eyes`);
      assert.ok(X(14) < X(16) && X(16) < X(18), `${at}: nostrils left → right`);
      const w = X(37) - X(31);
      assert.ok(w > 0 && Y(34) < Y(40), `${at}: mouth corners 31, 37; top 34 above bottom 40`);
      // the inner-lip points lie well inside the mouth corners: iBUG's inner corners 60 and 64 (dropped) would not
      assert.ok(X(43) - X(31) > 0.12 * w && X(37) - X(45) > 0.12 * w, `${at}: inner upper lip inside the corners`);
      assert.ok(X(37) - X(46) > 0.12 * w && X(48) - X(31) > 0.12 * w, `${at}: inner lower lip inside the corners`);
      assert.ok(X(43) < X(44) && X(44) < X(45), `${at}: inner upper lip left → right`);
      assert.ok(X(46) > X(47) && X(47) > X(48), `${at}: inner lower lip right → left`);
    }
  }
});

test('alignFace levels the eyes and puts the face where the aligned template has it', () => {
  const template = alignedTemplate();
  for (const [name] of PHOTOS) {
    for (const f of faces.get(name)) {
      const a = alignFace(images.get(name), landmarks68To49(f.landmarks68), 256);
      assert.equal([a.image.width, a.image.height, a.image.data.length], [256, 256, 256 * 256 * 3]);
      const [lx, ly] = meanPoint(a.landmarks, LANDMARK_GROUPS.leftEye);
      const [rx, ry] = meanPoint(a.landmarks, LANDMARK_GROUPS.rightEye);
      assert.ok(Math.abs(ry - ly) < 1e-3, `${name}: eyes level (dy ${ry - ly})`);
      assert.ok(rx > lx, 'not mirrored');
      let mean = 0;
      for (let i = 0; i < 49; i++) mean += Math.hypot(a.landmarks[2 * i] / 256 - template[2 * i], a.landmarks[2 * i + 1] / 256 - template[2 * i + 1]) / 49;
      assert.ok(mean < 0.05, `${name}: mean distance to the template ${mean}`);
    }
  }
  assert.throws(() => alignFace(images.get('sample1.jpg'), new Float32Array(136)), /Expected 98 numbers \(49 points\) for landmarks49 \(alignFace\) but received 136/);
});

test('predictFaces: one prediction per face, none for a picture without a face', async () => {
  const model = new AuModel(modelConfig('tiny', { inputSize: 48 }));
  try {
    const blank = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).map((_, i) => (i % 3 === 0 ? (i / 3) % 320 : 90)) };
    const [withFaces, none] = await predictFaces(model, [images.get('sample1.jpg'), blank]);
    assert.is(withFaces.length, 3);
    assert.is(none.length, 0);
    for (const p of withFaces) {
      assert.equal(p.aus, [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]);
      assert.is(p.probabilities.length, 12);
      assert.ok(p.probabilities.every((v) => v > 0 && v < 1), `${p.probabilities}`);
      assert.equal(Array.from(p.landmarks49), Array.from(landmarks68To49(p.landmarks68)));
    }
  } finally {
    model.dispose();
  }
});

test('roiQuads: the model\'s ROI squares mapped back onto the picture, centred on the AU centres', async () => {
  const geometry = { roiSize: 8, auSet: 'bp4d' };
  const image = images.get('sample1.jpg');
  for (const f of faces.get('sample1.jpg')) {
    const landmarks49 = landmarks68To49(f.landmarks68);
    const { transform, landmarks: aligned } = alignFace(image, landmarks49, alignedSize(224));
    const r = Math.abs(aligned[2 * 22] - aligned[2 * 25]); // Table 2's scale, in the model's input
    const quads = roiQuads({ landmarks49, transform }, geometry);
    const rois = roisOf('bp4d');
    assert.is(quads.length, 18);
    const scale = Math.hypot(transform[0], transform[3]); // aligned pixels per picture pixel
    quads.forEach((q, i) => {
      const side = Math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1]);
      assert.ok(Math.abs(side - 32 / scale) < 1e-3, `ROI ${i}: side ${side} vs ${32 / scale}`);
      const cx = q.reduce((a, p) => a + p[0], 0) / 4;
      const cy = q.reduce((a, p) => a + p[1], 0) / 4;
      const lx = landmarks49[2 * rois[i].landmark];
      const ly = landmarks49[2 * rois[i].landmark + 1];
      const dist = Math.hypot(cx - lx, cy - ly);
      const want = (Math.abs(rois[i].pair.dy) * r) / scale;
      assert.ok(Math.abs(dist - want) < 1e-2, `ROI ${i} (${rois[i].pair.name}): ${dist} px from landmark ${rois[i].landmark}, expected ${want}`);
    });
  }
  const svg = overlaySvg(image.width, image.height, [{ ...faces.get('sample1.jpg')[0], landmarks49: landmarks68To49(faces.get('sample1.jpg')[0].landmarks68),
    transform: alignFace(image, landmarks68To49(faces.get('sample1.jpg')[0].landmarks68), 256).transform, aus: [1, 2], probabilities: new Float32Array([0.7, 0.2]) }],
  geometry);
  assert.is((svg.match(/<polygon /g) ?? []).length, 18);
  assert.is((svg.match(/<circle /g) ?? []).length, 49);
  assert.match(svg, /AU01 0\.70<\/text>/);
  assert.match(svg, /AU02 0\.20<\/text>/);
});

test.run();
