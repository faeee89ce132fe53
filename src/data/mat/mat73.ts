/**
 * Reader for MATLAB v7.3 MAT-files (HDF5 after a 512-byte MATLAB header), through h5wasm, loaded only
 * when such a file is met. MATLAB's layout: each variable is a dataset or group carrying a MATLAB_class
 * attribute; HDF5 shapes are MATLAB's dims reversed (so row-major data is MATLAB's column-major order);
 * empty arrays carry MATLAB_empty and store their dims as data; cells are datasets of object
 * references into `#refs#`; a struct is a group whose children are its fields, and in a struct array
 * each field is a reference dataset shaped like the array.
 */
import type { Dataset, Entity, File as H5File, Group, Reference } from 'h5wasm';
import { NUMERIC_CLASSES, numel, type MatValue } from './value.js';

type H5 = typeof import('h5wasm');
let h5: Promise<H5> | undefined;

async function loadH5(): Promise<H5> {
  h5 ??= import('h5wasm/node').then(async (m) => { await m.ready; return m as unknown as H5; });
  return h5;
}

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

  constructor(readonly file: H5File, readonly where: string) {}

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

  deref(ref: Reference, path: string): MatValue {
    const target = this.resolve(ref);
    if (!target) throw new RangeError(`${this.where}: ${path}: a reference that does not resolve`);
    return this.value(target, path);
  }

  references(d: Dataset, path: string): MatValue[] {
    const refs = d.value as Reference[];
    return refs.map((r, i) => this.deref(r, `${path}[${i + 1}]`));
  }

  value(e: Dataset | Group, path: string, fields?: readonly string[]): MatValue {
    const cls = String(attr(e, 'MATLAB_class') ?? (e.type === 'Group' ? 'struct' : 'double'));
    if (e.type === 'Group') return this.struct(e as Group, path, fields);
    const d = e as Dataset;
    if (attr(d, 'MATLAB_empty')) {
      const stored = d.value as ArrayLike<number | bigint> | null;
      const dims = stored ? Array.from(stored, Number) : [0, 0];
      return cls === 'char' ? { kind: 'char', dims, text: '' } : cls === 'cell' ? { kind: 'cell', dims, items: [] }
        : { kind: 'numeric', class: cls, dims, data: new Float64Array(0) };
    }
    const dims = matlabDims(d.shape);
    if (cls === 'cell' || isReferenceDataset(d)) return { kind: 'cell', dims, items: this.references(d, path) };
    const raw = d.value;
    if (cls === 'char') {
      const codes = Array.from(raw as ArrayLike<number>, Number);
      return { kind: 'char', dims, text: String.fromCharCode(...codes) };
    }
    if (!NUMERIC_CLASSES.has(cls)) throw new RangeError(`${this.where}: ${path}: MATLAB class "${cls}" is not supported`);
    const values = typeof raw === 'number' || typeof raw === 'bigint' ? [raw] : Array.from(raw as ArrayLike<number | bigint>);
    const data = Float64Array.from(values, Number);
    if (data.length !== numel(dims)) throw new RangeError(`${this.where}: ${path}: ${data.length} values for dims ${dims.join('×')}`);
    return { kind: 'numeric', class: cls, dims, data };
  }

  struct(g: Group, path: string, only?: readonly string[]): MatValue {
    const fields = only ? g.keys().filter((f) => only.includes(f)) : g.keys();
    const children = new Map(fields.map((f) => [f, g.get(f) as Dataset | Group]));
    // a struct array stores every field as references shaped like the array (never a cell's MATLAB_class)
    const arrayField = [...children.values()].find((c): c is Dataset => c.type === 'Dataset' && isReferenceDataset(c as Dataset)
      && attr(c, 'MATLAB_class') !== 'cell');
    if (!arrayField) {
      const element: Record<string, MatValue> = {};
      for (const [f, c] of children) element[f] = this.value(c, `${path}.${f}`);
      return { kind: 'struct', dims: [1, 1], fields, elements: [element] };
    }
    const dims = matlabDims(arrayField.shape);
    const elements: Record<string, MatValue>[] = Array.from({ length: numel(dims) }, () => ({}));
    for (const [f, c] of children) {
      if (c.type !== 'Dataset' || !isReferenceDataset(c as Dataset)) throw new RangeError(`${this.where}: ${path}.${f}: a struct-array field that is not a reference array`);
      const items = this.references(c as Dataset, `${path}.${f}`);
      if (items.length !== elements.length) throw new RangeError(`${this.where}: ${path}.${f}: ${items.length} elements; the struct array has ${elements.length}`);
      items.forEach((v, i) => { elements[i]![f] = v; });
    }
    return { kind: 'struct', dims, fields, elements };
  }
}

/**
 * The named variables of a v7.3 MAT-file (all of them when `names` is omitted); `fields`, when given,
 * keeps only those fields of struct variables (the others are never read).
 */
export async function readMat73(file: string, names?: readonly string[], fields?: readonly string[]): Promise<Map<string, MatValue>> {
  const { File } = await loadH5();
  let f: H5File;
  try {
    f = new File(file, 'r');
  } catch (e) {
    throw new RangeError(`${file}: not a readable HDF5 (v7.3 MAT) file (${(e as Error).message})`);
  }
  try {
    const conv = new Converter(f, file);
    const out = new Map<string, MatValue>();
    const wanted = names ?? f.keys().filter((k) => !k.startsWith('#'));
    for (const name of wanted) {
      const e = f.get(name) as Dataset | Group | null;
      if (!e) continue;
      out.set(name, conv.value(e, name, fields));
    }
    return out;
  } finally {
    f.close();
  }
}
