/**
 * Dataset formats: ME-GraphAU and JAA-Net lists (fixture trees written here, paths in the lists' real
 * form), subject-exclusive folds, format detection, the 66 → 49 landmark mapping, the datasets' own
 * file names (BP4D's four-digit frames, DISFA's numbered landmark files) and MAT-file landmarks (BP4D
 * 2DFeatures v7.3, DISFA Landmark_Points Level 5), JAA-Net alignment of known points, and `align`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openDataset } from '../../dist/data/open.js';
import { foldSplit, readFoldsFile } from '../../dist/data/dataset.js';
import { readLandmarkCsv } from '../../dist/data/landmark-files.js';
import { readJaaNetLists } from '../../dist/data/list-formats.js';
import { landmarksFromMatrix } from '../../dist/data/mat/index.js';
import { landmarks66To49 } from '../../dist/data/list-formats.js';
import { alignmentTransform, applyAffine, warpAffine } from '../../dist/data/align.js';
import { alignTree } from '../../dist/data/align-tree.js';
import { generateSynthetic } from '../../dist/data/synthetic/generate.js';
import { readBp4dLayout } from '../../dist/data/bp4d-layout.js';
import { alignedTemplate } from '../../dist/model/index.js';
import { num, struct, writeMat5, writeMat73 } from '../helpers/mat.js';

const test = suite('dataset formats and alignment');
const dirs = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'sacl-fmt-')); dirs.push(d); return d; };
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const write = (file, text) => { mkdirSync(join(file, '..'), { recursive: true }); writeFileSync(file, text); };

const PARTS = [['F001', 'M001'], ['F002'], ['M002']];
const frames = (subjects) => subjects.flatMap((s) => [`${s}/T1/1.jpg`, `${s}/T1/2.jpg`]);
const label = (path) => Array.from({ length: 12 }, (_, a) => ((path.length + a) % 3 === 0 ? 1 : 0)).join(' ');

test('ME-GraphAU lists: folds → subject parts, labels by row, images under img/', async () => {
  const root = tmp();
  for (const fold of [1, 2, 3]) {
    const testPart = PARTS[3 - fold];
    const trainParts = PARTS.filter((p) => p !== testPart).flat();
    for (const [split, subjects] of [['train', trainParts], ['test', testPart]]) {
      const paths = frames(subjects);
      write(join(root, 'list', `BP4D_${split}_img_path_fold${fold}.txt`), `${paths.join('\n')}\n`);
      write(join(root, 'list', `BP4D_${split}_label_fold${fold}.txt`), `${paths.map(label).join('\n')}\n`);
    }
  }
  write(join(root, 'img', 'F001', 'T1', '1.jpg'), 'x');
  const said = [];
  const ds = await openDataset('bp4d', root, {}, (l) => said.push(l));
  assert.match(said[0], /ME-GraphAU lists/);
  assert.is(ds.samples.length, 8);
  assert.equal(ds.parts, PARTS.map((p) => [...p].sort()));
  const s = ds.samples.find((x) => x.id === 'M001/T1/2.jpg');
  assert.is(s.subject, 'M001');
  assert.is(s.imagePath, join(root, 'img', 'M001', 'T1', '2.jpg'));
  assert.equal(Array.from(s.labels), label('M001/T1/2.jpg').split(' ').map(Number));
  assert.is(s.landmarks, null);
  const { train, test: held } = foldSplit(ds, 1);
  assert.equal([...new Set(held.map((x) => x.subject))], ['M002']);
  assert.is(train.length, 6);
  // a label list one row short is refused with both files named
  write(join(root, 'list', 'BP4D_test_label_fold2.txt'), 'x');
  let error;
  try { await openDataset('bp4d', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /BP4D_test_label_fold2\.txt/);
});

/** JAA-Net's part lists as its repository ships them: paths start with the dataset's name. */
function writeJaaNet(dir, ds, parts, framesOf) {
  parts.forEach((subjects, k) => {
    const paths = subjects.flatMap(framesOf).map((p) => `${ds}/${p}`);
    write(join(dir, `${ds}_part${k + 1}_path.txt`), `${paths.join('\n')}\n`);
    write(join(dir, `${ds}_part${k + 1}_land.txt`), `${paths.map((_, i) => Array.from({ length: 98 }, (_, j) => j + i).join(' ')).join('\n')}\n`);
    const aus = ds === 'DISFA' ? '1 0 9 0 0 1 0 0' : '1 0 9 0 0 1 0 0 1 0 0 1';
    write(join(dir, `${ds}_part${k + 1}_AUoccur.txt`), `${paths.map(() => aus).join('\n')}\n`);
  });
}
const DISFA_PARTS = [['SN001', 'SN002'], ['SN006'], ['SN003']];

test('JAA-Net lists: parts, 98 landmark numbers a line, 9 = unknown; DISFA AU count', async () => {
  const root = tmp();
  writeJaaNet(root, 'DISFA', DISFA_PARTS, (sn) => [`${sn}/0.jpg`]);
  const said = [];
  const ds = await openDataset('disfa', root, {}, (l) => said.push(l));
  assert.match(said[0], /JAA-Net lists$/);
  assert.is(ds.aus.length, 8);
  assert.is(ds.samples.length, 4);
  assert.equal(Array.from(ds.samples[0].labels), [1, 0, -1, 0, 0, 1, 0, 0]);
  assert.is(ds.samples[0].landmarks[97], 97);
  assert.is(ds.samples[0].imagePath, join(root, 'DISFA', 'SN001', '0.jpg'));
  assert.equal(ds.parts[1], ['SN006']);
  unlinkSync(join(root, 'DISFA_part2_AUoccur.txt'));
  let error;
  try { await openDataset('disfa', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /DISFA_part2_AUoccur\.txt: missing \(the AU labels of .*DISFA_part2_path\.txt\)/);
  write(join(root, 'DISFA_part2_AUoccur.txt'), '1 0 9 0 0 1 0 0\n');
  unlinkSync(join(root, 'DISFA_part3_path.txt'));
  error = undefined;
  try { await openDataset('disfa', root); } catch (e) { error = e; }
  assert.match(error.message, /DISFA_part3_path\.txt/);
});

test('JAA-Net lists in the real form (<DS>/<subject>/…): subjects are the subject ids, folds are subject-exclusive', async () => {
  const root = tmp();
  const parts = [['F001', 'M001'], ['F002'], ['M002']];
  writeJaaNet(root, 'BP4D', parts, (s) => [`${s}/T1/2440.jpg`, `${s}/T2/0721.jpg`]);
  const ds = await openDataset('bp4d', root);
  assert.equal(ds.parts, parts.map((p) => [...p].sort()));
  assert.is(ds.samples.find((s) => s.id === 'BP4D/M001/T2/0721.jpg').subject, 'M001');
  for (const [fold, held] of [[1, ['M002']], [2, ['F002']], [3, ['F001', 'M001']]]) {
    const { train, test: tested } = foldSplit(ds, fold);
    assert.equal([...new Set(tested.map((s) => s.subject))].sort(), held, `fold ${fold} tests its part`);
    assert.is(train.length + tested.length, ds.samples.length);
    assert.ok(train.every((s) => !held.includes(s.subject)), `fold ${fold}: no test subject in training`);
  }
  // a path with no subject id in it is refused, naming the file and line
  write(join(root, 'BP4D_part2_path.txt'), 'BP4D/F002/T1/2440.jpg\nBP4D/X/T2/0721.jpg\n');
  let error;
  try { await openDataset('bp4d', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /Expected a BP4D subject id \(F001…F023, M001…M018\) as a component of the path for line 2 of .*BP4D_part2_path\.txt but received "BP4D\/X\/T2\/0721\.jpg"/);
});

test('list entries that leave --root (".." or absolute paths) are refused, naming the list file and line', async () => {
  const root = tmp();
  const parts = [['F001'], ['F002'], ['M002']];
  writeJaaNet(root, 'BP4D', parts, (s) => [`${s}/T1/2440.jpg`]);
  for (const entry of ['../../outside/F002/T1/2440.jpg', 'BP4D/F002/../../../F002/x.jpg', '/etc/F002/passwd', 'C:\\F002\\x.jpg', '..\\F002\\x.jpg']) {
    write(join(root, 'BP4D_part2_path.txt'), `BP4D/F002/T1/2440.jpg\n${entry}\n`);
    write(join(root, 'BP4D_part2_AUoccur.txt'), '1 0 9 0 0 1 0 0 1 0 0 1\n'.repeat(2));
    write(join(root, 'BP4D_part2_land.txt'), `${Array.from({ length: 98 }, (_, j) => j).join(' ')}\n`.repeat(2));
    let error;
    try { await openDataset('bp4d', root); } catch (e) { error = e; }
    assert.instance(error, RangeError, entry);
    assert.match(error.message, /Expected a path relative to the image folder, without "\.\." for line 2 of .*BP4D_part2_path\.txt but received /, entry);
  }
  // ME-GraphAU lists too
  const me = tmp();
  for (const fold of [1, 2, 3]) {
    for (const split of ['train', 'test']) {
      write(join(me, 'list', `BP4D_${split}_img_path_fold${fold}.txt`), 'F001/T1/1.jpg\nF002/../../F002/1.jpg\n');
      write(join(me, 'list', `BP4D_${split}_label_fold${fold}.txt`), '1 0 0 0 0 1 0 0 1 0 0 1\n'.repeat(2));
    }
  }
  let error;
  try { await openDataset('bp4d', me); } catch (e) { error = e; }
  assert.match(error?.message ?? '', /Expected a path relative to the image folder, without "\.\." for line 2 of .*BP4D_train_img_path_fold1\.txt/);
});

test('JAA-Net\'s repository layout under --root: data/list/ and data/imgs/', async () => {
  const root = tmp();
  writeJaaNet(join(root, 'data', 'list'), 'DISFA', DISFA_PARTS, (sn) => [`${sn}/0.jpg`, `${sn}/1.jpg`]);
  write(join(root, 'data', 'imgs', 'DISFA', 'SN002', '0.jpg'), 'x');
  const said = [];
  const ds = await openDataset('disfa', root, {}, (l) => said.push(l));
  assert.match(said[0], /JAA-Net lists \(data\/list\/, images in data\/imgs\/\)/);
  assert.is(ds.samples.length, 8);
  assert.is(ds.samples.find((s) => s.id === 'DISFA/SN002/1.jpg').imagePath, join(root, 'data', 'imgs', 'DISFA', 'SN002', '1.jpg'));
  assert.equal(ds.parts, DISFA_PARTS);
});

test('foldSplit refuses overlapping parts, a subject in no part, and an empty train or test side', () => {
  const sample = (subject) => ({ id: `${subject}/1`, subject, imagePath: '', landmarks: null, labels: new Int8Array(1) });
  const dataset = (parts, subjects) => ({ name: 'lists', auSet: 'bp4d', aus: [1], samples: subjects.map(sample), parts });
  const refused = (ds, fold) => { try { foldSplit(ds, fold); } catch (e) { return e; } assert.unreachable(`fold ${fold} was not refused`); };
  let e = refused(dataset([['F001'], ['F002', 'F001'], ['F003']], ['F001', 'F002', 'F003']), 1);
  assert.instance(e, RangeError);
  assert.is(e.message, 'Expected each subject in one part for the parts of lists but received F001 in parts 1 and 2');
  e = refused(dataset([['F001'], ['F002'], ['F003']], ['F001', 'F002']), 1);
  assert.is(e.message, 'Expected test samples from part 3 (F003) for fold 1 of lists but received none');
  e = refused(dataset([['F001'], ['F002'], []], ['F001', 'F002']), 1);
  assert.is(e.message, 'Expected test samples from part 3 (no subjects) for fold 1 of lists but received none');
  e = refused(dataset([['F001'], ['F002'], ['F003']], ['F003']), 1);
  assert.is(e.message, 'Expected training samples from part 1 (F001) and part 2 (F002) for fold 1 of lists but received none');
  e = refused(dataset([['F001'], ['F002'], ['F003']], ['F001', 'F004']), 3);
  assert.match(e.message, /subjects F004 belong to no part/);
  const { train, test: held } = foldSplit(dataset([['F001'], ['F002'], ['F003']], ['F001', 'F002', 'F003']), 2);
  assert.equal([train.map((s) => s.subject), held.map((s) => s.subject)], [['F001', 'F003'], ['F002']]);
});

test('DISFA layout: intensities ≥ 2 present, frames found 0- or 1-based, 66-point landmarks mapped', async () => {
  const root = tmp();
  const aus = [1, 2, 4, 6, 9, 12, 25, 26];
  for (const sn of ['SN001', 'SN006', 'SN003']) {
    for (const au of aus) write(join(root, 'ActionUnit_Labels', sn, `${sn}_au${au}.txt`), [1, 2, 3].map((f) => `${f},${(f + au) % 6}`).join('\n'));
  }
  write(join(root, 'SN001', '0.png'), 'x'); // ME-GraphAU's 0-based extraction
  write(join(root, 'SN006', '1.jpg'), 'x'); // 1-based
  write(join(root, 'Landmarks', 'SN003.csv'), `frame,...\n2,${Array.from({ length: 132 }, (_, i) => i + 1).join(',')}\n`);
  const said = [];
  const ds = await openDataset('disfa', root, {}, (l) => said.push(l));
  assert.match(said[0], /DISFA distributed layout/);
  assert.is(ds.samples.length, 9);
  const s = ds.samples.find((x) => x.id === 'SN001/3');
  // intensities (3 + au) % 6 for au 1 2 4 6 9 12 25 26: 4 5 1 3 0 3 4 5 → present when ≥ 2
  assert.equal(Array.from(s.labels), [1, 1, 0, 1, 0, 1, 1, 1]);
  assert.is(s.imagePath, join(root, 'SN001', '2.png'));
  assert.is(ds.samples.find((x) => x.id === 'SN006/3').imagePath, join(root, 'SN006', '3.jpg'));
  const lm = ds.samples.find((x) => x.id === 'SN003/2').landmarks;
  assert.is(lm[0], 34); // point 18 of 66, x, 1-based 35 → 0-based 34
  assert.is(ds.samples.find((x) => x.id === 'SN003/1').landmarks, null);
  const { test: held } = foldSplit(ds, 1); // fold 1 tests part 3 (SN003 …)
  assert.equal([...new Set(held.map((x) => x.subject))], ['SN003']);
});

/** A 49 × 2 (or 66 × 2) [x y] matrix, column-major, 1-based pixels: point p of frame f at (100 f + p + 1, 200 + p + 1). */
const lmMatrix = (points, f) => num([points, 2], [...Array.from({ length: points }, (_, p) => 100 * f + p + 1), ...Array.from({ length: points }, (_, p) => 201 + p)]);

test('BP4D layout with BP4D\'s own 2DFeatures/<S>_<T>.mat (v7.3): fit(k).pred is the k-th frame image; empty = lost', async () => {
  const root = tmp();
  const occ = 'Frame,1,2,4,6,7,10,12,14,15,17,23,24\n';
  write(join(root, 'AUCoding', 'AU_OCC', 'F001_T1.csv'), `${occ}1,${'0,'.repeat(11)}1\n2,${'1,'.repeat(11)}9\n3,${'0,'.repeat(11)}0\n`);
  for (const f of [1, 2, 3]) write(join(root, 'F001', 'T1', `${f}.jpg`), 'x');
  const fit = struct([1, 3], ['pred', 'pose'], [1, 2, 3].map((f) => ({ pred: f === 3 ? num([0, 0], []) : lmMatrix(49, f), pose: num([1, 3], [0, 0, 0]) })));
  mkdirSync(join(root, '2DFeatures'), { recursive: true });
  await writeMat73(join(root, '2DFeatures', 'F001_T1.mat'), { fit });
  const said = [];
  const progress = [];
  const ds = await openDataset('bp4d', root, {}, (l) => said.push(l), (done, total) => progress.push([done, total]));
  assert.match(said[0], /BP4D distributed layout \(AUCoding\/AU_OCC; landmarks from 2DFeatures\/\)/);
  assert.equal(progress, [[0, 1], [1, 1]], 'reading reports per sequence, ending at the total');
  assert.is(ds.samples.length, 3);
  const lm = ds.samples.find((s) => s.id === 'F001/T1/2').landmarks;
  assert.equal([lm[0], lm[1], lm[96], lm[97]], [200, 200, 248, 248]); // 1-based (201, 201) → 0-based
  assert.is(ds.samples.find((s) => s.id === 'F001/T1/1').landmarks[0], 100);
  assert.is(ds.samples.find((s) => s.id === 'F001/T1/3').landmarks, null, 'an empty pred is a lost frame');
  assert.equal(Array.from(ds.samples[1].labels.slice(10)), [1, -1]);
  // a Landmarks CSV, when present, is preferred (what `sacl-au align` writes)
  write(join(root, 'Landmarks', 'F001_T1.csv'), `Frame,...\n2,${Array.from({ length: 98 }, () => 5).join(',')}\n`);
  assert.is((await openDataset('bp4d', root)).samples.find((s) => s.id === 'F001/T1/2').landmarks[0], 4);
  // a 2DFeatures file without a `fit` struct is refused, naming the file
  rmSync(join(root, 'Landmarks'), { recursive: true });
  await writeMat73(join(root, '2DFeatures', 'F001_T1.mat'), { other: num([1, 1], [1]) });
  let error;
  try { await openDataset('bp4d', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /2DFeatures[\\/]F001_T1\.mat: no variable "fit"/);
});

test('BP4D layout: frames named with four digits (0643.jpg) or not; 2DFeatures numbered by the frame images; a count mismatch is refused', async () => {
  const root = tmp();
  const occ = 'Frame,1,2,4,6,7,10,12,14,15,17,23,24\n';
  // AU_OCC codes frames 999 and 1000 of a sequence whose images run 0998 … 1001, as BP4D names them
  write(join(root, 'AUCoding', 'AU_OCC', 'F007_T1.csv'), `${occ}999,${'0,'.repeat(11)}1\n1000,${'1,'.repeat(11)}0\n`);
  for (const f of ['0998', '0999', '1000', '1001']) write(join(root, 'F007', 'T1', `${f}.jpg`), 'x');
  // and a sequence named without padding, coded from frame 5
  write(join(root, 'AUCoding', 'AU_OCC', 'M001_T2.csv'), `${occ}5,${'0,'.repeat(11)}0\n`);
  write(join(root, 'M001', 'T2', '5.jpg'), 'x');
  const fit = struct([1, 4], ['pred'], [0, 1, 2, 3].map((k) => ({ pred: lmMatrix(49, k + 1) })));
  mkdirSync(join(root, '2DFeatures'), { recursive: true });
  await writeMat73(join(root, '2DFeatures', 'F007_T1.mat'), { fit });
  const ds = await openDataset('bp4d', root);
  const s999 = ds.samples.find((s) => s.id === 'F007/T1/999');
  assert.is(s999.imagePath, join(root, 'F007', 'T1', '0999.jpg'));
  assert.is(ds.samples.find((s) => s.id === 'F007/T1/1000').imagePath, join(root, 'F007', 'T1', '1000.jpg'));
  assert.is(ds.samples.find((s) => s.id === 'M001/T2/5').imagePath, join(root, 'M001', 'T2', '5.jpg'));
  // fit(2) belongs to the second image, 0999.jpg: x of point 1 is 100·2 + 1, 1-based
  assert.is(s999.landmarks[0], 200);
  assert.is(ds.samples.find((s) => s.id === 'F007/T1/1000').landmarks[0], 300);
  // one image fewer than fit elements: refused, naming the file, expected vs actual
  unlinkSync(join(root, 'F007', 'T1', '1001.jpg'));
  let error;
  try { await openDataset('bp4d', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /Expected one fit element per frame image in .*F007[\\/]T1 \(3\) for .*2DFeatures[\\/]F007_T1\.mat but received 4/);
  // two images for one frame are ambiguous
  write(join(root, 'F007', 'T1', '999.jpg'), 'x');
  error = undefined;
  try { await openDataset('bp4d', root); } catch (e) { error = e; }
  assert.match(error.message, /Expected one image per frame for .*F007[\\/]T1 but received (0999\.jpg and 999\.jpg|999\.jpg and 0999\.jpg) for frame 999/);
});

test('DISFA Landmark_Points: the frame comes from the file name, so a missing file (SN031) shifts no other frame', async () => {
  const root = tmp();
  const labels = (sn, n) => { for (const au of [1, 2, 4, 6, 9, 12, 25, 26]) write(join(root, 'ActionUnit_Labels', sn, `${sn}_au${au}.txt`), Array.from({ length: n }, (_, i) => `${i + 1},0`).join('\n')); };
  const lmDir = (sn) => { const d = join(root, 'Landmark_Points', sn, 'tmp_frame_lm'); mkdirSync(d, { recursive: true }); return d; };
  // l<n>_lm.mat from 1, with l00003 missing; the points of file n mark frame n
  labels('SN031', 5);
  for (const n of [1, 2, 4, 5]) writeMat5(join(lmDir('SN031'), `l${String(n).padStart(5, '0')}_lm.mat`), { pts: lmMatrix(66, n) });
  // <SN>_<n>_lm.mat from 0, with SN002_0001 missing: file n is frame n + 1
  labels('SN002', 3);
  for (const n of [0, 2]) writeMat5(join(lmDir('SN002'), `SN002_${String(n).padStart(4, '0')}_lm.mat`), { pts: lmMatrix(66, n + 1) });
  // l<n>_lm.mat from 0: file n is frame n + 1
  labels('SN003', 2);
  for (const n of [0, 1]) writeMat5(join(lmDir('SN003'), `l${String(n).padStart(5, '0')}_lm.mat`), { pts: lmMatrix(66, n + 1) });
  const ds = await openDataset('disfa', root);
  const x0 = (id) => ds.samples.find((s) => s.id === id).landmarks?.[0] ?? null;
  // 49-point x of point 0 is 66-point 18: 1-based 100 f + 18 → 0-based 100 f + 17
  assert.equal([1, 2, 3, 4, 5].map((f) => x0(`SN031/${f}`)), [117, 217, null, 417, 517]);
  assert.equal([1, 2, 3].map((f) => x0(`SN002/${f}`)), [117, null, 317]);
  assert.equal([1, 2].map((f) => x0(`SN003/${f}`)), [117, 217]);
  // a landmark file whose name holds no frame number is refused, naming it
  writeMat5(join(lmDir('SN002'), 'SN002_lm.mat'), { pts: lmMatrix(66, 1) });
  let error;
  try { await openDataset('disfa', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /Expected a frame number before _lm\.mat for the name of .*tmp_frame_lm[\\/]SN002_lm\.mat but received none/);
});

test('DISFA layout with DISFA\'s own Landmark_Points/<SN>/tmp_frame_lm/*_lm.mat (Level 5): files in frame order', async () => {
  const root = tmp();
  for (const au of [1, 2, 4, 6, 9, 12, 25, 26]) write(join(root, 'ActionUnit_Labels', 'SN001', `SN001_au${au}.txt`), '1,0\n2,3\n3,0\n');
  write(join(root, 'SN001', '0.png'), 'x');
  const dir = join(root, 'Landmark_Points', 'SN001', 'tmp_frame_lm');
  mkdirSync(dir, { recursive: true });
  // named 0-based with 4 digits, as DISFA ships them; written out of order, one compressed
  for (const i of [2, 0, 1]) writeMat5(join(dir, `SN001_${String(i).padStart(4, '0')}_lm.mat`), { pts: lmMatrix(66, i + 1) }, { compress: i === 1 });
  const said = [];
  const progress = [];
  const ds = await openDataset('disfa', root, {}, (l) => said.push(l), (done, total) => progress.push([done, total]));
  assert.match(said[0], /landmarks from Landmark_Points\//);
  assert.equal(progress, [[0, 1], [1, 1]]);
  for (const f of [1, 2, 3]) {
    const lm = ds.samples.find((s) => s.id === `SN001/${f}`).landmarks;
    // 49-point x of point 0 is 66-point 18 (index 17): 1-based 100 f + 18 → 0-based 100 f + 17
    assert.equal([lm[0], lm[1]], [100 * f + 17, 217], `frame ${f}`);
  }
  writeFileSync(join(dir, 'SN001_0001_lm.mat'), 'not a mat file');
  let error;
  try { await openDataset('disfa', root); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /SN001_0001_lm\.mat: not a MAT-file/);
});

/** The RangeError `fn` throws or rejects with (null when it does not). */
async function errorOf(fn) {
  try { await fn(); } catch (e) { return e; }
  return null;
}
const escaped = (path) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('folds.json: bad JSON or a wrong shape is a RangeError naming the file', async () => {
  const d = tmp();
  const file = join(d, 'folds.json');
  for (const [text, what] of [['{"parts": [["F001"], ["F002"]', /Expected JSON for .*folds\.json but received a parse error/], ['{"parts": [["F001"], ["F002"]]}', /Expected \{"parts": \[\[subject ids\], \[subject ids\], \[subject ids\]\]\} for .*folds\.json but received \{"parts"/],
    ['null', /Expected \{"parts".* but received null/], ['{"parts": [[1], [], []]}', /Expected \{"parts"/]]) {
    writeFileSync(file, text);
    const error = await errorOf(() => readFoldsFile(file));
    assert.instance(error, RangeError, `${text}: ${error}`);
    assert.ok(error.message.includes(` for ${file} but received `) && what.test(error.message), error.message);
  }
  writeFileSync(file, '{"parts": [["F001"], ["F002"], ["M001"]]}');
  assert.equal(readFoldsFile(file), [['F001'], ['F002'], ['M001']]);
  // through the BP4D reader
  const root = tmp();
  write(join(root, 'AUCoding', 'AU_OCC', 'F001_T1.csv'), `Frame,1,2,4,6,7,10,12,14,15,17,23,24\n1,${'0,'.repeat(11)}1\n`);
  write(join(root, 'folds.json'), '{"parts": ');
  const error = await errorOf(() => readBp4dLayout(root));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, new RegExp(`^Expected JSON for ${escaped(join(root, 'folds.json'))} but received a parse error`));
});

test('landmarks beyond float32 range are refused at read time, naming the file and row', async () => {
  const d = tmp();
  const row = (frame, v) => `${frame},${Array.from({ length: 98 }, (_, i) => (i === 7 ? v : i + 1)).join(',')}`;
  const csv = join(d, 'lm.csv');
  writeFileSync(csv, `Frame,...\n${row(1, 5)}\n${row(2, '1e39')}\n`);
  let error = await errorOf(() => readLandmarkCsv(csv));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, new RegExp(`^Expected coordinates within float32 range \\(±3\\.4e38\\) for row 3 of ${escaped(csv)} but received 1e\\+39$`));
  writeFileSync(csv, `Frame,...\n${row(1, 5)}\n${row(2, '-3.4e38')}\n`); // representable: kept
  assert.is(readLandmarkCsv(csv).get('2')[7], Math.fround(-3.4e38 - 1));
  // a MAT-file matrix
  const m = num([3, 2], [1, 2, 3, 4, -5e38, 6]);
  error = await errorOf(() => landmarksFromMatrix(m, 'f.mat: pts', 3));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, /^Expected coordinates within float32 range \(±3\.4e38\) for f\.mat: pts but received/);
  // JAA-Net's _land.txt
  const root = tmp();
  for (const [k, subject] of ['F001', 'F002', 'M001'].entries()) {
    write(join(root, `BP4D_part${k + 1}_path.txt`), `BP4D/${subject}/T1/1.jpg\n`);
    write(join(root, `BP4D_part${k + 1}_AUoccur.txt`), `${Array(12).fill(0).join(' ')}\n`);
    write(join(root, `BP4D_part${k + 1}_land.txt`), `${Array.from({ length: 98 }, (_, i) => (k === 1 && i === 3 ? '7e38' : i)).join(' ')}\n`);
  }
  error = await errorOf(() => readJaaNetLists(root, 'bp4d'));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, new RegExp(`^Expected coordinates within float32 range \\(±3\\.4e38\\) for line 1 of ${escaped(join(root, 'BP4D_part2_land.txt'))} but received`));
});

test('a frame twice in a label or landmark file is refused, naming the file and the frame', async () => {
  const d = tmp();
  const csv = join(d, 'lm.csv');
  const row = (frame) => `${frame},${Array.from({ length: 98 }, (_, i) => i + 1).join(',')}`;
  writeFileSync(csv, `Frame,...\n${row(1)}\n${row(2)}\n${row(1)}\n`);
  let error = await errorOf(() => readLandmarkCsv(csv));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, new RegExp(`^Expected one row per frame for row 4 of ${escaped(csv)} but received frame 1 again \\(first on row 2\\)$`));
  // BP4D AU_OCC
  const bp4d = tmp();
  const occ = join(bp4d, 'AUCoding', 'AU_OCC', 'F001_T1.csv');
  write(occ, `Frame,1,2,4,6,7,10,12,14,15,17,23,24\n1,${'0,'.repeat(11)}1\n2,${'0,'.repeat(11)}1\n2,${'1,'.repeat(11)}0\n`);
  error = await errorOf(() => readBp4dLayout(bp4d));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, new RegExp(`^Expected one row per frame for row 4 of ${escaped(occ)} but received frame 2 again \\(first on row 3\\)$`));
  // DISFA ActionUnit_Labels
  const disfa = tmp();
  const aus = [1, 2, 4, 6, 9, 12, 25, 26];
  for (const au of aus) write(join(disfa, 'ActionUnit_Labels', 'SN001', `SN001_au${au}.txt`), au === 6 ? '1,0\n2,3\n2,0\n' : '1,0\n2,3\n');
  error = await errorOf(() => openDataset('disfa', disfa));
  assert.instance(error, RangeError, String(error));
  assert.match(error.message, new RegExp(`^Expected one line per frame for line 3 of ${escaped(join(disfa, 'ActionUnit_Labels', 'SN001', 'SN001_au6.txt'))} but received frame 2 again \\(first on line 2\\)$`));
});

test('a root in no known format is refused, naming the formats looked for', async () => {
  let error;
  try { await openDataset('bp4d', tmp()); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /AUCoding.*ME-GraphAU.*JAA-Net/);
});

test('66 → 49 landmarks drops the 17 jaw points', () => {
  const p66 = Float32Array.from({ length: 132 }, (_, i) => i);
  const p49 = landmarks66To49(p66);
  assert.is(p49.length, 98);
  assert.is(p49[0], 34); // point 18 (1-based) of 66, x
  assert.is(p49[97], 131);
  assert.throws(() => landmarks66To49(new Float32Array(98)), /66/);
});

test('alignment: a rotated, scaled, shifted mean face aligns back onto the template', () => {
  const size = 256;
  const t = alignedTemplate();
  const angle = 0.3;
  const moved = new Float32Array(98);
  for (let i = 0; i < 49; i++) {
    const x = t[2 * i] * 180;
    const y = t[2 * i + 1] * 180;
    moved[2 * i] = 40 + Math.cos(angle) * x - Math.sin(angle) * y;
    moved[2 * i + 1] = 25 + Math.sin(angle) * x + Math.cos(angle) * y;
  }
  const aligned = applyAffine(alignmentTransform(moved, size), moved);
  for (let i = 0; i < 98; i++) assert.ok(Math.abs(aligned[i] - t[i] * size) < 1e-3, `coordinate ${i}: ${aligned[i]} vs ${t[i] * size}`);
  // the warp moves pixels the way the transform moves points: a white dot at the nose tip lands there
  const w = 320;
  const rgb = new Uint8Array(w * w * 3);
  const [nx, ny] = [Math.round(moved[26]), Math.round(moved[27])];
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) rgb.fill(255, 3 * ((ny + dy) * w + nx + dx), 3 * ((ny + dy) * w + nx + dx) + 3);
  const m = alignmentTransform(moved, size);
  const out = warpAffine(rgb, w, w, m, size);
  const [ax, ay] = applyAffine(m, [nx, ny]);
  assert.ok(out[3 * (Math.round(ay) * size + Math.round(ax))] > 200, 'the dot follows the transform');
  // an output pixel whose source position lies outside the image is grey
  const det = m[0] * m[4] - m[1] * m[3];
  const source = (x, y) => [(m[4] * (x - m[2]) - m[1] * (y - m[5])) / det, (-m[3] * (x - m[2]) + m[0] * (y - m[5])) / det];
  const outside = [[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]].find(([x, y]) => {
    const [sx, sy] = source(x, y);
    return sx < 0 || sy < 0 || sx > w - 1 || sy > w - 1;
  });
  assert.ok(outside, 'some corner maps outside the source');
  assert.is(out[3 * (outside[1] * size + outside[0])], 128, 'outside the source is grey');
});

test('align a BP4D-layout tree: frames, moved landmarks, AU files; resumable; bad frames named or skipped', async () => {
  const root = tmp();
  await generateSynthetic({ root, seed: 6, subjects: 3, tasks: 1, framesPerTask: 2, size: 96 });
  renameSync(join(root, 'F001', 'T1', '1.jpg'), join(root, 'F001', 'T1', '0001.jpg')); // BP4D's own naming
  const out = join(tmp(), 'aligned');
  const r = await alignTree({ root, out, size: 64 });
  assert.is(r.aligned, 6);
  assert.ok(existsSync(join(out, 'F001', 'T1', '0001.jpg')), 'the aligned frame keeps its name');
  const ds = await readBp4dLayout(out);
  assert.is(ds.samples.length, 6);
  const s = ds.samples[0];
  assert.ok(existsSync(s.imagePath));
  // eyes level after alignment
  const eye = (a, b) => { let y = 0; for (let i = a; i <= b; i++) y += s.landmarks[2 * i + 1]; return y / (b - a + 1); };
  assert.ok(Math.abs(eye(19, 24) - eye(25, 30)) < 1e-2);
  assert.equal(readFileSync(join(out, 'AUCoding/AU_OCC/F001_T1.csv'), 'utf8'), readFileSync(join(root, 'AUCoding/AU_OCC/F001_T1.csv'), 'utf8'));
  const again = await alignTree({ root, out, size: 64 });
  assert.is(again.skippedExisting, 6);
  assert.is(again.aligned, 0);
  // a corrupt image: named, or skipped and counted
  writeFileSync(join(root, 'M001', 'T1', '2.jpg'), 'not a jpeg');
  let error;
  try { await alignTree({ root, out: join(tmp(), 'x'), size: 64 }); } catch (e) { error = e; }
  assert.match(error.message, /M001\/T1\/2\.jpg/);
  const skipped = await alignTree({ root, out: join(tmp(), 'y'), size: 64, skipBad: true });
  assert.is(skipped.bad.length, 1);
  assert.is(skipped.aligned, 5);
});

test('align refuses an --out that is --root or inside it, and a re-run with another --size or layout', async () => {
  const root = tmp();
  await generateSynthetic({ root, seed: 6, subjects: 3, tasks: 1, framesPerTask: 1, size: 64 });
  const landmarks = readFileSync(join(root, 'Landmarks', 'F001_T1.csv'), 'utf8');
  for (const out of [root, join(root, 'aligned'), join(root, 'F001', '..', 'sub', 'deeper')]) {
    let error;
    try { await alignTree({ root, out, size: 48 }); } catch (e) { error = e; }
    assert.instance(error, RangeError, out);
    assert.match(error.message, /Expected a folder outside --root .* for --out but received .*, where the aligned files would overwrite the source's/);
  }
  // through a symlink to the root, too
  const link = join(tmp(), 'link');
  symlinkSync(root, link);
  let error;
  try { await alignTree({ root, out: join(link, 'x'), size: 48 }); } catch (e) { error = e; }
  assert.match(error?.message ?? '', /Expected a folder outside --root .* for --out/);
  assert.is(readFileSync(join(root, 'Landmarks', 'F001_T1.csv'), 'utf8'), landmarks, 'the source landmarks are untouched');
  assert.not.ok(existsSync(join(root, 'align.json')));

  const out = join(tmp(), 'aligned');
  await alignTree({ root, out, size: 48 });
  assert.equal(JSON.parse(readFileSync(join(out, 'align.json'), 'utf8')), { format: 'sacl-au-align', layout: 'bp4d', size: 48, recipe: 'jaa-net-2.9' });
  const moved = readFileSync(join(out, 'Landmarks', 'F001_T1.csv'), 'utf8');
  error = undefined;
  try { await alignTree({ root, out, size: 64 }); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  assert.match(error.message, /Expected 48 \(what .*aligned was aligned with, .*align\.json\) for --size but received 64: use another --out, or remove this one to align again/);
  assert.is(readFileSync(join(out, 'Landmarks', 'F001_T1.csv'), 'utf8'), moved, 'the landmarks still match the frames');
  error = undefined;
  try { await alignTree({ root, out, size: 48, layout: 'disfa' }); } catch (e) { error = e; }
  assert.match(error?.message ?? '', /Expected "bp4d" \(what .* was aligned with, .*\) for --dataset but received "disfa"/);
  // a folder aligned before the record existed: the frames' size is checked
  unlinkSync(join(out, 'align.json'));
  error = undefined;
  try { await alignTree({ root, out, size: 64 }); } catch (e) { error = e; }
  assert.match(error?.message ?? '', /Expected 48 \(.*F001\/T1\/1\.jpg is already aligned at 48×48\) for --size but received 64/);
  assert.not.ok(existsSync(join(out, 'align.json')), 'no record claims the refused size');
  const again = await alignTree({ root, out, size: 48 });
  assert.is(again.skippedExisting, 3);
  assert.ok(existsSync(join(out, 'align.json')));
});

test('`sacl-au align --dataset disfa`: DISFA frames aligned by their Landmark_Points MAT-files, read back', async () => {
  // a DISFA tree made from synthetic faces: PNG frames 0-based, labels, 66-point .mat files (jaw points padded)
  const synth = tmp();
  await generateSynthetic({ root: synth, seed: 8, subjects: 3, tasks: 1, framesPerTask: 1, size: 96 });
  const faces = (await readBp4dLayout(synth)).samples;
  const root = tmp();
  for (const au of [1, 2, 4, 6, 9, 12, 25, 26]) write(join(root, 'ActionUnit_Labels', 'SN002', `SN002_au${au}.txt`), faces.map((_, i) => `${i + 1},${(i + au) % 4}`).join('\n'));
  const dir = join(root, 'Landmark_Points', 'SN002', 'tmp_frame_lm');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, 'SN002'), { recursive: true });
  for (const [i, face] of faces.entries()) {
    await sharp(face.imagePath).png().toFile(join(root, 'SN002', `${i}.png`));
    const p66 = Array.from({ length: 66 }, (_, p) => (p < 17 ? [face.landmarks[0], face.landmarks[1]] : [face.landmarks[2 * (p - 17)], face.landmarks[2 * (p - 17) + 1]]));
    writeMat5(join(dir, `SN002_${String(i).padStart(4, '0')}_lm.mat`), { pts: num([66, 2], [...p66.map((q) => q[0] + 1), ...p66.map((q) => q[1] + 1)]) });
  }
  const out = join(tmp(), 'aligned');
  const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'align', '--dataset', 'disfa', '--root', root, '--out', out, '--size', '64', '--json'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()), { out, aligned: 3, skippedExisting: 0, bad: 0 });
  const ds = await openDataset('disfa', out);
  assert.is(ds.samples.length, 3);
  const s = ds.samples[1];
  assert.is(s.imagePath, join(out, 'SN002', '1.png'));
  const meta = await sharp(s.imagePath).metadata();
  assert.equal([meta.format, meta.width, meta.height], ['png', 64, 64]);
  const eye = (a, b) => { let y = 0; for (let i = a; i <= b; i++) y += s.landmarks[2 * i + 1]; return y / (b - a + 1); };
  assert.ok(Math.abs(eye(19, 24) - eye(25, 30)) < 1e-2, 'eyes level');
  // frame 2 (i = 1) has intensity (1 + au) % 4 → present when ≥ 2
  assert.equal(Array.from(s.labels), [1, 2, 4, 6, 9, 12, 25, 26].map((au) => ((1 + au) % 4 >= 2 ? 1 : 0)));
  const bad = spawnSync(process.execPath, [cli, 'align', '--dataset', 'ck+', '--root', root, '--out', out], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /Expected one of "bp4d", "disfa" for --dataset but received "ck\+"/);
});

test.run();
