/**
 * MAT-file writers for test fixtures, written from MathWorks' format descriptions (independent of the
 * readers under test): Level 5 (plain, compressed, either byte order) and v7.3 (HDF5 via h5wasm, in
 * MATLAB's layout, behind a 512-byte MATLAB header). Values: num(dims, data, cls), chr(text),
 * cell(dims, items), struct(dims, fields, elements); data in column-major order.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

export const num = (dims, data, cls = 'double') => ({ kind: 'numeric', cls, dims, data: Array.from(data) });
export const chr = (text) => ({ kind: 'char', dims: [1, text.length], text });
export const cell = (dims, items) => ({ kind: 'cell', dims, items });
export const struct = (dims, fields, elements) => ({ kind: 'struct', dims, fields, elements });

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15 };
const CLASS = { cell: 1, struct: 2, char: 4, double: 6, single: 7, int8: 8, uint8: 9, int16: 10, uint16: 11, int32: 12, uint32: 13 };
const STORAGE = { double: [MI.DOUBLE, 8], single: [MI.SINGLE, 4], int8: [MI.INT8, 1], uint8: [MI.UINT8, 1], int16: [MI.INT16, 2],
  uint16: [MI.UINT16, 2], int32: [MI.INT32, 4], uint32: [MI.UINT32, 4], logical: [MI.UINT8, 1] };

function level5(little) {
  const put = (type, size, values) => {
    const b = Buffer.alloc(values.length * size);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    values.forEach((x, i) => {
      const o = i * size;
      switch (type) {
        case MI.DOUBLE: v.setFloat64(o, x, little); break;
        case MI.SINGLE: v.setFloat32(o, x, little); break;
        case MI.INT8: v.setInt8(o, x); break;
        case MI.UINT8: v.setUint8(o, x); break;
        case MI.INT16: v.setInt16(o, x, little); break;
        case MI.UINT16: v.setUint16(o, x, little); break;
        case MI.INT32: v.setInt32(o, x, little); break;
        default: v.setUint32(o, x, little);
      }
    });
    return b;
  };
  const tag = (a, b) => put(MI.UINT32, 4, [a, b]);
  /** A data element; small ones (≤ 4 bytes) in the packed form, as MATLAB writes them. */
  const element = (type, data, { small = true } = {}) => {
    if (small && data.length <= 4 && data.length > 0) {
      return Buffer.concat([put(MI.UINT32, 4, [(data.length << 16) | type]), data, Buffer.alloc(4 - data.length)]);
    }
    const pad = (8 - (data.length % 8)) % 8;
    return Buffer.concat([tag(type, data.length), data, Buffer.alloc(pad)]);
  };
  const matrix = (name, value) => {
    const cls = value.kind === 'numeric' ? value.cls : value.kind;
    const flags = (cls === 'logical' ? CLASS.uint8 | 0x0200 : CLASS[cls]);
    const parts = [element(MI.UINT32, put(MI.UINT32, 4, [flags, 0])), element(MI.INT32, put(MI.INT32, 4, value.dims)),
      element(MI.INT8, Buffer.from(name, 'ascii'))];
    if (value.kind === 'numeric') {
      const [type, size] = STORAGE[value.cls];
      parts.push(element(type, put(type, size, value.data)));
    } else if (value.kind === 'char') {
      parts.push(element(MI.UINT16, put(MI.UINT16, 2, Array.from(value.text, (c) => c.charCodeAt(0)))));
    } else if (value.kind === 'cell') {
      for (const item of value.items) parts.push(element(MI.MATRIX, matrix('', item), { small: false }));
    } else {
      parts.push(element(MI.INT32, put(MI.INT32, 4, [32])));
      parts.push(element(MI.INT8, Buffer.concat(value.fields.map((f) => Buffer.from(f.padEnd(32, '\0'), 'ascii')))));
      for (const e of value.elements) for (const f of value.fields) parts.push(element(MI.MATRIX, matrix('', e[f]), { small: false }));
    }
    return Buffer.concat(parts);
  };
  return { element, matrix };
}

function header(version, little) {
  const text = Buffer.from('MATLAB 5.0 MAT-file, written by the sacl-au tests'.padEnd(116, ' '), 'ascii');
  const tail = Buffer.alloc(12);
  tail.writeUInt16BE(version, 8);
  tail.write(little ? 'IM' : 'MI', 10, 'ascii');
  return Buffer.concat([text, tail]);
}

/** A Level 5 MAT-file holding `vars` ({ name: value }). */
export function writeMat5(file, vars, { compress = false, bigEndian = false } = {}) {
  const little = !bigEndian;
  const { element, matrix } = level5(little);
  const body = Object.entries(vars).map(([name, v]) => {
    const el = element(MI.MATRIX, matrix(name, v), { small: false });
    if (!compress) return el;
    const z = deflateSync(el);
    const t = Buffer.alloc(8);
    new DataView(t.buffer).setUint32(0, MI.COMPRESSED, little);
    new DataView(t.buffer).setUint32(4, z.length, little);
    return Buffer.concat([t, z]);
  });
  // MATLAB writes the version as 0x0100 in the file's byte order
  const h = header(little ? 0x0001 : 0x0100, little);
  writeFileSync(file, Buffer.concat([h, ...body]));
}

let h5;
async function h5wasm() {
  h5 ??= import('h5wasm/node').then(async (m) => { await m.ready; return m; });
  return h5;
}

/** A v7.3 MAT-file in MATLAB's HDF5 layout; struct arrays store each field as references into #refs#. */
export async function writeMat73(file, vars) {
  const { File } = await h5wasm();
  const tmp = `${file}.h5`;
  const f = new File(tmp, 'w');
  const refs = f.create_group('#refs#');
  let n = 0;
  const reversed = (dims) => dims.slice().reverse();
  // MATLAB writes MATLAB_class as a fixed-length ASCII string
  const matlabClass = (e, cls) => e.create_attribute('MATLAB_class', cls, null, `A${cls.length}`);
  const write = (group, name, v) => {
    if (v.kind === 'numeric') {
      const empty = v.dims.some((d) => d === 0);
      const d = empty
        ? group.create_dataset({ name, data: BigUint64Array.from(v.dims, BigInt), shape: [v.dims.length] })
        : group.create_dataset({ name, data: Float64Array.from(v.data), shape: reversed(v.dims) });
      matlabClass(d, v.cls);
      if (empty) d.create_attribute('MATLAB_empty', 1, null, '<B');
      return d;
    }
    if (v.kind === 'char') {
      const d = group.create_dataset({ name, data: Uint16Array.from(v.text, (c) => c.charCodeAt(0)), shape: reversed(v.dims) });
      matlabClass(d, 'char');
      return d;
    }
    if (v.kind === 'cell') {
      const items = v.items.map((item) => write(refs, `r${n++}`, item).create_reference());
      const d = group.create_dataset({ name, data: items, shape: reversed(v.dims) });
      matlabClass(d, 'cell');
      return d;
    }
    const g = group.create_group(name);
    matlabClass(g, 'struct');
    const scalar = v.dims.every((d) => d === 1);
    for (const field of v.fields) {
      if (scalar) write(g, field, v.elements[0][field]);
      else g.create_dataset({ name: field, data: v.elements.map((e) => write(refs, `r${n++}`, e[field]).create_reference()), shape: reversed(v.dims) });
    }
    return g;
  };
  for (const [name, v] of Object.entries(vars)) write(f, name, v);
  f.close();
  const text = Buffer.from('MATLAB 7.3 MAT-file, written by the sacl-au tests. HDF5 schema 1.00 .'.padEnd(116, ' '), 'ascii');
  const tail = Buffer.alloc(12);
  tail.writeUInt16LE(0x0200, 8);
  tail.write('IM', 10, 'ascii');
  writeFileSync(file, Buffer.concat([text, tail, Buffer.alloc(384), readFileSync(tmp)]));
  rmSync(tmp);
}
