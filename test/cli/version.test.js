/**
 * `sacl-au --version` prints package.json's version; the LICENSE file is the licence package.json names;
 * the native tfjs bindings are optional peers pinned to the tfjs version.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const test = suite('sacl-au --version');

test('--version and -v print the version alone', () => {
  for (const flag of ['--version', '-v']) {
    const r = spawnSync(process.execPath, [cli, flag], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, `${pkg.version}\n`);
  }
});

test('LICENSE matches package.json', () => {
  assert.is(pkg.license, 'MIT');
  assert.match(readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8'), /^MIT License\n\nCopyright \(c\) /);
});

test('tfjs-node and tfjs-node-gpu are optional peers at exactly the tfjs version', () => {
  const tfjs = pkg.dependencies['@tensorflow/tfjs'].replace(/^\^/, '');
  for (const name of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    assert.is(pkg.peerDependencies[name], tfjs, name);
    assert.is(pkg.peerDependenciesMeta[name].optional, true, name);
  }
});

test.run();
