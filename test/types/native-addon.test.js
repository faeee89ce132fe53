/**
 * The addon's raw surface is typed so that a misspelt, missing or wrong-typed key of a binding's argument
 * object is a compile error: native-addon.ts compiles against dist/backends/native.d.ts with every
 * `@ts-expect-error` line refused.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('NativeAddon argument objects (types)');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('native-addon.ts type-checks against dist/backends/native.d.ts (tsc --noEmit)', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', 'tsconfig.native.json')], { encoding: 'utf8' });
  assert.is(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});

test.run();
