/**
 * `sacl-au predict` on ordinary photos: OpenFace-named columns, one row per face, JSON lines, folders
 * (recursive, sorted), paths on stdin, and the inputs it cannot use (no face, corrupt, unsupported,
 * not square with --aligned): one clear line each, and --skip-bad goes on.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { CLI, WASM_ENV, tinyModelFolder } from '../helpers/cli.js';

const require = createRequire(import.meta.url);
const demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const run = (args, input) => spawnSync(process.execPath, [CLI, 'predict', '--model', model, ...args], { encoding: 'utf8', input, env: WASM_ENV });
const test = suite('sacl-au predict (faces)');
let dir;
let model;
const BP4D = ['01', '02', '04', '06', '07', '10', '12', '14', '15', '17', '23', '24'];

test.before(async () => {
  ({ dir, model } = await tinyModelFolder('sacl-face-'));
  mkdirSync(join(dir, 'photos', 'b'), { recursive: true });
  mkdirSync(join(dir, 'photos', 'a'), { recursive: true });
  await sharp(join(demo, 'sample1.jpg')).resize(960).jpeg({ quality: 95 }).toFile(join(dir, 'photos', 'b', 'one.jpg'));
  await sharp(join(demo, 'sample5.jpg')).resize(960).png().toFile(join(dir, 'photos', 'a', 'five.png'));
  writeFileSync(join(dir, 'photos', 'notes.txt'), 'not an image');
  await sharp({ create: { width: 200, height: 150, channels: 3, background: { r: 40, g: 120, b: 200 } } }).jpeg().toFile(join(dir, 'blank.jpg'));
  writeFileSync(join(dir, 'corrupt.jpg'), 'this is not a jpeg');
  writeFileSync(join(dir, 'old.bmp'), Buffer.from('424d000000000000000036000000', 'hex'));
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 128, g: 100, b: 90 } } }).png().toFile(join(dir, 'crop.png'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** OpenFace 2.2 FeatureExtraction's names (RecorderCSV::Open) for a sequence with 2-D landmarks and AU classes. */
function openFaceColumns(landmarks, aus) {
  return ['frame', 'face_id', 'timestamp', 'confidence', 'success',
    ...Array.from({ length: landmarks }, (_, i) => `x_${i}`), ...Array.from({ length: landmarks }, (_, i) => `y_${i}`),
    ...aus.map((a) => `AU${a}_c`)];
}

test('CSV: OpenFace\'s column names, one row per face, landmarks in image pixels; a folder is searched recursively, sorted', () => {
  const r = run([join(dir, 'photos')]);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const header = lines[0].split(',');
  assert.equal(header.filter((c) => c !== 'file' && !c.endsWith('_p')), openFaceColumns(49, BP4D));
  assert.equal(header.slice(0, 6), ['file', 'frame', 'face_id', 'timestamp', 'confidence', 'success']);
  assert.equal(header.slice(104), [...BP4D.map((a) => `AU${a}_p`), ...BP4D.map((a) => `AU${a}_c`)]);
  const rows = lines.slice(1).map((l) => l.split(','));
  assert.equal(rows.map((c) => [c[0], c[2]]), [
    ...[0, 1, 2, 3, 4].map((i) => [join(dir, 'photos', 'a', 'five.png'), String(i)]),
    ...[0, 1, 2].map((i) => [join(dir, 'photos', 'b', 'one.jpg'), String(i)]),
  ]);
  for (const c of rows) {
    assert.is(c.length, header.length);
    assert.equal(c.slice(1, 4), ['1', c[2], '0.000']);
    assert.is(c[5], '1');
    const width = 960;
    const xs = c.slice(6, 55).map(Number);
    assert.ok(xs.every((x) => x > 0 && x < width), 'x in the input image');
    const p = c.slice(104, 116).map(Number);
    assert.ok(p.every((v) => v >= 0 && v <= 1));
    // an untrained model sits near 0.5: compare presence where the printed rounding cannot decide it
    c.slice(116).forEach((v, i) => assert.ok(Math.abs(p[i] - 0.5) < 1e-4 || v === (p[i] >= 0.5 ? '1' : '0'), `AU${BP4D[i]}_c ${v} for p ${p[i]}`));
  }
  // --threshold moves presence
  const all = run(['--threshold', '0', join(dir, 'photos', 'b', 'one.jpg')]).stdout.trim().split('\n').slice(1);
  assert.ok(all.every((l) => l.split(',').slice(116).every((v) => v === '1')));
});

test('--json lines; - reads paths from stdin; --overlay pictures; --out writes the same rows', async () => {
  const r = run(['--json', '--overlay', join(dir, 'overlay'), '-'], `${join(dir, 'photos', 'b', 'one.jpg')}\n\n${join(dir, 'photos', 'a')}\n`);
  assert.is(r.status, 0, r.stderr);
  for (const [name, width, height] of [['one.jpg', 960, 640], ['five.jpg', 960, 699]]) {
    const meta = await sharp(join(dir, 'overlay', name)).metadata();
    assert.equal([meta.width, meta.height], [width, height], `overlay ${name}`);
  }
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(rows.length, 8);
  assert.equal(rows.map((o) => o.face_id), [0, 1, 2, 0, 1, 2, 3, 4]);
  for (const o of rows) {
    assert.is(o.landmarks.length, 49);
    assert.equal(Object.keys(o.probabilities), BP4D.map((a) => `AU${a}`));
    assert.ok(o.box.width > 0 && o.confidence >= 0.5 && o.success === 1);
  }
  const out = join(dir, 'out.csv');
  const w = run(['--out', out, join(dir, 'photos', 'b', 'one.jpg')]);
  assert.is(w.status, 0, w.stderr);
  assert.is(w.stdout, '');
  assert.is(readFileSync(out, 'utf8').trim().split('\n').length, 4);
});

test('rows are streamed: a photo\'s rows come out before the next path is even read from stdin', async () => {
  const child = spawn(process.execPath, [CLI, 'predict', '--model', model, '-'], { env: WASM_ENV });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const lines = () => out.split('\n').filter(Boolean).length;
  const until = (n) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`no row streamed: ${lines()} of ${n} lines after 90 s`)); }, 90e3);
    const check = () => { if (lines() >= n) { clearTimeout(timer); child.stdout.off('data', on); resolve(); } };
    const on = (d) => { out += d; check(); };
    child.stdout.on('data', on);
    child.once('exit', (code) => reject(new Error(`exited ${code} with ${lines()} lines: ${err}`)));
    check();
  });
  child.stdin.write(`${join(dir, 'photos', 'b', 'one.jpg')}\n`);
  await until(1 + 3);
  child.stdin.end(`${join(dir, 'photos', 'a', 'five.png')}\n`);
  await until(1 + 3 + 5);
  const code = child.exitCode ?? await new Promise((resolve) => child.once('exit', resolve));
  assert.is(code, 0, err);
});

test('inputs it cannot use: one clear line and exit 1; --skip-bad reports each and goes on', () => {
  const good = join(dir, 'photos', 'b', 'one.jpg');
  for (const [file, pattern] of [
    ['blank.jpg', /blank\.jpg: no face found \(for aligned face crops use --aligned\)/],
    ['corrupt.jpg', /corrupt\.jpg: cannot decode the image/],
    ['old.bmp', /old\.bmp: unsupported format "\.bmp" \(supported: \.jpg \.jpeg \.png \.webp \.tif \.tiff\)/],
  ]) {
    const out = join(dir, `failed-${file}.csv`);
    const r = run(['--out', out, good, join(dir, file)]);
    assert.is(r.status, 1, `${file}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.not.ok(existsSync(out), 'no partial --out file');
  }
  const r = run(['--skip-bad', join(dir, 'blank.jpg'), join(dir, 'corrupt.jpg'), good, join(dir, 'old.bmp')]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim().split('\n').length, 1 + 3);
  assert.match(r.stderr, /skipped .*blank\.jpg: no face found/);
  assert.match(r.stderr, /skipped .*corrupt\.jpg: cannot decode/);
  assert.match(r.stderr, /skipped .*old\.bmp: unsupported format/);
  assert.match(r.stderr, /3 faces from 1 of 4 files; 3 skipped/);
  const missing = run([join(dir, 'nope.jpg')]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /nope\.jpg: no such file or folder/);
});

test('--aligned: a square crop is one row without detection; a photo that is not square is refused, never stretched', () => {
  const r = run(['--aligned', join(dir, 'crop.png')]);
  assert.is(r.status, 0, r.stderr);
  const [header, row] = r.stdout.trim().split('\n').map((l) => l.split(','));
  assert.is(row.length, header.length);
  assert.equal(row.slice(1, 6), ['1', '0', '0.000', '1.00', '1']);
  assert.ok(row.slice(6, 104).every((v) => v === ''), 'no landmarks');
  const refused = run(['--aligned', join(dir, 'photos', 'b', 'one.jpg')]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /one\.jpg: not an aligned face crop \(960×640 is not square\)/);
});

test.run();
