/**
 * End-to-end speed of `sacl-au predict` on a video: frames per second for decode → detect + 68
 * landmarks → 68→49 + align → AU model, and each stage's share, for every (AU model variant, detector)
 * pair. The video is made with ffmpeg: 640×480, one face (from face-api's sample1.jpg), slowly panned.
 * The AU models have random weights (speed does not depend on them). Prints a table and one JSON line.
 *
 * --detect-every n runs the detector every n-th frame and only the landmark net in between (as
 * `sacl-au predict --detect-every n` does); the "detect" share then covers both.
 *
 * --backend wasm|cpu picks the tfjs backend (default: initTf's choice, as `sacl-au predict`);
 * --tiny-input-size n the tiny detector's input side (default 416); --read-ahead n frames ffmpeg decodes
 * ahead (default 2, as predict).
 *
 *   node bench/predict.js [--frames 30] [--variants tiny,full] [--detectors tiny,ssd] [--detect-every 10] [--backend wasm] [--tiny-input-size 416] [--read-ahead 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { initTf } from '../dist/tf/engine.js';
import { AuModel, modelConfig } from '../dist/model/index.js';
import { alignedSize } from '../dist/data/loader.js';
import { FaceFollower, alignFace, detectFaces, landmarks68To49, predictAligned, probeVideo, videoFrames } from '../dist/face/index.js';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '30' }, variants: { type: 'string', default: 'tiny,full' },
  detectors: { type: 'string', default: 'tiny,ssd' }, 'detect-every': { type: 'string', default: '10' },
  backend: { type: 'string' }, 'tiny-input-size': { type: 'string', default: '416' }, 'read-ahead': { type: 'string', default: '2' } } });
const tinyInputSize = Number(values['tiny-input-size']);
const detectEvery = Number(values['detect-every']);
const frames = Number(values.frames);
const require = createRequire(import.meta.url);
const photo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
const dir = mkdtempSync(join(os.tmpdir(), 'sacl-bench-predict-'));
const video = join(dir, 'one-face.mp4');
const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-framerate', '25', '-i', photo, '-vf', 'crop=640:480:1240+2*n:80',
  '-frames:v', String(frames), '-pix_fmt', 'yuv420p', video], { encoding: 'utf8' });
if (made.status !== 0) throw new Error(`ffmpeg could not make the video: ${made.error?.message ?? made.stderr}`);

const tf = await initTf(values.backend ? { prefer: values.backend } : {});
const info = probeVideo(video);
const results = [];
for (const variant of values.variants.split(',')) {
  const model = new AuModel(modelConfig(variant));
  const side = alignedSize(model.config.inputSize);
  for (const detector of values.detectors.split(',')) {
    await detectFaces({ data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 }, { detector, tinyInputSize }); // loads the weights
    predictAligned(model, [{ data: new Uint8Array(side * side * 3), width: side, height: side }]); // warm-up
    const ms = { decode: 0, detect: 0, align: 0, model: 0 };
    let faces = 0;
    let n = 0;
    const follower = new FaceFollower({ detector, detectEvery, tinyInputSize });
    const start = performance.now();
    let t = start;
    for await (const { image } of videoFrames(video, info, { readAhead: Number(values['read-ahead']) })) {
      const t1 = performance.now();
      ms.decode += t1 - t;
      const found = await follower.next(image);
      const t2 = performance.now();
      const aligned = found.map((f) => alignFace(image, landmarks68To49(f.landmarks68), side).image);
      const t3 = performance.now();
      predictAligned(model, aligned);
      t = performance.now();
      ms.detect += t2 - t1;
      ms.align += t3 - t2;
      ms.model += t - t3;
      faces += found.length;
      n++;
    }
    const total = performance.now() - start;
    const share = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, v / total]));
    results.push({ variant, detector, detectEvery, tinyInputSize, frames: n, faces, detections: follower.stats.detections, fps: n / (total / 1000), share });
    console.log(`${variant.padEnd(6)} ${detector.padEnd(5)} ${(n / (total / 1000)).toFixed(2).padStart(6)} fps  faces/frame ${(faces / n).toFixed(2)}  detector runs ${follower.stats.detections}  `
      + Object.entries(share).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join('  '));
  }
  model.dispose();
}
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ bench: 'predict', date: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version,
  tfjs: tf.active, video: { ...info, frames }, results }));
