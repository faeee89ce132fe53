/**
 * A seeded, bounded fuzz of what a model directory can hold (docs/tfjs.md, "Weights I/O"): random
 * mutations of a valid model.json (its manifest and, for a model, its config). Every load either succeeds
 * with the bytes of the model's own weights file, or fails with an Error naming model.json or the weights
 * file; no file outside the directory is ever read into a weight, and a config that does not fit the
 * weights allocates no parameter.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTensors, saveTensors } from '../../dist/tf/index.js';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { ParamStore } from '../../dist/model/params.js';
import { Rng } from '../helpers/random.js';

const test = suite('weights manifest fuzz');
test.before(async () => { await tf.setBackend('cpu'); });
const scratch = mkdtempSync(path.join(tmpdir(), 'sacl-weights-fuzz-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

// outside every model directory: 0x5a bytes, which no saved weight here holds
const SECRET = path.join(scratch, 'secret.bin');
writeFileSync(SECRET, Buffer.alloc(64, 0x5a));
const SECRET_FLOAT = new Float32Array(Buffer.alloc(4, 0x5a).buffer)[0];

const ODD_VALUES = [null, true, 0, -1, 1.5, 2 ** 31, 2 ** 53, 1e308, -0, '', 'x', '../secret.bin', SECRET, '../../secret.bin', './link.bin',
  'sub/../../secret.bin', 'float16', 'uint8', 'string', 'float32', [], [0], [-1], [1e9, 1e9], [2, 2], {}, { dtype: 'uint8' }];

/** A random path into a JSON value: every node, keys and indices. */
function nodes(value, at = []) {
  const out = [at];
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...nodes(v, [...at, Array.isArray(value) ? Number(k) : k]));
  return out;
}

function mutate(json, rng) {
  const copy = structuredClone(json);
  const count = rng.int(1, 3);
  for (let m = 0; m < count; m++) {
    const all = nodes(copy).filter((p) => p.length > 0);
    const at = rng.pick(all);
    const parent = at.slice(0, -1).reduce((o, k) => o[k], copy);
    const key = at[at.length - 1];
    const kind = rng.int(0, 4);
    if (kind === 0 && !Array.isArray(parent)) delete parent[key];
    else if (kind === 1 && typeof parent[key] === 'number') parent[key] = parent[key] + rng.pick([-1, 1, 7, 1000]);
    else if (kind === 2 && Array.isArray(parent[key])) parent[key].push(structuredClone(rng.pick([...parent[key], 3, 'x'])));
    else parent[key] = structuredClone(rng.pick(ODD_VALUES));
  }
  return copy;
}

/** Runs `load` on every mutation; returns how many loaded and how many were refused. */
async function fuzz({ dir, json, iterations, seed, load, check }) {
  const rng = new Rng(seed);
  let loaded = 0;
  let refused = 0;
  const started = Date.now();
  for (let i = 0; i < iterations && Date.now() - started < 20000; i++) {
    const mutated = mutate(json, rng);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(mutated));
    let result;
    let error;
    try { result = await load(); } catch (e) { error = e; }
    const what = `seed ${seed}, iteration ${i}: ${JSON.stringify(mutated).slice(0, 300)}`;
    if (error) {
      assert.instance(error, Error, what);
      assert.ok(/model\.json|weights-[0-9a-f]+\.bin|link\.bin|secret/.test(error.message) || error.message.startsWith(dir), `${what}\n→ ${error.message}`);
      refused++;
    } else {
      check(result, what);
      loaded++;
    }
  }
  return { loaded, refused };
}

test('mutated manifests load their own bytes or fail naming the file; nothing outside the directory is read', async () => {
  const dir = path.join(scratch, 'tensors');
  await saveTensors(dir, { a: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([5, 6, 7], 'int32'), c: tf.tensor1d([0.5]) });
  symlinkSync(SECRET, path.join(dir, 'link.bin'));
  mkdirSync(path.join(dir, 'sub'));
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const own = readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  const { loaded, refused } = await fuzz({ dir, json, iterations: 1500, seed: 16, load: () => loadTensors(dir), check: ({ tensors }, what) => {
    let bytes = 0;
    for (const { tensor } of tensors) {
      bytes += tensor.size * 4;
      if (tensor.dtype === 'float32') assert.not.ok(tensor.dataSync().includes(SECRET_FLOAT), `${what}: the secret file was read`);
      tensor.dispose();
    }
    assert.ok(bytes <= 4 * own.length, `${what}: ${bytes} bytes decoded from a ${own.length}-byte file`);
  } });
  assert.ok(loaded > 0 && refused > loaded, `loaded ${loaded}, refused ${refused}`);
});

test('mutated model configs load or fail naming model.json, and a refused one allocates no parameter', async () => {
  const dir = path.join(scratch, 'model');
  const model = new AuModel(modelConfig('tiny', { inputSize: 48 }), 2);
  await model.save(dir);
  model.dispose();
  const full = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  // mutate the metadata only: the manifest is the first test's
  const { weightsManifest, ...meta } = full;
  const add = ParamStore.prototype.add;
  let allocated = 0;
  ParamStore.prototype.add = function (name, shape, ...rest) {
    if (!this.shapesOnly) allocated += shape.reduce((a, b) => a * b, 1);
    return add.call(this, name, shape, ...rest);
  };
  const expected = modelConfig('tiny', { inputSize: 48 });
  const perModel = new AuModel(expected, 1, { shapesOnly: true }).store.named().reduce((n, p) => n + p.tensor.size, 0);
  try {
    const rng = new Rng(61);
    let refused = 0;
    let loaded = 0;
    for (let i = 0; i < 150; i++) {
      const mutated = { ...mutate(meta, rng), weightsManifest };
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify(mutated));
      allocated = 0;
      try {
        const m = await AuModel.load(dir);
        m.dispose();
        loaded++;
        assert.is(allocated, perModel, `iteration ${i}: one model built`);
      } catch (e) {
        assert.instance(e, Error);
        assert.ok(/model\.json/.test(e.message) || e.message.includes(dir), `iteration ${i}: ${e.message}`);
        // refused before building, or (a bad value the shapes do not show) while assigning into one model
        assert.ok(allocated === 0 || allocated === perModel, `iteration ${i}: ${allocated} values allocated for a refused config (${e.message})`);
        refused++;
      }
    }
    assert.ok(loaded > 0 && refused > 0, `loaded ${loaded}, refused ${refused}`);
  } finally {
    ParamStore.prototype.add = add;
  }
});

test.run();
