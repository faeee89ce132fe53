/**
 * Which backends the comparison suites run on: every available native backend ('cpu', and 'cuda' when
 * present). Without any, the suites still run as self-checks of the reference backend against the tests'
 * own float64 oracles, and one line says the native backend was skipped.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '../../dist/index.js';

/** The repository root (test/helpers → ../../). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const infos = backends();

/** SACL_TEST_BACKENDS=cuda,cpu limits the native backends under test (the emulated-CUDA run tests 'cuda' only). */
const only = process.env.SACL_TEST_BACKENDS ? process.env.SACL_TEST_BACKENDS.split(',') : null;

/** Available backends other than the reference, e.g. ['cpu'] or ['cuda', 'cpu']. */
export const nativeBackends = infos
  .filter((b) => b.name !== 'reference' && b.available && (!only || only.includes(b.name)))
  .map((b) => b.name);

/** Every available backend, reference first: bad-input cases run on each. */
export const availableBackends = ['reference', ...nativeBackends];

/** The backends the comparison suites test: the native ones, or the reference alone when there are none. */
export const targetBackends = nativeBackends.length > 0 ? nativeBackends : ['reference'];

export const isNative = (name) => name !== 'reference';

let noted = false;
function noteSkipped() {
  if (noted || nativeBackends.length > 0) return;
  noted = true;
  const cpu = infos.find((b) => b.name === 'cpu');
  console.log(`[sacl-au tests] native backend skipped (${cpu?.reason ?? 'not reported'}); ` +
    'comparison suites run as reference self-checks');
}

/** Calls fn(name) for every backend under test (see targetBackends). */
export function forEachBackend(fn) {
  noteSkipped();
  for (const name of targetBackends) fn(name);
}

/** The .node files of a local node-gyp build, if any. */
export function localBuilds() {
  const dir = `${repoRoot}build/Release`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => `${dir}/${f}`);
}

/** The raw N-API addon the library loads (SACL_ADDON, else as node-gyp-build finds it), or { addon: null, reason }. */
export function loadRawAddon() {
  try {
    const require = createRequire(import.meta.url);
    if (process.env.SACL_ADDON) return { addon: require(resolve(process.env.SACL_ADDON)), reason: '' };
    return { addon: require('node-gyp-build')(repoRoot), reason: '' };
  } catch (e) {
    return { addon: null, reason: String(e && e.message ? e.message : e).split('\n')[0] };
  }
}
