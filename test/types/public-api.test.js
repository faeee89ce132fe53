/**
 * The package's public face: public-api.ts (the overloads and closed option sets, as a user imports them) compiles
 * against the built declarations with every `@ts-expect-error` line refused, and `sacl-au` exports exactly the
 * names the README documents, no reference-kernel internals.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('public API');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('public-api.ts type-checks against dist/*.d.ts (tsc --noEmit)', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.is(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});

test('sacl-au exports the ops, the backend controls and the closed sets, nothing else', async () => {
  const lib = await import('../../dist/index.js');
  assert.equal(Object.keys(lib).sort(), [
    'BACKEND_NAMES', 'KNN_METRICS', 'backends', 'getDefaultBackend', 'knnGraph', 'knnGraphAsync', 'maxRelative', 'maxRelativeAsync',
    'maxRelativeGrad', 'maxRelativeGradAsync', 'roiAlign', 'roiAlignAsync', 'roiAlignGrad', 'roiAlignGradAsync', 'setDefaultBackend',
    'setNumThreads',
  ]);
  assert.equal(lib.KNN_METRICS, ['euclidean', 'cosine', 'manhattan']);
  assert.equal(lib.BACKEND_NAMES, ['reference', 'cpu', 'cuda']);
  assert.equal(lib.backends().map((b) => b.name).sort(), [...lib.BACKEND_NAMES].sort());
});

test.run();
