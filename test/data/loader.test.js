/**
 * The training loader's colour jitter: brightness and contrast as torchvision's ColorJitter applies them
 * to the cropped image (contrast about the crop's own mean grey level), in a random order per sample,
 * deterministic from (seed, epoch, position); against torchvision's own adjust_brightness/adjust_contrast
 * when python3 with torchvision is present.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { batchTensors, batches, colorJitter, drawAugmentation } from '../../dist/data/loader.js';
import { Random } from '../../dist/util/random.js';

const test = suite('loader');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const S = 112; // input size
const A = 128; // aligned size for 112
const N = 12;
let dir;
test.before(() => { dir = mkdtempSync(join(tmpdir(), 'sacl-loader-')); });
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A face whose crop (for that sample's draw) is a colour ramp up to 250, with white outside it. */
function imageFor(aug) {
  const rgb = new Uint8Array(A * A * 3).fill(255);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const at = 3 * ((aug.oy + y) * A + aug.ox + x);
      rgb[at] = 20 + ((x * 2 + y) % 230);
      rgb[at + 1] = 40 + ((x + 3 * y) % 210);
      rgb[at + 2] = 250 - ((5 * x + y) % 200);
    }
  }
  return rgb;
}

/** torchvision's float semantics on a crop of `rgb` (values 0…255), written independently of the loader. */
function reference(rgb, aug, { meanOver = 'crop', brightnessFirst = aug.brightnessFirst } = {}) {
  const out = new Float64Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const sx = aug.ox + (aug.flip ? S - 1 - x : x);
      for (let c = 0; c < 3; c++) out[3 * (y * S + x) + c] = rgb[3 * ((aug.oy + y) * A + sx) + c];
    }
  }
  const grey = (px, n) => { let g = 0; for (let i = 0; i < n; i++) g += 0.2989 * px[3 * i] + 0.587 * px[3 * i + 1] + 0.114 * px[3 * i + 2]; return g / n; };
  const clamp = (v) => Math.min(255, Math.max(0, v));
  const brighten = () => { for (let i = 0; i < out.length; i++) out[i] = clamp(out[i] * aug.brightness); };
  const contrast = () => {
    const m = meanOver === 'crop' ? grey(out, S * S) : grey(rgb, A * A) * (brightnessFirst ? aug.brightness : 1);
    for (let i = 0; i < out.length; i++) out[i] = clamp((out[i] - m) * aug.contrast + m);
  };
  if (brightnessFirst) { brighten(); contrast(); } else { contrast(); brighten(); }
  return out;
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('brightness and contrast on the crop, in a random order per sample, as torchvision', async () => {
  const seed = 4;
  const augs = Array.from({ length: N }, (_, i) => drawAugmentation(new Random(seed, `augment:0:${i}`), A - S));
  const images = augs.map(imageFor);
  const samples = await Promise.all(images.map(async (rgb, i) => {
    const file = join(dir, `${i}.png`);
    await sharp(Buffer.from(rgb), { raw: { width: A, height: A, channels: 3 } }).png().toFile(file);
    return { id: String(i), subject: 'S', imagePath: file, landmarks: null, labels: new Int8Array(12) };
  }));
  const seen = [];
  for await (const b of batches(samples, { inputSize: S, batchSize: N, augment: true, shuffle: false, seed, epoch: 0 })) seen.push(b);
  assert.is(seen.length, 1);
  const got = seen[0].images;
  assert.ok(augs.some((a) => a.brightnessFirst) && augs.some((a) => !a.brightnessFirst), 'both orders drawn');
  let orderMatters = 0;
  let meanMatters = 0;
  augs.forEach((aug, i) => {
    const pixels = Array.from(got.subarray(i * S * S * 3, (i + 1) * S * S * 3), (v, j) => (v * STD[j % 3] + MEAN[j % 3]) * 255);
    const want = reference(images[i], aug);
    assert.ok(maxDiff(pixels, want) < 0.01, `sample ${i} (${JSON.stringify(aug)}): off by ${maxDiff(pixels, want)}`);
    if (maxDiff(want, reference(images[i], aug, { brightnessFirst: !aug.brightnessFirst })) > 1) orderMatters++;
    if (maxDiff(want, reference(images[i], aug, { meanOver: 'image' })) > 1) meanMatters++;
  });
  // the image is built so that both choices show: the test could not pass with the other order or mean
  assert.ok(orderMatters >= 3, `the order changes ${orderMatters} samples`);
  assert.ok(meanMatters >= 6, `the whole image's mean changes ${meanMatters} samples`);
});

const PY = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0);

test('colorJitter equals torchvision\'s adjust_brightness / adjust_contrast in either order', () => {
  if (!PY) {
    console.log('[sacl-au tests] torchvision cross-check skipped: no python3 with torch and torchvision');
    return;
  }
  const side = 9;
  const rgb = Float32Array.from({ length: side * side * 3 }, (_, i) => (i * 37 + (i % 7) * 91) % 256);
  const cases = [[1.3, 0.7, true], [1.3, 0.7, false], [0.65, 1.35, true], [0.65, 1.35, false], [1.4, 1.4, false], [1, 0.6, true]];
  const script = `
import json, sys, torch
import torchvision.transforms.functional as F
q = json.load(sys.stdin)
side = q['side']
img = torch.tensor(q['rgb'], dtype=torch.float32).reshape(side, side, 3).permute(2, 0, 1) / 255
out = []
for b, c, first in q['cases']:
    x = img.clone()
    x = F.adjust_contrast(F.adjust_brightness(x, b), c) if first else F.adjust_brightness(F.adjust_contrast(x, c), b)
    out.append((x.permute(1, 2, 0).reshape(-1) * 255).tolist())
print(json.dumps(out))
`;
  const r = spawnSync(PY, ['-c', script], { input: JSON.stringify({ side, rgb: Array.from(rgb), cases }), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout);
  cases.forEach(([brightness, contrast, brightnessFirst], k) => {
    const got = rgb.slice();
    colorJitter(got, { brightness, contrast, brightnessFirst });
    assert.ok(maxDiff(got, want[k]) < 2e-3, `case ${cases[k]}: off by ${maxDiff(got, want[k])}`);
  });
  // the orders differ on this image (values clamp at 255), so the comparison can tell them apart
  assert.ok(maxDiff(want[0], want[1]) > 1);
});

test('same seed, same batch; another epoch, another draw; test time is the centre crop, unjittered', () => {
  const a = drawAugmentation(new Random(9, 'augment:0:3'), 16);
  assert.equal(drawAugmentation(new Random(9, 'augment:0:3'), 16), a);
  assert.not.equal(drawAugmentation(new Random(9, 'augment:1:3'), 16), a);
  assert.equal(drawAugmentation(null, 16), { ox: 8, oy: 8, flip: false, brightness: 1, contrast: 1, brightnessFirst: true });
  for (let i = 0; i < 200; i++) {
    const d = drawAugmentation(new Random(1, `augment:0:${i}`), 32);
    assert.ok(d.ox >= 0 && d.ox <= 32 && d.oy >= 0 && d.oy <= 32, 'offsets 0…A−S inclusive');
    assert.ok(d.brightness >= 0.6 && d.brightness <= 1.4 && d.contrast >= 0.6 && d.contrast <= 1.4, 'factors in [0.6, 1.4]');
  }
});

test('two passes with one seed give identical batches; another seed another one', async () => {
  const samples = Array.from({ length: 4 }, (_, i) => ({ id: String(i), subject: 'S', imagePath: join(dir, `${i}.png`), landmarks: null, labels: new Int8Array(12) }));
  const pass = async (seed) => {
    const out = [];
    for await (const b of batches(samples, { inputSize: S, batchSize: 2, augment: true, shuffle: true, seed, epoch: 1 })) out.push(...b.images);
    return out;
  };
  const a = await pass(3);
  assert.equal(await pass(3), a);
  assert.not.equal(await pass(4), a);
});

test('startBatch: a pass begun at batch k yields the whole pass\'s batches from k on (a run resumed mid-epoch); a bad one is refused', async () => {
  const samples = Array.from({ length: 4 }, (_, i) => ({ id: String(i), subject: 'S', imagePath: join(dir, `${i}.png`), landmarks: null, labels: new Int8Array(12) }));
  const pass = async (startBatch) => {
    const out = [];
    for await (const b of batches(samples, { inputSize: S, batchSize: 1, augment: true, shuffle: true, seed: 3, epoch: 2, startBatch })) out.push({ id: b.samples[0].id, images: Array.from(b.images) });
    return out;
  };
  const whole = await pass(undefined);
  assert.equal(await pass(2), whole.slice(2));
  assert.equal(await pass(4), []);
  for (const bad of [-1, 1.5]) {
    let error;
    try { await pass(bad); } catch (e) { error = e; }
    assert.instance(error, RangeError);
    assert.is(error.message, `Expected a non-negative integer for startBatch but received ${bad}`);
  }
});

test('batchTensors: rows [start, start + n) of a batch, images [n, S, S, 3], landmarks [n, 49, 2]; a range outside the batch is refused', async () => {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu'); // another file of a combined run may have registered wasm without initializing it
  const S2 = 4;
  const B = 3;
  const C = 2;
  const fill = (n) => Float32Array.from({ length: n }, (_, i) => i);
  const batch = { size: B, images: fill(B * S2 * S2 * 3), labels: fill(B * C), mask: fill(B * C), landmarks: fill(B * 98), interOcular: fill(B), hasLandmarks: fill(B) };
  const t = batchTensors(batch, S2, 1, 2);
  assert.equal(t.images.shape, [2, S2, S2, 3]);
  assert.equal(t.landmarks.shape, [2, 49, 2]);
  assert.equal(t.labels.shape, [2, C]);
  assert.is(t.images.dataSync()[0], S2 * S2 * 3, 'starts at image 1');
  assert.is(t.landmarks.dataSync()[0], 98);
  assert.equal(Array.from(t.interOcular.dataSync()), [1, 2]);
  tf.dispose(Object.values(t));
  for (const [start, n] of [[2, 2], [-1, 1], [0, 0]]) {
    let error;
    try { batchTensors(batch, S2, start, n); } catch (e) { error = e; }
    assert.instance(error, RangeError);
    assert.is(error.message, `Expected images [start, start + n) within the batch of 3 for start, n but received ${start}, ${n}`);
  }
});

test.run();
