/**
 * MATLAB values as both MAT readers return them (mat5.ts for Level 5 files, mat73.ts for v7.3/HDF5), in
 * MATLAB's own terms: dims in MATLAB order, elements in column-major order. Numbers are widened to
 * float64 (int64 beyond 2^53 loses precision; the datasets' landmark files hold doubles).
 */

import { float32Landmarks } from '../dataset.js';
import { rangeError } from '../../util/validate.js';

export type MatValue =
  | { kind: 'numeric'; class: string; dims: number[]; data: Float64Array }
  | { kind: 'char'; dims: number[]; text: string }
  | { kind: 'cell'; dims: number[]; items: MatValue[] }
  | { kind: 'struct'; dims: number[]; fields: string[]; elements: Record<string, MatValue>[] };

export const numel = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/**
 * How deep cells and structs may nest in either reader: MATLAB sets no limit, but the datasets' files
 * nest two levels (a struct array of matrices), and reading deeper nesting recursively would exhaust the stack.
 */
export const MAX_NESTING = 64;

/** Text from UTF-16 code units (or, when `points`, Unicode code points), in chunks (one spread of a long array overflows the stack). */
export function textFromCodes(codes: ArrayLike<number>, points: boolean): string {
  const parts: string[] = [];
  for (let i = 0; i < codes.length; i += 4096) {
    const chunk = Array.from({ length: Math.min(4096, codes.length - i) }, (_, k) => codes[i + k]!);
    parts.push(points ? String.fromCodePoint(...chunk) : String.fromCharCode(...chunk));
  }
  return parts.join('');
}

/** A MATLAB class name (Level 5 class codes and v7.3's MATLAB_class attribute share these names). */
export const NUMERIC_CLASSES = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32',
  'int64', 'uint64', 'logical']);

/** `value` as a rows × cols numeric matrix (column-major), or a RangeError naming `where`. */
export function numericMatrix(value: MatValue | undefined, where: string, rows: number, cols: number): Float64Array {
  if (!value) throw rangeError(where, `a numeric ${rows}×${cols} matrix`, 'nothing (missing)');
  if (value.kind !== 'numeric') throw rangeError(where, `a numeric ${rows}×${cols} matrix`, `a ${value.kind}`);
  if (value.dims.length !== 2 || value.dims[0] !== rows || value.dims[1] !== cols) {
    throw rangeError(where, `a ${rows}×${cols} matrix`, value.dims.join('×'));
  }
  return value.data;
}

/** The elements of a struct array's field, in MATLAB's linear order, or a RangeError naming `where`. */
export function structField(value: MatValue | undefined, field: string, where: string): MatValue[] {
  if (!value) throw rangeError(where, 'a struct array', 'nothing (missing)');
  if (value.kind !== 'struct') throw rangeError(where, 'a struct array', `a ${value.kind}`);
  if (!value.fields.includes(field)) throw rangeError(where, `a struct with a field "${field}"`, `one with the fields ${value.fields.join(', ')}`);
  return value.elements.map((e) => e[field]!);
}

export const isEmpty = (value: MatValue) => numel(value.dims) === 0;

/**
 * Landmarks stored MATLAB-style as an n × 2 matrix of 1-based pixel coordinates ([x y] per row) →
 * n interleaved 0-based (x, y) pairs; null for an empty matrix (a frame the tracker lost).
 */
export function landmarksFromMatrix(value: MatValue | undefined, where: string, n: number): Float32Array | null {
  if (value && isEmpty(value)) return null;
  const m = numericMatrix(value, where, n, 2);
  const xy = new Float64Array(2 * n);
  for (let p = 0; p < n; p++) {
    xy[2 * p] = m[p]! - 1;
    xy[2 * p + 1] = m[n + p]! - 1;
  }
  if (xy.some((v) => !Number.isFinite(v))) return null; // NaN or Inf in the file: a frame without landmarks
  return float32Landmarks(xy, where);
}
