/**
 * The training loader's colour jitter: brightness and contrast as torchvision's ColorJitter applies them
 * to the cropped image (contrast about the crop's own mean grey level), in a random order per sample,
 * deterministic from (seed, epoch, position).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { batches, drawAugmentation } from '../../dist/data/loader.js';
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
  const grey = (px, n) => { let g = 0; for (let i = 0; i < n; i++) g += 0.299 * px[3 * i] + 0.587 * px[3 * i + 1] + 0.114 * px[3 * i + 2]; return g / n; };
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

test.run();
