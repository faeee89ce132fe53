/**
 * Which backends the comparison suites run on: every available native backend ('cpu', and 'cuda' when
 * present). Without any, the suites still run as self-checks of the reference backend against the tests'
 * own float64 oracles, and one line says the native backend was skipped.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { backends } from '../../dist/index.js';

/** The repository root (test/helpers → ../../). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const infos = backends();

/** Available backends other than the reference, e.g. ['cpu'] or ['cuda', 'cpu']. */
export const nativeBackends = infos.filter((b) => b.name !== 'reference' && b.available).map((b) => b.name);

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

/** The raw N-API addon as node-gyp-build finds it, or { addon: null, reason }. */
export function loadRawAddon() {
  try {
    const load = createRequire(import.meta.url)('node-gyp-build');
    return { addon: load(repoRoot), reason: '' };
  } catch (e) {
    return { addon: null, reason: String(e && e.message ? e.message : e).split('\n')[0] };
  }
}
