/** `sacl-au info`: the op backends and the tfjs backend, as text and as JSON. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
/** The cpu entry of `info --json` in a child whose environment is changed by `env` (undefined deletes). */
function cpuInfoWith(env) {
  const childEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k]; else childEnv[k] = v;
  const r = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8', env: childEnv });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).backends.find((b) => b.name === 'cpu');
}
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

test('the addon pins glibc malloc thresholds on load, unless opted out or malloc is tuned by the environment', () => {
  const clean = { SACL_MALLOC_TUNING: undefined, MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined,
    MALLOC_MMAP_MAX_: undefined, MALLOC_TOP_PAD_: undefined,
    GLIBC_TUNABLES: undefined };
  const cpu = cpuInfoWith(clean);
  if (!cpu.available) return; // no native build: nothing is tuned (the addon suite covers the reason)
  const glibc = Boolean(process.report.getReport().header.glibcVersionRuntime);
  if (glibc) assert.is(cpu.malloc, 'glibc: no per-block mmap, trim threshold 1 GiB, top pad 64 MiB');
  else assert.is(cpu.malloc, 'off (not glibc)');
  if (!glibc) return;
  assert.is(cpuInfoWith({ ...clean, SACL_MALLOC_TUNING: '0' }).malloc, 'off (SACL_MALLOC_TUNING=0)');
  assert.is(cpuInfoWith({ ...clean, MALLOC_TRIM_THRESHOLD_: '1048576' }).malloc, 'off (malloc is tuned by the environment)');
  assert.is(cpuInfoWith({ ...clean, MALLOC_MMAP_MAX_: '0' }).malloc, 'off (malloc is tuned by the environment)');
  assert.is(cpuInfoWith({ ...clean, GLIBC_TUNABLES: 'glibc.malloc.mmap_max=8' }).malloc, 'off (malloc is tuned by the environment)');
  assert.is(cpuInfoWith({ ...clean, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' }).malloc,
    'off (malloc is tuned by the environment)');
  assert.is(cpuInfoWith({ ...clean, GLIBC_TUNABLES: 'glibc.pthread.rseq=0' }).malloc,
    'glibc: no per-block mmap, trim threshold 1 GiB, top pad 64 MiB', 'unrelated tunables leave the tuning on');
});

test.run();
