/**
 * Video (ffmpeg on PATH): frames streamed with flat memory, face ids kept by tracking, one row per face
 * per frame with OpenFace's timing columns, a success-0 row for a frame without a face.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI as cli, tinyModelFolder } from '../helpers/cli.js';
import { FaceTracker, probeVideo, videoFrames } from '../../dist/face/index.js';

const require = createRequire(import.meta.url);
const demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const video = fileURLToPath(new URL('../../dist/face/video.js', import.meta.url));
const test = suite('sacl-au predict (video)');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
let dir;
let model;

const ffmpeg = (...args) => {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
};

test.before(async () => {
  if (!hasFfmpeg) return;
  ({ dir, model } = await tinyModelFolder('sacl-video-'));
  // 12 frames at 10 fps of a photo panned right and slowly zoomed; frames 5 and 6 (1-based) blacked out
  ffmpeg('-loop', '1', '-framerate', '10', '-i', join(demo, 'sample1.jpg'), '-vf',
    "scale=1280:-2,crop=w=640-4*n:h=480-3*n:x=200+5*n:y=50+2*n,scale=640:480,drawbox=enable='between(n,4,5)':color=black:t=fill",
    '-frames:v', '12', '-pix_fmt', 'yuv420p', join(dir, 'pan.mp4'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-frames:v', '600', '-pix_fmt', 'yuv420p', join(dir, 'long.mkv'));
});
test.after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('videoFrames: every frame in order with its timestamp; memory flat over 600 frames', () => {
  if (!hasFfmpeg) return console.warn('ffmpeg not on PATH: video tests skipped');
  assert.equal(probeVideo(join(dir, 'long.mkv')), { width: 320, height: 240, fps: 25 });
  // in a child with --expose-gc, so what is measured is what is still held
  const script = `
    const { videoFrames } = await import(${JSON.stringify(video)});
    let n = 0, peak = 0, bad = 0;
    gc();
    const start = process.memoryUsage().rss;
    for await (const f of videoFrames(${JSON.stringify(join(dir, 'long.mkv'))})) {
      if (f.index !== n || Math.abs(f.timestamp - n / 25) > 1e-9 || f.image.data.length !== 320 * 240 * 3) bad++;
      n++;
      if (n % 25 === 0) { gc(); peak = Math.max(peak, process.memoryUsage().rss); }
      await new Promise((r) => setTimeout(r, 2)); // slower than ffmpeg: unpaused, frames would pile up
    }
    console.log(JSON.stringify({ n, bad, growth: peak - start }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, SACL_TF_BACKEND: 'wasm' } });
  assert.is(r.status, 0, r.stderr);
  const { n, bad, growth } = JSON.parse(r.stdout);
  assert.is(n, 600);
  assert.is(bad, 0);
  // the 600 frames are 138 MB of pixels: letting ffmpeg run ahead unpaused peaks at about 150 MB here,
  // the bounded read-ahead at about 60 MB (the reader's worker thread, buffers freed across threads)
  assert.ok(growth < 100e6, `rss peaked ${(growth / 1e6).toFixed(1)} MB above its start`);
});

test('videoFrames: the same frames whatever the read-ahead; a bad read-ahead names itself', async () => {
  if (!hasFfmpeg) return;
  const sums = async (readAhead) => {
    const out = [];
    for await (const f of videoFrames(join(dir, 'pan.mp4'), undefined, { readAhead })) {
      let s = 0;
      for (let i = 0; i < f.image.data.length; i += 97) s = (s * 31 + f.image.data[i]) >>> 0;
      out.push([f.index, s]);
      await new Promise((r) => setTimeout(r, 5)); // a consumer slower than ffmpeg
    }
    return out;
  };
  const one = await sums(1);
  assert.is(one.length, 12);
  assert.equal(await sums(4), one);
  let error;
  await videoFrames(join(dir, 'pan.mp4'), undefined, { readAhead: 0 }).next().catch((e) => { error = e; });
  assert.match(String(error), /Expected a positive integer for readAhead but received 0/);
});

test('videoFrames: stopping early stops ffmpeg; an undecodable file and a missing ffmpeg are errors naming them', async () => {
  if (!hasFfmpeg) return;
  const ffmpegChildren = () => spawnSync('pgrep', ['-P', String(process.pid), '-x', 'ffmpeg'], { encoding: 'utf8' }).stdout.trim();
  let n = 0;
  for await (const f of videoFrames(join(dir, 'long.mkv'))) if (++n === 5 || f.index > 5) break;
  assert.is(n, 5);
  // a deadline, not a timing: ffmpeg is killed at once, but a busy machine may take a while to reap it
  for (let i = 0; i < 200 && ffmpegChildren(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.is(ffmpegChildren(), '', 'ffmpeg still running after the caller stopped');
  const bad = join(dir, 'bad.mp4');
  writeFileSync(bad, 'not a video at all');
  let error;
  await videoFrames(bad, { width: 8, height: 8, fps: 1 }).next().catch((e) => { error = e; });
  assert.match(String(error), new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot decode the video \\(.+\\)`));
  const script = `
    const { videoFrames } = await import(${JSON.stringify(video)});
    await videoFrames(${JSON.stringify(join(dir, 'pan.mp4'))}, { width: 640, height: 480, fps: 10 }).next().catch((e) => console.log(e.message));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ffmpeg and ffprobe are needed for video and were not found on PATH/);
});

test('FaceTracker: ids follow overlapping boxes, survive a short miss, new faces get new ids', () => {
  const t = new FaceTracker();
  const box = (x, y = 0) => ({ x, y, width: 100, height: 100 });
  assert.equal(t.assign([box(0), box(300)]), [0, 1]);
  assert.equal(t.assign([box(310), box(8)]), [1, 0]);
  assert.equal(t.assign([]), []);
  assert.equal(t.assign([box(20), box(700)]), [0, 2]);
  assert.equal(t.assign([box(20, 500)]), [3]);
});

test('predict on a video: one row per face per frame, 1-based frames, timestamps, stable ids, success 0 without a face', () => {
  if (!hasFfmpeg) return;
  const r = spawnSync(process.execPath, [cli, 'predict', '--model', model, '--detector', 'tiny', join(dir, 'pan.mp4')],
    { encoding: 'utf8', env: { ...process.env, SACL_TF_BACKEND: 'wasm' } });
  assert.is(r.status, 0, r.stderr);
  const [header, ...rows] = r.stdout.trim().split('\n').map((l) => l.split(','));
  const col = (name) => header.indexOf(name);
  const frames = [...new Set(rows.map((c) => Number(c[col('frame')])))];
  assert.equal(frames, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  for (const c of rows) {
    assert.is(c.length, header.length);
    assert.is(c[col('timestamp')], ((Number(c[col('frame')]) - 1) / 10).toFixed(3));
  }
  for (const f of [5, 6]) {
    const blank = rows.filter((c) => c[col('frame')] === String(f));
    assert.is(blank.length, 1, `frame ${f}`);
    assert.equal(blank[0].slice(col('face_id'), col('success') + 1), ['0', '0.400', '0.00', '0'].map((v, i) => (i === 1 ? ((f - 1) / 10).toFixed(3) : v)));
    assert.ok(blank[0].slice(col('x_0')).every((v) => v === ''), 'no landmarks or AUs');
  }
  // the two women on the left are in every other frame, and each keeps her id: the nose tip (point 13)
  // of an id moves smoothly, by at most 40 px a frame (the pan moves about 10)
  const faces = rows.filter((c) => c[col('success')] === '1');
  const ids = [...new Set(faces.map((c) => c[col('face_id')]))];
  const byId = Object.fromEntries(ids.map((id) => [id, faces.filter((c) => c[col('face_id')] === id)]));
  const steady = ids.filter((id) => byId[id].length === 10);
  assert.is(steady.length, 2, `ids ${ids.map((id) => `${id}×${byId[id].length}`).join(' ')}`);
  for (const id of steady) {
    const xs = byId[id].map((c) => Number(c[col('x_13')]));
    for (let i = 1; i < xs.length; i++) assert.ok(Math.abs(xs[i] - xs[i - 1]) < 40, `id ${id}: x ${xs.join(' ')}`);
  }
});

test('--detect-every 3: faces followed between detections keep their ids, landmarks near the every-frame ones; --overlay writes every frame and an annotated video', () => {
  if (!hasFfmpeg) return;
  const rows = (...extra) => {
    const r = spawnSync(process.execPath, [cli, 'predict', '--model', model, '--detector', 'tiny', '--json', ...extra, join(dir, 'pan.mp4')],
      { encoding: 'utf8', env: { ...process.env, SACL_TF_BACKEND: 'wasm' } });
    assert.is(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  };
  const every = rows('--detect-every', '1');
  const followed = rows('--detect-every', '3', '--overlay', join(dir, 'overlay'));
  assert.equal(readdirSync(join(dir, 'overlay', 'pan')), Array.from({ length: 12 }, (_, i) => `${String(i + 1).padStart(6, '0')}.jpg`));
  assert.equal(probeVideo(join(dir, 'overlay', 'pan.mp4')), { width: 640, height: 480, fps: 10 });
  const encoded = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0',
    join(dir, 'overlay', 'pan.mp4')], { encoding: 'utf8' });
  assert.is(encoded.stdout.trim(), '12', 'the annotated video has every frame');
  // frames 5 and 6 are black: followed faces there are not checked (the landmark net has no score)
  const check = (o) => o.success === 1 && o.frame !== 5 && o.frame !== 6;
  const key = (o) => `${o.frame}:${o.face_id}`;
  const reference = new Map(every.filter(check).map((o) => [key(o), o]));
  const compared = followed.filter(check);
  assert.is(compared.length, reference.size, 'the same faces in the same frames, with the same ids');
  for (const o of compared) {
    const ref = reference.get(key(o));
    assert.ok(ref, `frame ${o.frame}, id ${o.face_id} not in the every-frame run`);
    const d = Math.max(...o.landmarks.map(([x, y], i) => Math.hypot(x - ref.landmarks[i][0], y - ref.landmarks[i][1])));
    assert.ok(d < 15, `frame ${o.frame}, id ${o.face_id}: a landmark is ${d.toFixed(1)} px from the every-frame run's`);
  }
  const bad = spawnSync(process.execPath, [cli, 'predict', '--model', model, '--detect-every', '0', join(dir, 'pan.mp4')], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /Expected a positive integer for --detect-every but received "0"/);
});

test('without ffmpeg on PATH a video is one clear error', () => {
  if (!hasFfmpeg) return;
  const r = spawnSync(process.execPath, [cli, 'predict', '--model', model, join(dir, 'pan.mp4')],
    { encoding: 'utf8', env: { ...process.env, SACL_TF_BACKEND: 'wasm', PATH: '/nonexistent' } });
  assert.is(r.status, 1);
  assert.match(r.stderr, /ffmpeg and ffprobe are needed for video and were not found on PATH/);
});

test.run();
