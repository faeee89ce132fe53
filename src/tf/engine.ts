/**
 * Which TensorFlow.js backend the library runs on. The native tfjs bindings are optional peers loaded
 * only when installed: @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node (both register 'tensorflow'),
 * then 'cpu' and the WebAssembly backend: 'cpu' first when sacl-au's native addon is loaded (its kernels
 * then run the step on 'cpu'), else wasm first (NATIVE_CPU_BEFORE_WASM switches this). A missing or
 * failing option is a reason in the report, never an error. SACL_TF_BACKEND=<name> asks for one backend
 * first. On 'cpu' and 'wasm' the sacl-au kernels (kernels.ts) are registered too.
 */
import * as tf from '@tensorflow/tfjs';
import { debuglog } from 'node:util';
import { loadNative } from '../backends/native.js';
import { registerFastKernels } from './kernels.js';

const log = debuglog('sacl');

export type TfBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfBackendReport {
  /** The tfjs backend now active (tf.getBackend()). */
  active: string;
  /** Why it is the active one (the order's rule, and which candidates before it were unavailable). */
  reason: string;
  /** Every candidate in preference order; `reason` says why one is not active. */
  candidates: { name: TfBackendName; active: boolean; reason?: string }[];
  /** sacl-au kernels registered on the active backend (replacing slow stock ones or adding missing ones). */
  kernels: string[];
}

interface Candidate {
  name: TfBackendName;
  /** Loads the package (when needed) and returns the tfjs backend name to activate. */
  load: () => Promise<string>;
}

const CANDIDATES: Candidate[] = [
  { name: 'tensorflow-gpu', load: async () => (await import('@tensorflow/tfjs-node-gpu' as string), 'tensorflow') },
  { name: 'tensorflow', load: async () => (await import('@tensorflow/tfjs-node' as string), 'tensorflow') },
  { name: 'wasm', load: async () => (await import('@tensorflow/tfjs-backend-wasm'), 'wasm') },
  { name: 'cpu', load: async () => 'cpu' },
];

/**
 * With the native addon loaded, 'cpu' comes before 'wasm': the addon's multi-threaded kernels run the
 * training step on the cpu backend's own arrays, and 'cpu' has no 4 GB heap (wasm's is 32-bit, too small
 * for the full model at batch 16). Measured with bench/train-step.js on 2 cores: the tiny model's step of
 * 16 takes 196 ms on cpu against 306 on wasm, the full model's 199 ms an image at batch 16 (wasm cannot
 * hold that batch). false puts wasm first again.
 */
export const NATIVE_CPU_BEFORE_WASM = true;

/**
 * The candidates in the order initTf tries them, and the rule that made the order. `wanted` (prefer or
 * SACL_TF_BACKEND, named by `wantedBy`) goes first; then tfjs-node-gpu, tfjs-node, then 'cpu' and 'wasm'
 * ('cpu' first when the addon is loaded and nativeCpuFirst).
 */
export function candidateOrder({ addonError, wanted, wantedBy = 'the caller', nativeCpuFirst = NATIVE_CPU_BEFORE_WASM }:
  { addonError: string | null; wanted?: string | undefined; wantedBy?: string; nativeCpuFirst?: boolean }): { order: TfBackendName[]; rule: string } {
  const cpuFirst = nativeCpuFirst && addonError === null;
  const base: TfBackendName[] = cpuFirst ? ['tensorflow-gpu', 'tensorflow', 'cpu', 'wasm'] : ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  const names = CANDIDATES.map((c) => c.name as string);
  if (wanted !== undefined && names.includes(wanted)) {
    return { order: [wanted as TfBackendName, ...base.filter((n) => n !== wanted)], rule: `asked for by ${wantedBy}` };
  }
  const unknown = wanted !== undefined ? `${wantedBy} asks for unknown '${wanted}' (known: ${names.join(', ')}); ` : '';
  const rule = cpuFirst
    ? 'the native addon is loaded: on \'cpu\' its multi-threaded kernels run the step, with no 4 GB heap cap (wasm\'s heap is 32-bit)'
    : addonError !== null
      ? `the native addon is not loaded (${addonError}): wasm's vectorised kernels beat tfjs-cpu's JavaScript loops`
      : 'wasm before cpu (NATIVE_CPU_BEFORE_WASM is off in src/tf/engine.ts)';
  return { order: base, rule: `${unknown}${rule}` };
}

function why(e: unknown): string {
  const text = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  return /Cannot find (package|module)/.test(text) ? 'not installed' : text;
}

let report: TfBackendReport | undefined;

/**
 * Picks and activates the best available tfjs backend (once; later calls return the same report unless
 * `force`). `prefer` (or SACL_TF_BACKEND) is tried first.
 */
export async function initTf({ prefer, force = false }: { prefer?: TfBackendName; force?: boolean } = {}): Promise<TfBackendReport> {
  if (report && !force) return report;
  const fromEnv = prefer === undefined && process.env.SACL_TF_BACKEND ? process.env.SACL_TF_BACKEND : undefined;
  const native = loadNative();
  const { order: names, rule } = candidateOrder({ addonError: native.addon ? null : native.error, wanted: prefer ?? fromEnv,
    wantedBy: fromEnv ? `SACL_TF_BACKEND=${fromEnv}` : `prefer: '${prefer}'` });
  const order = names.map((n) => CANDIDATES.find((c) => c.name === n)!);
  const candidates: TfBackendReport['candidates'] = [];
  let chosen: string | undefined;
  for (const c of order) {
    if (chosen) {
      candidates.push({ name: c.name, active: false, reason: `not tried: '${chosen}' comes first` });
      continue;
    }
    try {
      const backend = await c.load();
      if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
      chosen = backend;
      candidates.push({ name: c.name, active: true });
    } catch (e) {
      candidates.push({ name: c.name, active: false, reason: why(e) });
      log('tfjs backend %s unavailable: %s', c.name, why(e));
    }
  }
  const active = tf.getBackend();
  const first = candidates.findIndex((c) => c.active);
  const skipped = candidates.slice(0, first).map((c) => `${c.name} (${c.reason})`);
  const winner = candidates[first]?.name;
  // tfjs-node wins by being installed, whatever the cpu/wasm rule says
  const because = winner?.startsWith('tensorflow') && !rule.startsWith('asked for')
    ? `@tensorflow/tfjs-node${winner === 'tensorflow-gpu' ? '-gpu' : ''} is installed: TensorFlow's own native kernels come first` : rule;
  const reason = `${because}${skipped.length ? `; unavailable before it: ${skipped.join(', ')}` : ''}`;
  // tfjs-node's kernels are native already; cpu and wasm get the faster / missing ones
  report = { active, reason, candidates, kernels: active === 'cpu' || active === 'wasm' ? registerFastKernels(active) : [] };
  return report;
}
