/**
 * The synthetic set generated on worker threads: every file the same bytes for 0 (the calling thread),
 * 1 and 2 workers, and the labels and landmarks those of the single-threaded generator before workers
 * (its digest recorded); a unit that cannot be written fails the call naming the unit, without a hang,
 * a manifest or a partial file; of several failed units, the earliest in order, for any worker count.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { generateSynthetic } from '../../dist/data/synthetic/generate.js';

const test = suite('synthetic faces on worker threads');
const dirs = [];
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'sacl-synth-workers-')); dirs.push(d); return d; };
const walk = (d) => readdirSync(d).sort().flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
const OPTS = { seed: 5, subjects: 4, tasks: 2, framesPerTask: 3, size: 64 };

/** Fails instead of hanging when a generation never settles. */
function settled(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in 60 s`)), 60000); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

test('the same files, byte for byte, for 0, 1 and 2 workers; labels and landmarks as the single-threaded generator wrote them', async () => {
  const trees = [];
  for (const workers of [0, 1, 2]) {
    const root = tmp();
    const progress = [];
    await settled(generateSynthetic({ root, ...OPTS, workers, onProgress: (done, total) => progress.push([done, total]) }), `${workers} workers`);
    const total = OPTS.subjects * OPTS.tasks * OPTS.framesPerTask;
    assert.equal(progress, Array.from({ length: total }, (_, i) => [i + 1, total]), `${workers} workers: progress per image`);
    trees.push({ workers, root, files: walk(root).map((f) => relative(root, f)) });
  }
  const [first, ...others] = trees;
  assert.is(first.files.length, 8 * 3 + 8 * 2 + 2, 'images, two CSVs per unit, folds.json and synthetic.json');
  for (const other of others) {
    assert.equal(other.files, first.files, `${other.workers} workers: the same file names`);
    for (const f of first.files) {
      assert.ok(readFileSync(join(other.root, f)).equals(readFileSync(join(first.root, f))), `${other.workers} workers: ${f} differs from the calling thread's`);
    }
  }
  // recorded from the generator before worker threads (commit 21cada8): every file but the JPEGs, whose
  // bytes belong to the encoder's version
  const digest = createHash('sha256');
  for (const f of first.files.filter((n) => !n.endsWith('.jpg'))) digest.update(f).update(readFileSync(join(first.root, f)));
  assert.is(digest.digest('hex'), '53979f03af7347453d846ccbe3c1cce08e83449887918a2a19e0e01e421e8b04');
});

test('several units fail: the call names the earliest in order, as one thread would, not the first to fail', async () => {
  // F001/T2 fails at once (its folder is a file); F001/T1 only at its last frame (a folder where 3.jpg
  // goes), so on 2 workers F001/T2 fails first in time
  for (const workers of [0, 2]) {
    const root = tmp();
    mkdirSync(join(root, 'F001', 'T1', '3.jpg', 'x'), { recursive: true });
    writeFileSync(join(root, 'F001', 'T2'), 'a file where unit F001/T2 goes');
    let error;
    try { await settled(generateSynthetic({ root, ...OPTS, workers }), `${workers} workers`); } catch (e) { error = e; }
    assert.instance(error, Error, `${workers} workers: rejected`);
    assert.match(error.message, /^synthetic faces F001\/T1 \(seed 5\): /, `${workers} workers: ${error.message}`);
  }
});

test('a unit that cannot be written fails the call naming it: no hang, no manifest, no partial or temporary file', async () => {
  for (const workers of [0, 2]) {
    const root = tmp();
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'M001'), 'a file where subject M001\'s folder goes');
    let error;
    try { await settled(generateSynthetic({ root, ...OPTS, workers }), `${workers} workers`); } catch (e) { error = e; }
    assert.instance(error, Error, `${workers} workers: rejected`);
    assert.match(error.message, /^synthetic faces M001\/T1 \(seed 5\): ENOTDIR/, `${workers} workers: ${error.message}`);
    const files = walk(root).map((f) => relative(root, f));
    assert.not.ok(files.includes('synthetic.json'), 'no manifest: the set is not complete');
    assert.equal(files.filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
    for (const f of files.filter((n) => n.endsWith('.jpg'))) {
      const { width, height } = await sharp(join(root, f)).metadata();
      assert.equal([width, height], [64, 64], f);
      await sharp(join(root, f)).raw().toBuffer(); // the whole image decodes
    }
  }
});

test('an onProgress that throws stops the run with its error, for 0 and 2 workers', async () => {
  for (const workers of [0, 2]) {
    const root = tmp();
    let error;
    const onProgress = (done) => { if (done === 5) throw new Error('progress display gone'); };
    try { await settled(generateSynthetic({ root, ...OPTS, workers, onProgress }), `${workers} workers`); } catch (e) { error = e; }
    assert.instance(error, Error, `${workers} workers: rejected`);
    assert.match(error.message, /progress display gone/);
    assert.not.ok(walk(root).some((f) => f.endsWith('synthetic.json')), 'no manifest');
  }
});

test('workers: a negative or fractional count is refused, naming the option', async () => {
  for (const bad of [-1, 1.5, Number.NaN]) {
    let error;
    try { await generateSynthetic({ root: join(tmpdir(), 'sacl-never-written'), ...OPTS, workers: bad }); } catch (e) { error = e; }
    assert.instance(error, RangeError);
    assert.is(error.message, `Expected an integer ≥ 0 for workers but received ${bad}`);
  }
});

test.run();
