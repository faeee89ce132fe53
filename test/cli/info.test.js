/** `sacl-au info`: the op backends and the tfjs backend, as text and as JSON. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const test = suite('sacl-au info');

test('--json reports the op backends, the default and the tfjs backend', () => {
  const r = run('info', '--json');
  assert.is(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.backends.map((b) => b.name), ['cuda', 'cpu', 'reference']);
  assert.ok(['cuda', 'cpu', 'reference'].includes(info.default));
  assert.ok(['tensorflow', 'wasm', 'cpu'].includes(info.tfjs.active), info.tfjs.active);
  for (const b of info.backends) if (!b.available) assert.ok(b.reason.length > 0, `${b.name} has no reason`);
});

test('text output names every backend; unknown commands exit 2 with the usage', () => {
  const r = run('info');
  assert.is(r.status, 0, r.stderr);
  for (const name of ['cuda', 'cpu', 'reference', 'tfjs backend:']) assert.match(r.stdout, name);
  const bad = run('frobnicate');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
  assert.match(bad.stderr, /Usage: sacl-au/);
});

test.run();
