/**
 * Reader for MATLAB Level 5 MAT-files (MATLAB 5 – 7.x `save`, scipy's `savemat`): the 128-byte header,
 * then data elements, each a matrix or a zlib-compressed matrix (v7). Numeric, logical, char, cell and
 * struct arrays are read (objects as structs); sparse arrays and function handles are refused with the
 * variable's name. Follows MathWorks' "MAT-File Format" (Level 5) description; either byte order.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { MAX_NESTING, numel, textFromCodes, type MatValue } from './value.js';
import { rangeError } from '../../util/validate.js';

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13,
  MATRIX: 14, COMPRESSED: 15, UTF8: 16, UTF16: 17, UTF32: 18 } as const;
const ELEMENT_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4 };
/** mxCLASS codes → MATLAB class names. */
/** deflate's densest output is 1032 bytes per input byte (RFC 1951 length codes: 258 bytes per 2 bits). */
const DEFLATE_MAX_RATIO = 1032;
/** Every nested element starts with an 8-byte tag, so an element of n bytes holds at most n / 8 of them. */
const TAG_BYTES = 8;
const CLASS_NAMES: Record<number, string> = { 1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double',
  7: 'single', 8: 'int8', 9: 'uint8', 10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64',
  16: 'function_handle' };

class Cursor {
  constructor(readonly view: DataView, readonly little: boolean, readonly file: string, public pos = 0) {}

  get done(): boolean { return this.pos >= this.view.byteLength; }

  fail(what: string): never {
    throw new RangeError(`${this.file}: not a readable MAT-file (${what} at byte ${this.pos})`);
  }

  /** A part of an array element that holds what the format does not allow (the position counts from that element's data). */
  wrong(part: string, expected: string, actual: string): never {
    throw rangeError(`${part} in the MAT-file ${this.file} (byte ${this.pos} of the array element holding it)`, expected, actual);
  }

  /** The next data element's type, byte count and the cursor over its data; moves past it (and its padding). */
  element(): { type: number; data: Cursor } {
    if (this.pos + 8 > this.view.byteLength) this.fail('truncated element tag');
    const first = this.view.getUint32(this.pos, this.little);
    let type: number;
    let bytes: number;
    let start: number;
    if (first >>> 16 !== 0) { // small data element: type and size packed in 4 bytes, data in the next 4
      type = first & 0xffff;
      bytes = first >>> 16;
      start = this.pos + 4;
      if (bytes > 4) this.fail('small element longer than 4 bytes');
      this.pos += 8;
    } else {
      type = first;
      bytes = this.view.getUint32(this.pos + 4, this.little);
      start = this.pos + 8;
      if (start + bytes > this.view.byteLength) this.fail(`element of ${bytes} bytes past the end`);
      this.pos = start + (type === MI.COMPRESSED ? bytes : Math.ceil(bytes / 8) * 8);
    }
    const view = new DataView(this.view.buffer, this.view.byteOffset + start, bytes);
    return { type, data: new Cursor(view, this.little, this.file) };
  }

  /** The whole of this cursor's bytes as numbers of mi type `type`. */
  numbers(type: number): Float64Array {
    const size = ELEMENT_BYTES[type];
    if (!size || type === MI.UTF8 || type === MI.UTF16 || type === MI.UTF32) this.fail(`numeric data of type ${type}`);
    const n = Math.floor(this.view.byteLength / size);
    const out = new Float64Array(n);
    const v = this.view;
    const le = this.little;
    for (let i = 0; i < n; i++) {
      const o = i * size;
      switch (type) {
        case MI.INT8: out[i] = v.getInt8(o); break;
        case MI.UINT8: out[i] = v.getUint8(o); break;
        case MI.INT16: out[i] = v.getInt16(o, le); break;
        case MI.UINT16: out[i] = v.getUint16(o, le); break;
        case MI.INT32: out[i] = v.getInt32(o, le); break;
        case MI.UINT32: out[i] = v.getUint32(o, le); break;
        case MI.SINGLE: out[i] = v.getFloat32(o, le); break;
        case MI.DOUBLE: out[i] = v.getFloat64(o, le); break;
        case MI.INT64: out[i] = Number(v.getBigInt64(o, le)); break;
        default: out[i] = Number(v.getBigUint64(o, le)); break;
      }
    }
    return out;
  }

  text(type: number): string {
    const bytes = new Uint8Array(this.view.buffer, this.view.byteOffset, this.view.byteLength);
    if (type === MI.UTF8 || type === MI.INT8 || type === MI.UINT8) return new TextDecoder().decode(bytes).replace(/\0+$/, '');
    if (type === MI.UTF32) {
      const points = this.numbers(MI.UINT32);
      const bad = points.findIndex((p) => p > 0x10ffff);
      if (bad >= 0) this.fail(`UTF-32 code point ${points[bad]} beyond U+10FFFF`);
      return textFromCodes(points, true);
    }
    return textFromCodes(this.numbers(type === MI.UTF16 ? MI.UINT16 : type), false);
  }
}

/**
 * One array (the body of a miMATRIX element); null when `want` refuses its name (the rest of it is not read).
 * `depth` counts the cells and structs around it.
 */
function readMatrix(c: Cursor, depth: number, name?: string, want?: (name: string) => boolean): { name: string; value: MatValue } | null {
  if (c.done) return { name: name ?? '', value: { kind: 'numeric', class: 'double', dims: [0, 0], data: new Float64Array(0) } };
  const flags = c.element();
  if (flags.type !== MI.UINT32 || flags.data.view.byteLength < 8) c.fail('array flags');
  const word = flags.data.view.getUint32(0, c.little);
  const classCode = word & 0xff;
  const logical = (word & 0x0200) !== 0;
  const complex = (word & 0x0800) !== 0;
  const dimsEl = c.element();
  const dims = Array.from(dimsEl.data.numbers(dimsEl.type));
  const nameEl = c.element();
  const varName = name ?? nameEl.data.text(nameEl.type);
  if (want && !want(varName)) return null;
  const className = CLASS_NAMES[classCode];
  if (!className) c.fail(`unknown array class ${classCode}`);
  if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 0)) c.wrong('the dims of an array', 'two or more integers ≥ 0', `[${dims.join(', ')}]`);
  const count = numel(dims);
  const where = `${c.file}: ${varName || 'an element'}`;
  if (className === 'sparse' || className === 'function_handle') {
    throw new RangeError(`${where}: ${className} arrays are not supported`);
  }
  if (className === 'char') {
    const d = c.element();
    return { name: varName, value: { kind: 'char', dims, text: d.data.text(d.type) } };
  }
  if ((className === 'cell' || className === 'struct' || className === 'object') && depth >= MAX_NESTING) {
    throw new RangeError(`${where}: cells and structs nested deeper than ${MAX_NESTING} levels`);
  }
  const left = () => c.view.byteLength - c.pos;
  if (className === 'cell') {
    if (count > left() / TAG_BYTES) c.fail(`a cell array of ${count} elements in ${left()} bytes`);
    const items: MatValue[] = [];
    for (let i = 0; i < count; i++) items.push(matrixElement(c, depth + 1));
    return { name: varName, value: { kind: 'cell', dims, items } };
  }
  if (className === 'struct' || className === 'object') {
    if (className === 'object') c.element(); // the class name
    const lenEl = c.element();
    const nameLength = lenEl.data.numbers(lenEl.type)[0];
    const namesEl = c.element();
    const raw = new Uint8Array(namesEl.data.view.buffer, namesEl.data.view.byteOffset, namesEl.data.view.byteLength);
    if (raw.length > 0 && !(Number.isInteger(nameLength) && nameLength! >= 1 && nameLength! <= raw.length)) {
      c.wrong('the field-name length of a struct', `an integer from 1 to ${raw.length} (the bytes of its field names)`, String(nameLength));
    }
    const fields: string[] = [];
    for (let o = 0; raw.length > 0 && o + nameLength! <= raw.length; o += nameLength!) {
      fields.push(new TextDecoder().decode(raw.subarray(o, o + nameLength!)).replace(/\0.*$/s, ''));
    }
    // a struct array without fields stores nothing per element: bound its count by its own bytes
    const backed = fields.length ? left() / (TAG_BYTES * fields.length) : c.view.byteLength;
    if (count > backed) c.fail(`a struct array of ${count} elements with ${fields.length} fields in ${left()} bytes`);
    const elements: Record<string, MatValue>[] = [];
    for (let i = 0; i < count; i++) {
      const e: Record<string, MatValue> = {};
      for (const f of fields) e[f] = matrixElement(c, depth + 1);
      elements.push(e);
    }
    return { name: varName, value: { kind: 'struct', dims, fields, elements } };
  }
  const real = c.element();
  const data = real.data.numbers(real.type);
  if (complex) c.element(); // the imaginary part: landmark files are real, so it is dropped
  if (data.length !== count) throw new RangeError(`${where}: ${data.length} values for dims ${dims.join('×')}`);
  return { name: varName, value: { kind: 'numeric', class: logical ? 'logical' : className, dims, data } };
}

/** A nested array (cell item or struct field): a miMATRIX element, possibly empty. */
function matrixElement(c: Cursor, depth: number): MatValue {
  const el = c.element();
  if (el.type !== MI.MATRIX) c.wrong('a cell item or struct field', `an array (element type ${MI.MATRIX})`, `element type ${el.type}`);
  return readMatrix(el.data, depth, '')!.value;
}

/**
 * The data of a miCOMPRESSED element: one data element, inflated to no more than its tag declares (the
 * tag is read from a first, partial inflate) and no more than deflate can produce from the stored bytes.
 */
function inflate(data: Cursor, file: string, little: boolean): Buffer {
  const input = new Uint8Array(data.view.buffer, data.view.byteOffset, data.view.byteLength);
  let limit = Math.min(bufferConstants.MAX_LENGTH, DEFLATE_MAX_RATIO * input.length + 64);
  try {
    const head = inflateSync(input.subarray(0, 1024), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: limit });
    if (head.length >= 8) {
      const tag = new DataView(head.buffer, head.byteOffset, 8);
      const first = tag.getUint32(0, little);
      const declared = first >>> 16 !== 0 ? 4 : tag.getUint32(4, little);
      limit = Math.min(limit, 8 + Math.ceil(declared / 8) * 8);
    }
    return inflateSync(input, { maxOutputLength: limit });
  } catch (e) {
    const past = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new RangeError(`${file}: a compressed variable ${past ? `inflates past the ${limit} bytes its element declares` : 'does not inflate'} (${(e as Error).message})`);
  }
}

/** True when `bytes` starts with a Level 5 MAT-file header. */
export function isMat5(bytes: Uint8Array): boolean {
  if (bytes.length < 128) return false;
  const v = (bytes[126]! << 8) | bytes[127]!;
  return (v === 0x494d || v === 0x4d49) && new TextDecoder().decode(bytes.subarray(0, 6)) === 'MATLAB';
}

/**
 * The variables of a Level 5 MAT-file by name (only those in `names`, when given: the others are skipped
 * unread after their name); `file` names it in errors.
 */
export function readMat5(bytes: Uint8Array, file: string, names?: readonly string[]): Map<string, MatValue> {
  if (!isMat5(bytes)) throw new RangeError(`${file}: not a Level 5 MAT-file (no "MATLAB" header with an IM/MI byte-order mark)`);
  const little = bytes[126] === 0x49; // 'IM' as written by a little-endian machine
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = new Cursor(view, little, file, 128);
  const want = names ? (n: string) => names.includes(n) : undefined;
  const out = new Map<string, MatValue>();
  while (!top.done) {
    if (top.pos + 8 > view.byteLength) break; // trailing padding
    const el = top.element();
    let body = el.data;
    let type = el.type;
    if (type === MI.COMPRESSED) {
      const inflated = inflate(body, file, little);
      const inner = new Cursor(new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength), little, file).element();
      body = inner.data;
      type = inner.type;
    }
    if (type !== MI.MATRIX) continue; // not an array (MAT-files may hold other top-level elements)
    const read = readMatrix(body, 0, undefined, want);
    if (read) out.set(read.name, read.value);
  }
  return out;
}
