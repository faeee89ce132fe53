/**
 * MAT-file readers (src/data/mat/): Level 5 files (plain, compressed, big-endian) and v7.3 files (HDF5 in
 * MATLAB's layout) written by test/helpers/mat.js, read back kind by kind; malformed files refused with
 * the file named. When python3 with scipy and h5py is present, files written by scipy.io.savemat and by
 * h5py in MATLAB's v7.3 layout are read too (an independent writer); otherwise that test says it skipped.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { landmarksFromMatrix, readMatFile, readMatVariable, structField } from '../../dist/data/mat/index.js';
import { cell, chr, num, struct, writeMat5, writeMat73 } from '../helpers/mat.js';

const test = suite('MAT-files');
const dirs = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'sacl-mat-')); dirs.push(d); return d; };
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const pred = (k) => Array.from({ length: 98 }, (_, i) => 10 * k + i + 0.25); // 49 × 2, column-major
const VARS = {
  pts: num([3, 2], [1, 2, 3, 10, 20, 30]),
  small: num([1, 2], [-3, 7], 'int16'),
  bytes: num([2, 2], [0, 1, 254, 255], 'uint8'),
  flags: num([1, 3], [1, 0, 1], 'logical'),
  half: num([1, 2], [0.5, -2.25], 'single'),
  empty: num([0, 0], []),
  name: chr('F001_T1'),
  mixed: cell([1, 3], [num([1, 1], [1.5]), chr('ab'), num([0, 0], [])]),
  fit: struct([1, 3], ['pred', 'pose'], [0, 1, 2].map((k) => ({
    pred: k === 1 ? num([0, 0], []) : num([49, 2], pred(k)),
    pose: num([1, 3], [k, 0.5, -0.5]),
  }))),
  one: struct([1, 1], ['a'], [{ a: num([1, 1], [42]) }]),
};

function checkVars(m, label) {
  const v = (n) => m.get(n);
  assert.equal(v('pts').dims, [3, 2], label);
  assert.equal(Array.from(v('pts').data), [1, 2, 3, 10, 20, 30], label);
  assert.is(v('small').class, 'int16');
  assert.equal(Array.from(v('small').data), [-3, 7]);
  if (v('bytes')) assert.equal(Array.from(v('bytes').data), [0, 1, 254, 255]);
  if (v('flags')) assert.equal([v('flags').class, ...v('flags').data], ['logical', 1, 0, 1]);
  if (v('half')) assert.equal(Array.from(v('half').data), [0.5, -2.25]);
  assert.equal(v('empty').dims, [0, 0], `${label}: empty`);
  assert.is(v('name').text, 'F001_T1');
  const mixed = v('mixed');
  assert.is(mixed.kind, 'cell');
  assert.equal([mixed.items[0].data[0], mixed.items[1].text, mixed.items[2].data.length], [1.5, 'ab', 0]);
  const preds = structField(v('fit'), 'pred', 'fit');
  assert.is(preds.length, 3, `${label}: struct elements`);
  assert.equal(v('fit').dims, [1, 3]);
  assert.equal(Array.from(preds[2].data), pred(2), `${label}: fit(3).pred`);
  assert.equal(preds[1].dims, [0, 0]);
  assert.equal(Array.from(structField(v('fit'), 'pose', 'fit')[2].data), [2, 0.5, -0.5]);
  assert.is(structField(v('one'), 'a', 'one')[0].data[0], 42);
}

for (const [label, opts] of [['Level 5', {}], ['Level 5 compressed (v7)', { compress: true }], ['Level 5 big-endian', { bigEndian: true }]]) {
  test(`${label}: numeric classes, char, cell, empty, struct arrays read back`, async () => {
    const file = join(tmp(), 'v.mat');
    writeMat5(file, VARS, opts);
    checkVars(await readMatFile(file), label);
    const only = await readMatFile(file, ['pts']);
    assert.equal([...only.keys()], ['pts']);
  });
}

test('v7.3 (HDF5 after the MATLAB header): struct arrays through #refs#, cells, char, empty', async () => {
  const file = join(tmp(), 'v73.mat');
  const { bytes, flags, half, ...vars } = VARS; // the v7.3 writer stores doubles, int16 as double
  await writeMat73(file, { ...vars, small: num([1, 2], [-3, 7], 'int16') });
  const m = await readMatFile(file);
  checkVars(m, 'v7.3');
  assert.is((await readMatVariable(file, 'fit')).kind, 'struct');
});

test('v7.3: only the asked struct fields are read; references outside #refs# resolve too', async () => {
  const file = join(tmp(), 'fields.mat');
  await writeMat73(file, { fit: VARS.fit });
  const fit = await readMatVariable(file, 'fit', ['pred']);
  assert.equal(fit.fields, ['pred']);
  assert.equal(Array.from(fit.elements[2].pred.data), pred(2));
  const plain = join(tmp(), 'plain.h5');
  const h5 = await import('h5wasm/node');
  await h5.ready;
  const f = new h5.File(plain, 'w');
  const x = f.create_dataset({ name: 'x', data: Float64Array.from([1, 2, 3]), shape: [3, 1] });
  x.create_attribute('MATLAB_class', 'double');
  f.create_dataset({ name: 'c', data: [x.create_reference()], shape: [1, 1] }).create_attribute('MATLAB_class', 'cell');
  f.close();
  const c = await readMatVariable(plain, 'c');
  assert.equal([c.kind, c.items[0].dims, Array.from(c.items[0].data)], ['cell', [1, 3], [1, 2, 3]]);
});

test('landmarks: n × 2 [x y] 1-based → interleaved 0-based; empty → null; wrong shape named', () => {
  const lm = landmarksFromMatrix(num([3, 2], [1, 2, 3, 10, 20, 30]), 'f: pts', 3);
  assert.equal(Array.from(lm), [0, 9, 1, 19, 2, 29]);
  assert.is(landmarksFromMatrix(num([0, 0], []), 'f: pts', 3), null);
  assert.throws(() => landmarksFromMatrix(num([2, 2], [1, 2, 3, 4]), 'f.mat: pts', 3), (e) => e instanceof RangeError && /f\.mat: pts: expected a 3×2 matrix; got 2×2/.test(e.message));
  assert.throws(() => structField(num([1, 1], [1]), 'pred', 'f.mat: fit'), (e) => e instanceof RangeError && /f\.mat: fit: expected a struct array/.test(e.message));
});

test('malformed files are refused with a RangeError naming the file', async () => {
  const d = tmp();
  const good = join(d, 'good.mat');
  writeMat5(good, { pts: num([3, 2], [1, 2, 3, 4, 5, 6]) });
  const cases = {
    'text.mat': Buffer.from('x,y\n1,2\n'),
    'truncated.mat': readFileSync(good).subarray(0, 150),
    'badzip.mat': (() => { const b = Buffer.alloc(128 + 16); readFileSync(good).copy(b, 0, 0, 128); b.writeUInt32LE(15, 128); b.writeUInt32LE(8, 132); return b; })(),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const file = join(d, name);
    writeFileSync(file, bytes);
    let error;
    try { await readMatFile(file); } catch (e) { error = e; }
    assert.instance(error, RangeError, name);
    assert.ok(error.message.startsWith(file), `${name}: ${error.message}`);
  }
  let missing;
  try { await readMatVariable(good, 'fit'); } catch (e) { missing = e; }
  assert.match(missing.message, /good\.mat: no variable "fit"/);
});

const PY = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import scipy.io, h5py'], { stdio: 'ignore' }).status === 0);

test('files written by scipy.io.savemat and by h5py in MATLAB\'s v7.3 layout read alike', async () => {
  if (!PY) {
    console.log('[sacl-au tests] scipy/h5py cross-check skipped: no python3 with scipy and h5py');
    return;
  }
  const d = tmp();
  const script = `
import numpy as np, scipy.io as sio, h5py, sys
d = sys.argv[1]
pts = (np.arange(132, dtype=float).reshape(66, 2, order='F') + 1) / 4
preds = [np.arange(98, dtype=float).reshape(49, 2, order='F') + 10 * k + 0.25 for k in range(3)]
s = np.zeros((1, 3), dtype=[('pred', object)])
for k in range(3): s[0, k]['pred'] = preds[k] if k != 1 else np.zeros((0, 0))
for z in (False, True): sio.savemat(f'{d}/scipy{int(z)}.mat', {'pts': pts, 'fit': s}, do_compression=z)
with h5py.File(f'{d}/h5py.mat', 'w', userblock_size=512) as f:
    refs = f.create_group('#refs#'); g = f.create_group('fit'); g.attrs['MATLAB_class'] = np.bytes_('struct'); r = []
    for k in range(3):
        x = refs.create_dataset(f'p{k}', data=np.array([0, 0], dtype=np.uint64) if k == 1 else preds[k].T.copy())
        x.attrs['MATLAB_class'] = np.bytes_('double')
        if k == 1: x.attrs['MATLAB_empty'] = np.uint8(1)
        r.append(x.ref)
    g.create_dataset('pred', data=np.array(r, dtype=h5py.ref_dtype).reshape(3, 1))
    p = f.create_dataset('pts', data=pts.T.copy()); p.attrs['MATLAB_class'] = np.bytes_('double')
`;
  const r = spawnSync(PY, ['-c', script, d], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  for (const name of ['scipy0.mat', 'scipy1.mat', 'h5py.mat']) {
    const m = await readMatFile(join(d, name));
    assert.equal(m.get('pts').dims, [66, 2], name);
    assert.equal(Array.from(m.get('pts').data), Array.from({ length: 132 }, (_, i) => (i + 1) / 4), name);
    const preds = structField(m.get('fit'), 'pred', name);
    assert.equal(preds.map((p) => p.dims.join('×')), ['49×2', '0×0', '49×2'], name);
    assert.equal(Array.from(preds[2].data), pred(2), name);
  }
});

test.run();
