/**
 * Tracking faces through a video (FaceFollower, ffmpeg on PATH): a panned face is followed by the
 * landmark net alone between scheduled detections, with one id; a face lost by tracking (a black frame,
 * the box leaving the picture, a cut) makes the detector run on that frame and find it again.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { initTf } from '../../dist/tf/engine.js';
import { FaceFollower, FaceTracker, videoFrames } from '../../dist/face/index.js';

const require = createRequire(import.meta.url);
const photo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
const test = suite('FaceFollower (video tracking)');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
let dir;

/**
 * A 640×480 video at 10 fps cropped from sample1.jpg scaled to 1280 wide and padded with black to 1920 (a
 * crop must fit: ffmpeg moves it back inside): its right-hand face is about 200 px wide, at x 948–1153.
 */
const make = (name, frames, crop) => {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-framerate', '10', '-i', photo, '-vf', `scale=1280:-2,pad=1920:ih:0:0,${crop}`,
    '-frames:v', String(frames), '-pix_fmt', 'yuv420p', join(dir, name)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
};

/** Per frame: the faces' ids (FaceTracker) and x of the nose tip (68-point 30); the follower's stats. */
async function follow(name, options) {
  const follower = new FaceFollower({ detector: 'tiny', ...options });
  const tracker = new FaceTracker();
  const frames = [];
  for await (const { image } of videoFrames(join(dir, name))) {
    const faces = await follower.next(image);
    const ids = tracker.assign(faces.map((f) => f.box));
    frames.push(faces.map((f, i) => ({ id: ids[i], nose: f.landmarks68[60] })));
  }
  return { frames, stats: follower.stats };
}

test.before(async () => {
  if (!hasFfmpeg) return;
  dir = mkdtempSync(join(tmpdir(), 'sacl-follow-'));
  await initTf(process.env.SACL_TF_BACKEND ? {} : { prefer: 'wasm' }); // leaves process.env alone for later files
  // the face (x 248–453 in frame 1) moves 6 px left a frame
  make('pan.mp4', 20, 'crop=640:480:700+6*n:60');
  // as pan.mp4, with frames 7 and 8 (1-based) black
  make('black.mp4', 14, "crop=640:480:700+6*n:60,drawbox=enable='between(n,6,7)':color=black:t=fill");
  // the face (x 98–303 in frame 1) moves 15 px left a frame and leaves the picture (no face comes in from the right)
  make('leave.mp4', 14, 'crop=640:480:850+15*n:60');
  // a cut after frame 6: the face is 200 px further left from frame 7 on
  make('cut.mp4', 12, "crop=640:480:'if(lt(n,6),700,900)':60");
});
test.after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('a panned face: found in every frame, one id, the detector only on frames 1 and 11 (detectEvery 10)', async () => {
  if (!hasFfmpeg) return console.warn('ffmpeg not on PATH: tracking tests skipped');
  const { frames, stats } = await follow('pan.mp4', { detectEvery: 10 });
  assert.equal(stats, { frames: 20, detections: 2, lost: { outside: 0, flat: 0, landmarks: 0 } });
  assert.ok(frames.every((f) => f.length === 1), `faces per frame ${frames.map((f) => f.length).join(' ')}`);
  assert.equal([...new Set(frames.map((f) => f[0].id))], [0]);
  // the nose follows the pan (6 px a frame to the left), within the landmark net's jitter
  for (let i = 1; i < frames.length; i++) {
    const step = frames[i][0].nose - frames[i - 1][0].nose;
    assert.ok(step > -11 && step < -1, `frame ${i + 1}: nose moved ${step.toFixed(1)} px`);
  }
});

test('black frames: the face is lost there, the detector runs on each of them and finds the face again after', async () => {
  if (!hasFfmpeg) return;
  const { frames, stats } = await follow('black.mp4', { detectEvery: 100 });
  assert.equal(frames.map((f) => f.length), [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
  // frame 1; frame 7 (lost); frame 8 (nothing followed); frame 9 (nothing followed, found)
  assert.equal(stats, { frames: 14, detections: 4, lost: { outside: 0, flat: 1, landmarks: 0 } });
  assert.equal([...new Set(frames.flat().map((f) => f.id))], [0], 'the face found again near where it was keeps its id');
});

test('a face leaving the picture: followed to the edge, then lost, and the detector runs from then on', async () => {
  if (!hasFfmpeg) return;
  const { frames, stats } = await follow('leave.mp4', { detectEvery: 100 });
  // half out, the box is partly outside and the landmark net's points squeeze together at the edge
  assert.is(stats.lost.outside + stats.lost.landmarks, 1, JSON.stringify(stats));
  const last = frames.findLastIndex((f) => f.length > 0);
  assert.ok(last >= 9 && last < 13, `last frame with the face: ${last + 1}`);
  // the detector ran on the first frame, on the loss, and on every frame after it (nothing followed)
  assert.is(stats.detections, 1 + (14 - last - 1), JSON.stringify(stats));
  // while reported, it moves left by about 15 px a frame
  for (let i = 1; i <= last; i++) {
    const step = frames[i][0].nose - frames[i - 1][0].nose;
    assert.ok(step < -8 && step > -22, `frame ${i + 1}: nose moved ${step.toFixed(1)} px`);
  }
});

test('a cut: tracking loses the face, the detector finds it at its new place in the same frame', async () => {
  if (!hasFfmpeg) return;
  const { frames, stats } = await follow('cut.mp4', { detectEvery: 100 });
  assert.equal(stats, { frames: 12, detections: 2, lost: { outside: 0, flat: 0, landmarks: 1 } });
  assert.ok(frames.every((f) => f.length === 1), `faces per frame ${frames.map((f) => f.length).join(' ')}`);
  const jump = frames[6][0].nose - frames[5][0].nose;
  assert.ok(jump < -170 && jump > -230, `the nose moved ${jump.toFixed(1)} px at the cut`);
});

test('FaceFollower: bad options name the option, expected and received', () => {
  assert.throws(() => new FaceFollower({ detectEvery: 0 }), /Expected a positive integer for detectEvery but received 0/);
  assert.throws(() => new FaceFollower({ minInside: 0 }), /Expected a number in \(0, 1\] for minInside but received 0/);
  assert.throws(() => new FaceFollower({ maxScale: 1 }), /Expected a number > 1 for maxScale but received 1/);
  assert.throws(() => new FaceFollower({ maxShift: Number.NaN }), /Expected a number > 0 for maxShift but received NaN/);
  assert.throws(() => new FaceFollower({ minContrast: -1 }), /Expected a number ≥ 0 for minContrast but received -1/);
});

test.run();
