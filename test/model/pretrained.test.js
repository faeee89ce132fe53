/**
 * ImageNet ResT weights: the backbone's names are the ResT module's state-dict names; files written by
 * PyTorch's own torch.save (bare, wrapped as a training checkpoint, deflated) and a hand-written
 * .safetensors copy load into backbone.*, and the loaded backbone reproduces PyTorch's forward pass;
 * strided views and every dtype read as PyTorch's values; what does not fit is reported; broken or hostile
 * files fail with the file named. The PyTorch parts skip (with a line saying so) without python3 + torch.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuModel, ParamStore, ResTBackbone, loadBackboneWeights, modelConfig } from '../../dist/model/index.js';
import { LayerNorm } from '../../dist/model/layers.js';
import { inputTemplate } from '../../dist/face/landmarks.js';
import { readStateDict, saveTensors } from '../../dist/tf/index.js';
import { assertClose, assertEqualValues, assertThrowsWith } from '../helpers/assert.js';
import { PY_TORCH, writeRestFiles } from '../helpers/torch.js';

const test = suite('ResT weights (.pth, .safetensors)');
// the tiny preset's backbone: every kind of block (one head and several, spatial reduction 8…1)
const CONFIG = { dims: [16, 32, 64, 128], heads: [1, 1, 2, 4], depths: [1, 1, 1, 1], srRatios: [8, 4, 2, 1], mlpRatio: 2 };
const SIZE = 64;
let dir;
let expected = null;
test.before(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'sacl-rest-'));
  if (PY_TORCH) expected = writeRestFiles(dir, CONFIG, SIZE);
  else console.log('[sacl-au tests] PyTorch-written ResT files skipped: no python3 with torch');
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

function backbone(seed = 1) {
  const store = new ParamStore(seed);
  return { store, net: new ResTBackbone(store, 'backbone', CONFIG) };
}
const values = (store) => new Map(store.named().map((p) => [p.name, { shape: p.tensor.shape, data: p.tensor.dataSync() }]));
const file = (name) => join(dir, name);

test('the backbone\'s parameters are the ResT module\'s state-dict names under backbone.', () => {
  if (!expected) return;
  const ours = backbone().store.named().map((p) => p.name).sort();
  const theirs = expected.names.filter((n) => !n.startsWith('head.') && !n.endsWith('num_batches_tracked')).map((n) => `backbone.${n}`).sort();
  assert.equal(ours, theirs);
});

test('a torch.save state dict loads into backbone.*; stem and stages 1–4 then match PyTorch\'s forward pass', () => {
  if (!expected) return;
  const { store, net } = backbone();
  const r = loadBackboneWeights(store, file('rest.pth'));
  assert.equal({ ...r, missing: r.missing.length }, {
    file: file('rest.pth'), format: 'pth', assigned: store.named().length, missing: 0, unused: ['head.weight', 'head.bias'], mismatched: [], skipped: 5,
  });
  tf.tidy(() => {
    const out = net.apply(tf.tensor(expected.input.values, expected.input.shape), { training: false });
    assertClose({ shape: out.stem.shape, data: out.stem.dataSync() }, { shape: expected.stem.shape, data: Float32Array.from(expected.stem.values) }, { rtol: 1e-4, atol: 1e-4 }, 'stem');
    out.stages.forEach((s, i) => {
      const e = expected.stages[i];
      const scale = Math.max(...e.values.map(Math.abs));
      // float32 rounding grows through the stages (stage 3 is up to 1.8e-3 off even with stock kernels); with
      // the native kernels, fused LayerNorm or not, stage 4 is up to 2.3e-5·scale off (0.4e-5 with stock ones)
      assertClose({ shape: s.shape, data: s.dataSync() }, { shape: e.shape, data: Float32Array.from(e.values) }, { rtol: 1e-4, atol: 4e-5 * scale }, `stage ${i + 1}`);
    });
  });
  store.dispose();
});

test('a training checkpoint ({model}, module. names, optimizer, args), a deflated archive and a hand-written .safetensors load the same values', () => {
  if (!expected) return;
  const { store: reference } = backbone();
  loadBackboneWeights(reference, file('rest.pth'));
  const want = values(reference);
  for (const name of ['checkpoint.pth', 'deflated.pth', 'rest.safetensors']) {
    const { store } = backbone(2);
    const r = loadBackboneWeights(store, file(name));
    assert.is(r.assigned, want.size, name);
    assert.equal(r.missing, [], name);
    assert.equal(r.unused, name === 'rest.safetensors' ? ['head.weight', 'head.bias', 'extra.half', 'extra.bfloat'] : ['head.weight', 'head.bias'], name);
    for (const [n, v] of values(store)) assertEqualValues(v, want.get(n), `${name}: ${n}`);
    store.dispose();
  }
  // channels-last: PyTorch's [out, in, kh, kw] conv, [out, in] linear, [C, 1, kh, kw] depthwise and [h, h, 1, 1] mixing
  const at = (n) => want.get(`backbone.${n}`);
  const torch = (n) => expected.state[n];
  const conv = at('stem.conv1.weight');
  const [kh, kw, I, O] = conv.shape;
  assert.equal(torch('stem.conv1.weight').shape, [O, I, kh, kw]);
  assert.is(conv.data[((1 * kw + 2) * I + 1) * O + 5], Math.fround(torch('stem.conv1.weight').values[((5 * I + 1) * kh + 1) * kw + 2]));
  const q = at('stage2.0.attn.q.weight');
  assert.is(q.data[3 * q.shape[1] + 7], Math.fround(torch('stage2.0.attn.q.weight').values[7 * q.shape[0] + 3]));
  const dw = at('stem.pos.pa_conv.weight');
  assert.is(dw.data[(2 * 3 + 0) * dw.shape[2] + 9], Math.fround(torch('stem.pos.pa_conv.weight').values[(9 * 3 + 2) * 3 + 0]));
  assert.equal(at('stage4.0.attn.transform_conv.weight').shape, [4, 4]);
  assert.equal(torch('stage4.0.attn.transform_conv.weight').shape, [4, 4, 1, 1]);
  reference.dispose();
});

test('strided views, storage offsets, fp16, bf16, f64, int64 and Parameters read as PyTorch\'s values', () => {
  if (!expected) return;
  const d = readStateDict(file('views.pth'));
  assert.equal(d.tensors.map((t) => t.name), Object.keys(expected.views));
  for (const t of d.tensors) {
    const e = expected.views[t.name];
    assert.equal(t.shape, e.shape, t.name);
    assertEqualValues(t.read(), Float32Array.from(e.values), t.name);
  }
  assert.equal(d.tensors.map((t) => t.dtype), ['f32', 'f32', 'f32', 'f16', 'bf16', 'f64', 'i64', 'f32']);
  const s = readStateDict(file('rest.safetensors'));
  for (const name of ['half', 'bfloat']) {
    assertEqualValues(s.tensors.find((t) => t.name === `extra.${name}`).read(), Float32Array.from(expected.views[name].values), `safetensors ${name}`);
  }
});

test('names and shapes that do not fit are reported; those parameters keep their initialization', () => {
  if (!expected) return;
  const { store } = backbone();
  const before = values(store);
  const r = loadBackboneWeights(store, file('bad.pth'));
  assert.equal(r.mismatched, [{ name: 'stem.conv1.weight', expected: [8, 3, 3, 3], got: [8, 3, 5, 5] }]);
  assert.equal(r.missing, ['backbone.stage1.0.attn.q.weight']);
  assert.equal(r.unused, ['head.weight', 'head.bias']);
  assert.is(r.assigned, before.size - 2);
  const after = values(store);
  for (const n of ['backbone.stem.conv1.weight', 'backbone.stage1.0.attn.q.weight']) assertEqualValues(after.get(n), before.get(n), n);
  store.dispose();
});

test('LayerNorm uses PyTorch\'s default eps 1e-5, as ResT does', () => {
  if (!expected) return;
  const store = new ParamStore(1);
  const ln = new LayerNorm(store, 'ln', 6);
  const y = tf.tidy(() => ln.apply(tf.tensor2d(expected.layerNorm.input, [1, 6]), { training: false }).dataSync());
  assertClose(y, Float32Array.from(expected.layerNorm.output), { rtol: 1e-4, atol: 1e-5 });
  store.dispose();
});

test('broken, legacy, hostile and foreign torch files fail with the file named', () => {
  if (!expected) return;
  const whole = readFileSync(file('rest.pth'));
  writeFileSync(file('truncated.pth'), whole.subarray(0, whole.length >> 1));
  const cases = [
    ['truncated.pth', /^Expected a zip end-of-central-directory record .* for the end of the torch\.save archive .*truncated\.pth but received none in \d+ bytes/],
    ['legacy.pth', /^Expected a torch\.save zip archive \(PyTorch ≥ 1\.6\) or a \.safetensors file for .*legacy\.pth but received a legacy \(pre-1\.6\) torch file: re-save it/],
    ['stride.pth', /^Expected at most 4 elements \(its storage\) for tensor stem\.conv1\.weight in .*stride\.pth but received size \[1000000000\]$/],
    ['storage.pth', /^Expected 4000000000 bytes \(1000000000 elements\) for storage 0 in .*storage\.pth but received 16 bytes$/],
    ['long.pth', /^Expected at most 16 bytes \(a state dict holds none larger\) for the integer at byte \d+ in the data\.pkl of .*long\.pth but received 101 bytes$/],
    ['other.pth', /Expected ResT backbone weights .* for .*other\.pth but received none of the 111 backbone names among its 1 tensors \(fc\.weight/],
  ];
  for (const [name, pattern] of cases) {
    const { store } = backbone();
    assertThrowsWith(() => loadBackboneWeights(store, file(name)), Error, [pattern], name);
    store.dispose();
  }
});

test('models saved before the rename (stem.bn1 / stem.bn2) still load, into stem.norm1 / stem.norm2', async () => {
  const model = new AuModel(modelConfig('tiny'), 3);
  const old = join(dir, 'old-model');
  // as version 1 wrote them: the stem's norms as bn1/bn2, and the landmark bias holding the mean face
  const template = inputTemplate(model.config.inputSize);
  const named = model.store.named().map(({ name, tensor }) => ({
    name: name.replace(/^backbone\.stem\.norm([12])\./, 'backbone.stem.bn$1.'),
    tensor: name === 'landmarks.fc.bias' ? tf.add(tensor, tf.tensor(template, tensor.shape)) : tensor,
  }));
  assert.ok(named.some((t) => t.name === 'backbone.stem.bn1.running_var'));
  await saveTensors(old, named, { format: 'sacl-au-model', version: 1, seed: 3, config: model.config });
  const loaded = await AuModel.load(old);
  const want = values(model.store);
  for (const [n, v] of values(loaded.store)) {
    if (n === 'landmarks.fc.bias') assertClose(v, want.get(n), { rtol: 0, atol: 1e-4 }, n);
    else assertEqualValues(v, want.get(n), n);
  }
  loaded.dispose();
  model.dispose();
});

/** A .safetensors file from a header object and data bytes (the header size as given, or its real one). */
function safetensors(header, data, size) {
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(size ?? json.length));
  return Buffer.concat([head, json, data]);
}

test('malformed .safetensors files and unknown formats: errors name the file and what was expected', () => {
  const f = join(dir, 'bad.safetensors');
  const good = { 'stem.conv1.weight': { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  writeFileSync(f, safetensors(good, Buffer.alloc(8)));
  assert.equal([...readStateDict(f).tensors[0].read()], [0, 0]);
  // a header of 384 bytes: its size starts 0x80 0x01, the opening of a pickle; still a .safetensors file
  const padded = Buffer.from(JSON.stringify(good).padEnd(384, ' '));
  writeFileSync(f, Buffer.concat([Buffer.from([0x80, 0x01, 0, 0, 0, 0, 0, 0]), padded, Buffer.from(new Float32Array([1.5, -2]).buffer)]));
  assert.equal([...readStateDict(f).tensors[0].read()], [1.5, -2]);
  const cases = [
    [safetensors(good, Buffer.alloc(8), 1e9), /^Expected at most \d+ \(the bytes after it\) for the \.safetensors header size in .*bad\.safetensors but received 1000000000$/],
    [safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(4)),
      /^Expected begin ≤ end ≤ 4 \(the data bytes\) for the data_offsets of tensor a in .*bad\.safetensors but received \[0, 8\]$/],
    [safetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)),
      /^Expected a span of 12 bytes \(F32 \[3\]\) for the data_offsets of tensor a in .*bad\.safetensors but received \[0, 8\] \(8 bytes\)$/],
    [safetensors({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)),
      /^Expected one of F64, F32, F16, BF16, .* for the dtype of tensor a in .*bad\.safetensors but received "C64"$/],
    [safetensors({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4)),
      /^Expected a list of integers ≥ 0 for the shape of tensor a in .*bad\.safetensors but received \[-1\]$/],
    [safetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [4] } }, Buffer.alloc(4)),
      /^Expected a pair \[begin, end\] of integers ≥ 0 for the data_offsets of tensor a in .*bad\.safetensors but received \[4\]$/],
    [Buffer.concat([Buffer.from([10, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a": nope')]),
      /^Expected JSON for the \.safetensors header in .*bad\.safetensors but received text that does not parse \(/],
    [Buffer.from('hello, world, not weights'),
      /^Expected a torch\.save zip archive or a \.safetensors file for .*bad\.safetensors but received neither \(first bytes 68 65 6c 6c 6f 2c 20 77\)$/],
    [Buffer.alloc(0), /^Expected a torch\.save zip archive or a \.safetensors file for .*bad\.safetensors but received neither \(first bytes none: an empty file\)$/],
  ];
  for (const [bytes, pattern] of cases) {
    writeFileSync(f, bytes);
    assertThrowsWith(() => readStateDict(f), Error, [pattern], String(pattern));
  }
  assertThrowsWith(() => readStateDict(join(dir, 'absent.pth')), Error, [/Cannot read .*absent\.pth/]);
});

test.run();
