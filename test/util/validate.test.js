/**
 * One message shape below every layer: "Expected <what> for <name> but received <what>", from the shared
 * checks, the CLI's usageError and the model config; every closed option set is one exported constant that
 * the config check enumerates, and no source file spells a set's members out again.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOneOf, checkSquareMatrix, message } from '../../dist/util/validate.js';
import { UsageError, asUsage, usageError } from '../../dist/util/errors.js';
import { BACKEND_NAMES, KNN_METRICS } from '../../dist/types.js';
import {
  AU_SET_NAMES, CORRELATION_LAYERS, FBG_SOURCES, FUSIONS, GCN_TYPES, GRAPH_KINDS, POOLINGS, SBG_SOURCES, modelConfig,
} from '../../dist/model/index.js';
import { DETECTORS } from '../../dist/face/detect.js';

const test = suite('validation');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.unreachable('did not throw');
}

test('message shape; checkOneOf: TypeError for a non-string, RangeError for an unknown string', () => {
  assert.is(message('k', 'an integer', '"x"'), 'Expected an integer for k but received "x"');
  let e = thrown(() => checkOneOf('options.metric', 'chebyshev', KNN_METRICS));
  assert.instance(e, RangeError);
  assert.is(e.message, 'Expected one of "euclidean", "cosine", "manhattan" for options.metric but received "chebyshev"');
  e = thrown(() => checkOneOf('options.metric', 3, KNN_METRICS));
  assert.instance(e, TypeError);
  assert.is(e.message, 'Expected one of "euclidean", "cosine", "manhattan" for options.metric but received 3');
  assert.is(checkOneOf('options.metric', 'cosine', KNN_METRICS), 'cosine');
});

test('checkSquareMatrix names what is wrong: not an array, the row count, or the first bad row', () => {
  assert.is(thrown(() => checkSquareMatrix('m', null, 2)).message, 'Expected a 2×2 matrix of finite numbers for m but received null');
  assert.is(thrown(() => checkSquareMatrix('m', [[1, 2]], 2, ' (x)')).message, 'Expected a 2×2 matrix of finite numbers (x) for m but received 1 rows');
  assert.is(thrown(() => checkSquareMatrix('m', [[1, 2], [3, NaN]], 2)).message, 'Expected a row of 2 finite numbers for m[1] but received array [3, NaN]');
  assert.is(thrown(() => checkSquareMatrix('m', [[1, 2], [3]], 2)).message, 'Expected a row of 2 finite numbers for m[1] but received array [3]');
  assert.instance(thrown(() => checkSquareMatrix('m', [[1, 2], 'ab'], 2)), RangeError);
  checkSquareMatrix('m', [[1, 2], [3, 4]], 2);
});

test('the CLI speaks the same shape: usageError, and asUsage around a shared check', () => {
  const e = usageError('--fold', '1, 2 or 3', '"4"');
  assert.instance(e, UsageError);
  assert.instance(e, RangeError);
  assert.is(e.message, 'Expected 1, 2 or 3 for --fold but received "4"');
  const wrapped = thrown(() => asUsage(() => checkOneOf('--detector', 'yolo', DETECTORS)));
  assert.instance(wrapped, UsageError);
  assert.is(wrapped.message, 'Expected one of "ssd", "tiny" for --detector but received "yolo"');
});

test('the model config checks each closed set against its constant, accepting every member', () => {
  const sets = [
    ['auSet', AU_SET_NAMES, (v) => ({ auSet: v })],
    ['fusion', FUSIONS, (v) => ({ fusion: v })],
    ['classifier.pooling', POOLINGS, (v) => ({ classifier: { pooling: v } })],
    ['sacl.metric', KNN_METRICS, (v) => ({ sacl: { metric: v } })],
    ['sacl.graph', GRAPH_KINDS, (v) => ({ sacl: { graph: v } })],
    ['sacl.layer', CORRELATION_LAYERS, (v) => ({ sacl: { layer: v } })],
    ['sacl.gcn', GCN_TYPES, (v) => ({ sacl: { gcn: v } })],
    ['sacl.fbg', FBG_SOURCES, (v) => ({ sacl: { fbg: v } })],
    ['sacl.sbg', SBG_SOURCES, (v) => ({ sacl: { sbg: v } })],
  ];
  for (const [field, members, override] of sets) {
    for (const v of members) modelConfig('full', override(v));
    const e = thrown(() => modelConfig('full', override('bogus')));
    assert.instance(e, RangeError, field);
    assert.is(e.message, `Expected one of ${members.map((m) => JSON.stringify(m)).join(', ')} for ${field} but received "bogus"`);
  }
});

test('no source file spells out two members of a closed set again (they are read from the constants)', () => {
  const sets = { KNN_METRICS, BACKEND_NAMES, AU_SET_NAMES, GCN_TYPES, GRAPH_KINDS, CORRELATION_LAYERS, FUSIONS, POOLINGS, SBG_SOURCES, DETECTORS };
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
    }
  };
  walk(join(root, 'src'));
  const found = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const [name, members] of Object.entries(sets)) {
      // two members side by side in a list or a union: 'a', 'b' or 'a' | 'b'
      for (const a of members) {
        for (const b of members) {
          if (a === b) continue;
          const at = text.search(new RegExp(`'${a}'\\s*[,|]\\s*'${b}'`));
          if (at >= 0 && !new RegExp(`export const ${name} = \\[`).test(text)) {
            found.push(`${relative(root, file)}:${text.slice(0, at).split('\n').length}: ${name} ('${a}', '${b}')`);
          }
        }
      }
    }
  }
  assert.equal(found, [], found.join('\n'));
});

test.run();
