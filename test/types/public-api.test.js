/**
 * The package's public face: public-api.ts (the overloads and closed option sets, as a user imports them) compiles
 * against the built declarations with every `@ts-expect-error` line refused, and `sacl-au` exports exactly the
 * names the README documents, no reference-kernel internals; native-addon.ts holds the addon's argument
 * objects to their types the same way.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('public API');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** tsc --noEmit on one of test/types' projects: no error, every `@ts-expect-error` line refused. */
function assertTypeChecks(tsconfig) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', tsconfig)], { encoding: 'utf8' });
  assert.is(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
}

test('public-api.ts type-checks against dist/*.d.ts (tsc --noEmit)', () => assertTypeChecks('tsconfig.json'));

// the addon's raw surface: a misspelt, missing or wrong-typed key of a binding's argument object is a compile error
test('native-addon.ts type-checks against dist/backends/native.d.ts (tsc --noEmit)', () => assertTypeChecks('tsconfig.native.json'));

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
