/**
 * Which backends exist, which one runs by default, and the fallback order CUDA → native CPU → reference.
 * SACL_BACKEND=<name> picks the default at start-up (ignored, with a debuglog line, when unavailable).
 */
import { debuglog } from 'node:util';
import { BACKEND_NAMES, type BackendInfo, type BackendName } from '../types.js';
import type { OpsBackend } from './backend.js';
import { DEVICE_CPU, DEVICE_CUDA, addonPlace, loadNative, nativeBackend } from './native.js';
import { cudaReason } from './build-advice.js';
import { referenceBackend } from './reference/index.js';
import { checkInteger, checkOneOf } from '../util/validate.js';

const log = debuglog('sacl');
/** The fastest first (BACKEND_NAMES runs from the oracle to the fastest). */
const PREFERENCE: readonly BackendName[] = [...BACKEND_NAMES].reverse();

let instances: Map<BackendName, OpsBackend> | undefined;
let defaultName: BackendName | undefined;

function available(): Map<BackendName, OpsBackend> {
  if (instances) return instances;
  instances = new Map([['reference', referenceBackend]]);
  const { addon } = loadNative();
  if (addon) {
    instances.set('cpu', nativeBackend(addon, DEVICE_CPU));
    if (addon.info().cuda.available) instances.set('cuda', nativeBackend(addon, DEVICE_CUDA));
  }
  return instances;
}

/** Every backend with whether it is compiled and usable, and why not. */
export function backends(): BackendInfo[] {
  const { addon, error } = loadNative();
  const info = addon?.info();
  const reference: BackendInfo = { name: 'reference', compiled: true, available: true };
  const cpu: BackendInfo = info
    ? { name: 'cpu', compiled: true, available: true, threads: info.threads, isa: info.isa,
      malloc: info.malloc }
    : { name: 'cpu', compiled: false, available: false, reason: error };
  let cuda: BackendInfo;
  if (!info) cuda = { name: 'cuda', compiled: false, available: false, reason: error };
  else if (!info.cuda.compiled) cuda = { name: 'cuda', compiled: false, available: false, reason: cudaReason(addonPlace(), info.cuda.reason) };
  else if (!info.cuda.available) cuda = { name: 'cuda', compiled: true, available: false, reason: info.cuda.reason };
  else cuda = { name: 'cuda', compiled: true, available: true, devices: info.cuda.devices };
  return [cuda, cpu, reference];
}

/** The name of the backend ops run on when no `backend` option is given. */
export function getDefaultBackend(): BackendName {
  if (defaultName) return defaultName;
  const have = available();
  const wanted = process.env.SACL_BACKEND as BackendName | undefined;
  if (wanted && have.has(wanted)) defaultName = wanted;
  else {
    if (wanted) log('SACL_BACKEND=%s is not available; using the best available backend', wanted);
    defaultName = PREFERENCE.find((n) => have.has(n))!;
  }
  return defaultName;
}

/** Make `name` the default backend; throws when it is not available here. */
export function setDefaultBackend(name: BackendName): void {
  checkOneOf('name', name, BACKEND_NAMES);
  resolveBackend(name);
  defaultName = name;
}

/** The backend an op runs on: the named one (which must be available) or the default. */
export function resolveBackend(name?: BackendName): OpsBackend {
  if (name === undefined) return available().get(getDefaultBackend())!;
  checkOneOf('options.backend', name, BACKEND_NAMES);
  const backend = available().get(name);
  if (!backend) {
    const why = backends().find((b) => b.name === name)?.reason ?? 'unknown reason';
    throw new Error(`The '${name}' backend is not available: ${why}`);
  }
  return backend;
}

/** Threads the native CPU kernels use (default: the machine's cores, or SACL_NUM_THREADS). */
export function setNumThreads(n: number): void {
  checkInteger('n', n, 1, 1024);
  const { addon, error } = loadNative();
  if (!addon) throw new Error(`The native addon is not available: ${error}`);
  addon.setNumThreads(n);
}
