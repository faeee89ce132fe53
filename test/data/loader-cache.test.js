/**
 * The training loader's batches are bit-for-bit those of its plain definition (decode, crop, flip, jitter
 * in float32 as torchvision, normalize), with or without the decode cache, on the demo's kind of images
 * (256 px JPEGs resized to the aligned size) and odd ones (non-square, landmarks, an unreadable file).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { batches, drawAugmentation, DecodeCache } from '../../dist/data/loader.js';
import { FLIP_PERMUTATION, NUM_LANDMARKS, alignedSize, interOcular } from '../../dist/face/landmarks.js';
import { Random } from '../../dist/util/random.js';

const test = suite('loader: batches bit-identical to the plain definition, decode cache');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const S = 112;
const A = alignedSize(S);
let dir;
let samples;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sacl-loader-cache-'));
  const rng = new Random(5, 'fixtures');
  samples = await Promise.all(Array.from({ length: 11 }, async (_, i) => {
    const [w, h] = i === 3 ? [200, 256] : [256, 256];
    const rgb = Buffer.alloc(w * h * 3);
    for (let p = 0; p < rgb.length; p++) rgb[p] = ((p * (i + 3)) % 251 + rng.int(0, 40)) & 255;
    const file = join(dir, `${i}.jpg`);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
    const landmarks = i % 2 ? Float32Array.from({ length: NUM_LANDMARKS * 2 }, (_, k) => 60 + (k * 7) % 130) : null;
    return { id: String(i), subject: 'S', imagePath: file, landmarks, labels: Int8Array.from({ length: 12 }, (_, a) => (a + i) % 5 === 0 ? -1 : (a + i) % 2) };
  }));
  writeFileSync(join(dir, 'bad.jpg'), 'not an image');
  samples.push({ id: 'bad', subject: 'S', imagePath: join(dir, 'bad.jpg'), landmarks: null, labels: new Int8Array(12) });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const f32 = Math.fround;
const clamp = (v) => Math.max(0, Math.min(255, v));

/** One sample as defined: every intermediate stored as float32, in the order torchvision applies them. */
async function plainSample(sample, rng) {
  const aug = drawAugmentation(rng, A - S);
  let rgb;
  let width = A;
  let height = A;
  try {
    const meta = await sharp(sample.imagePath).metadata();
    rgb = await sharp(sample.imagePath).removeAlpha().resize(A, A, { fit: 'fill' }).raw().toBuffer();
    [width, height] = [meta.width, meta.height];
  } catch {
    return plainGrey(sample);
  }
  return finish(sample, rgb, width, height, aug);
}

function plainGrey(sample) {
  const r = finish({ ...sample, landmarks: null, labels: new Int8Array(sample.labels.length).fill(-1) }, Buffer.alloc(A * A * 3, 128), A, A, drawAugmentation(null, A - S));
  return r;
}

function finish(sample, rgb, width, height, { ox, oy, flip, brightness, contrast, brightnessFirst }) {
  const crop = new Array(S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
    crop[3 * (y * S + x) + c] = rgb[3 * ((oy + y) * A + ox + (flip ? S - 1 - x : x)) + c];
  }
  const bright = () => { if (brightness !== 1) for (let i = 0; i < crop.length; i++) crop[i] = f32(clamp(crop[i] * brightness)); };
  const contrasted = () => {
    if (contrast === 1) return;
    let grey = 0;
    for (let i = 0; i < S * S; i++) grey += 0.2989 * crop[3 * i] + 0.587 * crop[3 * i + 1] + 0.114 * crop[3 * i + 2];
    grey /= S * S;
    for (let i = 0; i < crop.length; i++) crop[i] = f32(clamp((crop[i] - grey) * contrast + grey));
  };
  if (brightnessFirst) { bright(); contrasted(); } else { contrasted(); bright(); }
  const image = crop.map((v, i) => f32((v / 255 - MEAN[i % 3]) / STD[i % 3]));
  let landmarks = new Array(NUM_LANDMARKS * 2).fill(0);
  let io = 1;
  if (sample.landmarks) {
    for (let i = 0; i < NUM_LANDMARKS; i++) {
      const j = flip ? FLIP_PERMUTATION[i] : i;
      const x = sample.landmarks[2 * j] * (A / width) - ox;
      landmarks[2 * i] = f32(flip ? S - 1 - x : x);
      landmarks[2 * i + 1] = f32(sample.landmarks[2 * j + 1] * (A / height) - oy);
    }
    io = f32(Math.max(1e-3, interOcular(Float32Array.from(landmarks))));
  }
  return { image, landmarks, io, has: sample.landmarks ? 1 : 0,
    labels: Array.from(sample.labels, (v) => (v === 1 ? 1 : 0)), mask: Array.from(sample.labels, (v) => (v === -1 ? 0 : 1)) };
}

const same = (got, want, what) => {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.unreachable(`${what}[${i}]: ${got[i]} but defined as ${want[i]}`);
};

async function pass(opts) {
  const out = [];
  for await (const b of batches(samples, { inputSize: S, batchSize: 5, shuffle: true, seed: 3, onBadImage: () => {}, ...opts })) out.push(b);
  return out;
}

test('augmented and centre-cropped batches equal the definition bit for bit, first pass and cached pass', async () => {
  const cache = new DecodeCache(1 << 30);
  for (const [augment, epoch] of [[true, 0], [true, 1], [false, 2]]) {
    for (const withCache of [false, true, true]) {
      const got = await pass({ augment, epoch, ...(withCache && { cache }) });
      let position = 0;
      for (const b of got) {
        for (let k = 0; k < b.size; k++, position++) {
          const want = await plainSample(b.samples[k], augment ? new Random(3, `augment:${epoch}:${position}`) : null);
          const what = `epoch ${epoch}, ${withCache ? 'cached' : 'uncached'}, sample ${b.samples[k].id}`;
          same(b.images.subarray(k * S * S * 3, (k + 1) * S * S * 3), want.image, `${what} image`);
          same(b.landmarks.subarray(k * 98, (k + 1) * 98), want.landmarks, `${what} landmarks`);
          same(b.labels.subarray(k * 12, (k + 1) * 12), want.labels, `${what} labels`);
          same(b.mask.subarray(k * 12, (k + 1) * 12), want.mask, `${what} mask`);
          assert.is(b.interOcular[k], want.io, `${what} inter-ocular`);
          assert.is(b.hasLandmarks[k], want.has, `${what} has landmarks`);
        }
      }
      assert.is(position, samples.length);
    }
  }
  assert.is(cache.size, samples.length - 1, 'every readable image cached once, the unreadable one not');
  assert.is(cache.bytes, (samples.length - 1) * A * A * 3);
  
});

test('the cache keeps faces up to its byte budget and decodes the rest every pass; a bad budget is refused', async () => {
  const cache = new DecodeCache(2 * A * A * 3 + 1);
  const first = await pass({ augment: true, epoch: 0, cache });
  assert.is(cache.size, 2);
  assert.is(cache.bytes, 2 * A * A * 3);
  const again = await pass({ augment: true, epoch: 0, cache });
  assert.is(cache.size, 2);
  first.forEach((b, i) => same(again[i].images, b.images, `batch ${i}`));
  const other = await pass({ augment: true, epoch: 0, cache: new DecodeCache(0), inputSize: 96 });
  assert.is(other[0].images.length, 5 * 96 * 96 * 3);
  for (const bad of [-1, Number.NaN, Infinity]) {
    assert.throws(() => new DecodeCache(bad), (e) => e instanceof RangeError && e.message === `Expected a finite non-negative number of bytes for budgetBytes but received ${bad}`);
  }
});

test.run();
