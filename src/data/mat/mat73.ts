/**
 * Reader for MATLAB v7.3 MAT-files (HDF5 after a 512-byte MATLAB header), through h5wasm, loaded only
 * when such a file is met. MATLAB's layout: each variable is a dataset or group carrying a MATLAB_class
 * attribute; HDF5 shapes are MATLAB's dims reversed (so row-major data is MATLAB's column-major order);
 * empty arrays carry MATLAB_empty and store their dims as data; cells are datasets of object
 * references into `#refs#`; a struct is a group whose children are its fields, and in a struct array
 * each field is a reference dataset shaped like the array.
 */
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Dataset, Entity, File as H5File, Group, Reference } from 'h5wasm';
import { MAX_NESTING, NUMERIC_CLASSES, numel, textFromCodes, type MatValue } from './value.js';
import { message } from '../../util/validate.js';

type H5 = typeof import('h5wasm');
let h5: Promise<H5> | undefined;
let instances = 0;

async function loadH5(): Promise<H5> {
  h5 ??= (instances++ === 0 ? import('h5wasm/node') : freshH5()).then(async (m) => { await m.ready; return m as unknown as H5; });
  return h5;
}

/**
 * A new h5wasm instance (its own WebAssembly memory). Once the HDF5 library aborts, every later call on
 * its instance fails, valid files included; a module URL with a query loads the module afresh.
 */
function freshH5(): Promise<H5> {
  return import(`${import.meta.resolve('h5wasm/node')}?instance=${instances}`);
}

/** True when an error is the WebAssembly module's abort (fatal for its instance). */
const isAbort = (e: unknown) => e instanceof Error && (e.name === 'RuntimeError' || /^Aborted\(/.test(e.message));

/** gzip, the filter MATLAB uses, produces at most 1032 bytes per stored byte (deflate's limit). */
const MAX_EXPANSION = 1032;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` holds an HDF5 superblock at one of the offsets HDF5 searches (0, 512, 1024, …). */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

function attr(e: Dataset | Group, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(e.attrs, name) ? e.get_attribute(name, true) : undefined;
}

function matlabDims(shape: number[] | null): number[] {
  const dims = (shape ?? []).slice().reverse();
  if (dims.length === 0) return [1, 1];
  if (dims.length === 1) return [dims[0]!, 1];
  return dims;
}

const isReferenceDataset = (d: Dataset) => d.dtype === 'Reference';

const refKey = (r: Reference) => Buffer.from(r.ref_data).toString('hex');

class Converter {
  /** MATLAB's #refs# objects by reference bytes, built on first use. */
  private refIndex: Map<string, Dataset | Group> | undefined;
  /** Values of references already read (a reference met again is not read again), by reference bytes. */
  private readonly done = new Map<string, MatValue>();
  /** References being read now: meeting one again is a cycle. */
  private readonly open = new Set<string>();

  /** `maxBytes`: the most data the file can hold (its size × the gzip expansion bound). */
  constructor(readonly file: H5File, readonly where: string, readonly maxBytes: number) {}

  // HDF5 names a dereferenced object by searching the file for it, so h5wasm's dereference costs
  // O(objects) each (16 ms apiece on a 1 500-frame BP4D file: 94 s per file). References made from
  // #refs#'s own children are the same bytes, so one pass over #refs# resolves them all (0.4 s).
  private resolve(ref: Reference): Dataset | Group | null {
    if (!this.refIndex) {
      this.refIndex = new Map();
      const refs = this.file.get('#refs#') as Group | null;
      if (refs && refs.type === 'Group') {
        for (const name of refs.keys()) {
          const e = refs.get(name) as Dataset | Group | null;
          if (e && (e.type === 'Dataset' || e.type === 'Group')) this.refIndex.set(refKey(e.create_reference()), e);
        }
      }
    }
    const known = this.refIndex.get(refKey(ref));
    if (known) return known;
    const target = this.file.dereference(ref) as unknown as Entity | null; // outside #refs#: the slow way
    return target && 'attrs' in target ? target as Dataset | Group : null;
  }

  deref(ref: Reference, path: string, depth: number): MatValue {
    const key = refKey(ref);
    const known = this.done.get(key);
    if (known) return known;
    if (this.open.has(key)) throw new RangeError(`${this.where}: ${path}: a reference to an array that contains it`);
    const target = this.resolve(ref);
    if (!target) throw new RangeError(`${this.where}: ${path}: a reference that does not resolve`);
    this.open.add(key);
    try {
      const v = this.value(target, path, depth);
      this.done.set(key, v);
      return v;
    } finally {
      this.open.delete(key);
    }
  }

  references(d: Dataset, path: string, depth: number): MatValue[] {
    if (depth >= MAX_NESTING) throw new RangeError(`${this.where}: ${path}: cells and structs nested deeper than ${MAX_NESTING} levels`);
    const refs = this.read(d, path);
    if (!Array.isArray(refs) || !refs.every((r) => r && typeof r === 'object' && 'ref_data' in r)) {
      throw new RangeError(`${this.where}: ${message(path, 'object references', typeof refs)}`);
    }
    return (refs as Reference[]).map((r, i) => this.deref(r, `${path}[${i + 1}]`, depth + 1));
  }

  /** A dataset's values, after checking the file can hold them. */
  read(d: Dataset, path: string): unknown {
    const bytes = numel(d.shape ?? []) * (d.metadata.size || 1);
    if (!(bytes <= this.maxBytes)) throw new RangeError(`${this.where}: ${path}: a dataset of shape [${(d.shape ?? []).join(', ')}] (${bytes} bytes) in a file that holds at most ${this.maxBytes}`);
    return d.value;
  }

  value(e: Dataset | Group, path: string, depth = 0, fields?: readonly string[]): MatValue {
    const cls = String(attr(e, 'MATLAB_class') ?? (e.type === 'Group' ? 'struct' : 'double'));
    if (e.type === 'Group') return this.struct(e as Group, path, depth, fields);
    const d = e as Dataset;
    if (attr(d, 'MATLAB_empty')) {
      const stored = this.read(d, path) as ArrayLike<number | bigint> | null;
      const dims = stored ? Array.from(stored, Number) : [0, 0];
      return cls === 'char' ? { kind: 'char', dims, text: '' } : cls === 'cell' ? { kind: 'cell', dims, items: [] }
        : { kind: 'numeric', class: cls, dims, data: new Float64Array(0) };
    }
    const dims = matlabDims(d.shape);
    if (cls === 'cell' || isReferenceDataset(d)) return { kind: 'cell', dims, items: this.references(d, path, depth) };
    const raw = this.read(d, path);
    if (cls === 'char') {
      const codes = typeof raw === 'number' ? [raw] : Array.from(raw as ArrayLike<number>, Number);
      return { kind: 'char', dims, text: textFromCodes(codes.map((c) => c & 0xffff), false) };
    }
    if (!NUMERIC_CLASSES.has(cls)) throw new RangeError(`${this.where}: ${path}: MATLAB class "${cls}" is not supported`);
    const values = typeof raw === 'number' || typeof raw === 'bigint' ? [raw] : Array.from(raw as ArrayLike<number | bigint>);
    const data = Float64Array.from(values, Number);
    if (data.length !== numel(dims)) throw new RangeError(`${this.where}: ${path}: ${data.length} values for dims ${dims.join('×')}`);
    return { kind: 'numeric', class: cls, dims, data };
  }

  struct(g: Group, path: string, depth: number, only?: readonly string[]): MatValue {
    if (depth >= MAX_NESTING) throw new RangeError(`${this.where}: ${path}: cells and structs nested deeper than ${MAX_NESTING} levels`);
    const fields = only ? g.keys().filter((f) => only.includes(f)) : g.keys();
    const children = new Map(fields.map((f) => [f, this.child(g, f, `${path}.${f}`)]));
    // a struct array stores every field as references shaped like the array (never a cell's MATLAB_class)
    const arrayField = [...children.values()].find((c): c is Dataset => c.type === 'Dataset' && isReferenceDataset(c as Dataset)
      && attr(c, 'MATLAB_class') !== 'cell');
    if (!arrayField) {
      const element: Record<string, MatValue> = {};
      for (const [f, c] of children) element[f] = this.value(c, `${path}.${f}`, depth + 1);
      return { kind: 'struct', dims: [1, 1], fields, elements: [element] };
    }
    const dims = matlabDims(arrayField.shape);
    const elements: Record<string, MatValue>[] = Array.from({ length: numel(dims) }, () => ({}));
    for (const [f, c] of children) {
      if (c.type !== 'Dataset' || !isReferenceDataset(c as Dataset)) throw new RangeError(`${this.where}: ${path}.${f}: a struct-array field that is not a reference array`);
      const items = this.references(c as Dataset, `${path}.${f}`, depth);
      if (items.length !== elements.length) throw new RangeError(`${this.where}: ${path}.${f}: ${items.length} elements; the struct array has ${elements.length}`);
      items.forEach((v, i) => { elements[i]![f] = v; });
    }
    return { kind: 'struct', dims, fields, elements };
  }

  /** A group's member `name`: a dataset or a group, or a RangeError naming `path`. */
  child(g: Group, name: string, path: string): Dataset | Group {
    const e = g.get(name) as { type?: string } | null;
    if (!e || (e.type !== 'Dataset' && e.type !== 'Group')) throw new RangeError(`${this.where}: ${message(path, 'a dataset or a group', e?.type ?? 'nothing')}`);
    return e as Dataset | Group;
  }
}

/**
 * The named variables of a v7.3 MAT-file (all of them when `names` is omitted); `fields`, when given,
 * keeps only those fields of struct variables (the others are never read). Every failure is a
 * RangeError naming the file.
 *
 * The read runs in a worker thread (mat73-worker.ts), one file at a time: HDF5 can loop without end on
 * corrupt metadata (a damaged attribute table, a looping B-tree) where no JavaScript check can reach,
 * so a read that has not answered within `SACL_MAT73_TIMEOUT_MS` (default 30 s, plus 10 s per MB of
 * file) stops the worker and is refused; the next read starts a new one.
 */
export function readMat73(file: string, names?: readonly string[], fields?: readonly string[]): Promise<Map<string, MatValue>> {
  const run = queue.then(() => readInWorker(file, names, fields));
  queue = run.catch(() => undefined);
  return run;
}

let queue: Promise<unknown> = Promise.resolve();
let worker: Worker | undefined;

function timeoutMs(file: string): number {
  const set = Number(process.env.SACL_MAT73_TIMEOUT_MS);
  if (Number.isFinite(set) && set > 0) return set;
  let mb = 0;
  try { mb = statSync(file).size / 1e6; } catch { /* the worker names the missing file */ }
  return 30_000 + 10_000 * mb;
}

function readInWorker(file: string, names?: readonly string[], fields?: readonly string[]): Promise<Map<string, MatValue>> {
  // (without the parent's --input-type, which a worker started from a file refuses)
  const w = worker ??= new Worker(new URL('./mat73-worker.js', import.meta.url), { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) });
  const ms = timeoutMs(file);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      w.off('message', onMessage).off('error', onError).off('exit', onExit);
      w.unref();
    };
    const drop = () => { if (worker === w) worker = undefined; };
    const onMessage = (m: { entries?: [string, MatValue][]; error?: string }) => {
      done();
      if (m.entries) resolve(new Map(m.entries));
      else reject(new RangeError(m.error));
    };
    const onError = (e: Error) => { done(); drop(); reject(new RangeError(`${file}: the v7.3 reader failed (${e.message})`, { cause: e })); };
    const onExit = (code: number) => { done(); drop(); reject(new RangeError(`${file}: the v7.3 reader stopped (exit code ${code})`)); };
    const timer = setTimeout(() => {
      done();
      drop();
      void w.terminate();
      reject(new RangeError(`${file}: not a readable v7.3 MAT-file (HDF5 gave no answer within ${Math.round(ms)} ms; corrupt metadata can make it loop)`));
    }, ms);
    w.ref();
    w.on('message', onMessage).on('error', onError).on('exit', onExit);
    w.postMessage({ file, names, fields });
  });
}

/**
 * What {@link readMat73} does, in this thread (the worker calls it). The HDF5 file is closed on every
 * path; when the HDF5 library has trapped or aborted (on an earlier file or on this one), the read is
 * tried once more on a fresh instance.
 */
export async function readMat73InThread(file: string, names?: readonly string[], fields?: readonly string[]): Promise<Map<string, MatValue>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return readWith(await loadH5(), file, names, fields);
    } catch (e) {
      if (!isAbort((e as Error).cause)) throw e;
      h5 = undefined; // an aborted instance fails every later call
      if (attempt > 0) throw e;
    }
  }
}

function readWith({ File }: H5, file: string, names?: readonly string[], fields?: readonly string[]): Map<string, MatValue> {
  let f: H5File;
  try {
    f = new File(file, 'r');
  } catch (e) {
    throw failure(file, 'not a readable HDF5 (v7.3 MAT) file', e);
  }
  try {
    const conv = new Converter(f, file, statSync(file).size * MAX_EXPANSION);
    const out = new Map<string, MatValue>();
    const keys = f.keys();
    for (const name of names ?? keys.filter((k) => !k.startsWith('#'))) {
      if (keys.includes(name)) out.set(name, conv.value(conv.child(f, name, name), name, 0, fields));
    }
    return out;
  } catch (e) {
    throw e instanceof RangeError && e.message.startsWith(`${file}: `) ? e : failure(file, 'not a readable v7.3 MAT-file', e);
  } finally {
    try {
      f.close();
    } catch { /* an aborted instance: it is dropped */ }
  }
}

/** `e` (from h5wasm, or from reading what it returned) as a RangeError naming the file, `e` its cause. */
function failure(file: string, what: string, e: unknown): RangeError {
  const text = e instanceof Error ? e.message : String(e);
  return new RangeError(`${file}: ${what} (${text.split('\n')[0]})`, { cause: e });
}
