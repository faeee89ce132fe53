/** `sacl-au info`: the op backends and the tfjs backend, as text and as JSON. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokenAddonAdvice, buildPlace, cudaReason, missingAddonAdvice } from '../../dist/backends/build-advice.js';

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

test('build advice: an installed package gets commands that work there (npm rebuild, npx cmake-js on its own folder, the prebuilds it ships)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sacl-advice-'));
  try {
    const root = join(dir, 'my app', 'node_modules', 'sacl-au');
    for (const p of ['linux-x64', 'darwin-arm64']) mkdirSync(join(root, 'prebuilds', p), { recursive: true });
    const installed = buildPlace(root, 'win32-arm64');
    assert.equal(installed, { root, installed: true, platform: 'win32-arm64', prebuilds: ['darwin-arm64', 'linux-x64'] });
    const missing = missingAddonAdvice(installed);
    assert.match(missing, /not built for this platform \(win32-arm64; prebuilds ship for darwin-arm64, linux-x64\)/);
    assert.ok(missing.includes('`npm rebuild sacl-au` in the project that installed it'), missing);
    assert.ok(missing.includes(`\`npx cmake-js compile --directory '${root}'\``), missing);
    assert.not.match(missing, /npm run build/, 'no npm script of the repository');
    assert.match(brokenAddonAdvice(installed, 'bad ELF'), /failed to load \(bad ELF\); rebuild it with `npm rebuild sacl-au`/);
    const fromAddon = 'this build has no CUDA kernels: rebuild with `npm run build:native` on a machine where nvcc (the CUDA toolkit) is installed';
    assert.match(cudaReason(installed, fromAddon), /rebuild with `npx cmake-js compile --directory .*` \(cmake-js is not installed with sacl-au/);

    const checkout = buildPlace(join(dir, 'sacl-au'), 'linux-x64');
    assert.is(checkout.installed, false);
    assert.match(missingAddonAdvice(checkout), /no prebuilds ship with this copy\): build it with `npm run build:gyp`.*`npm run build:native`/);
    assert.is(cudaReason(checkout, fromAddon), fromAddon);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sacl-au info from a copy installed under node_modules without the addon: the reason names npm rebuild and the package\'s folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sacl-installed-'));
  try {
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    const modules = join(dir, 'node_modules');
    const root = join(modules, 'sacl-au');
    mkdirSync(root, { recursive: true });
    cpSync(join(repo, 'dist'), join(root, 'dist'), { recursive: true });
    cpSync(join(repo, 'package.json'), join(root, 'package.json'));
    // the package's dependencies, as npm would place them beside it
    for (const name of readdirSync(join(repo, 'node_modules'))) if (!name.startsWith('.')) symlinkSync(join(repo, 'node_modules', name), join(modules, name));
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'info', '--json'], { encoding: 'utf8', cwd: tmpdir(),
      env: { ...process.env, SACL_ADDON: '', SACL_NATIVE: '' } });
    assert.is(r.status, 0, r.stderr);
    const { backends } = JSON.parse(r.stdout);
    const cpu = backends.find((b) => b.name === 'cpu');
    assert.is(cpu.available, false);
    assert.ok(cpu.reason.includes('`npm rebuild sacl-au` in the project that installed it'), cpu.reason);
    assert.ok(cpu.reason.includes(`--directory ${root}`), cpu.reason);
    assert.not.match(cpu.reason, /npm run build/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
