/**
 * Which TensorFlow.js backend the library runs on. The native tfjs bindings are optional peers loaded
 * only when installed: @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node (both register 'tensorflow'),
 * then the WebAssembly backend, then the pure-JS 'cpu' backend. A missing or failing option is a reason in
 * the report, never an error. SACL_TF_BACKEND=<name> asks for one backend first. On 'cpu' and 'wasm' the
 * sacl-au kernels (kernels.ts) are registered too.
 */
import * as tf from '@tensorflow/tfjs';
import { debuglog } from 'node:util';
import { registerFastKernels } from './kernels.js';

const log = debuglog('sacl');

export type TfBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfBackendReport {
  /** The tfjs backend now active (tf.getBackend()). */
  active: string;
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
  const wanted = prefer ?? (process.env.SACL_TF_BACKEND as TfBackendName | undefined);
  const order = wanted ? [...CANDIDATES.filter((c) => c.name === wanted), ...CANDIDATES.filter((c) => c.name !== wanted)] : CANDIDATES;
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
  // tfjs-node's kernels are native already; cpu and wasm get the faster / missing ones
  report = { active, candidates, kernels: active === 'cpu' || active === 'wasm' ? registerFastKernels(active) : [] };
  return report;
}
