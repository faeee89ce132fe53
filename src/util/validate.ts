/**
 * Argument validation for the whole library (ops, backends, model, data, CLI): one message shape,
 * "Expected <what> for <name> but received <what>", TypeError for wrong kinds, RangeError for wrong values.
 * It imports nothing but types, so any layer may use it. The native addon re-checks whatever could corrupt
 * memory, in the same words.
 */
import type { Float32Tensor, Int32Tensor } from '../types.js';

/** Largest element count (and largest dimension) any tensor may have: indices are int32. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `array [${value.slice(0, 8).map(describe).join(', ')}${value.length > 8 ? ', …' : ''}]`;
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'function') return 'function';
  return (value as object).constructor?.name ?? 'object';
}

export function message(name: string, expected: string, actual: string): string {
  return `Expected ${expected} for ${name} but received ${actual}`;
}

/** actual: a value (described here, strings quoted) or, when it is a string, text already written for the message. */
export function typeError(name: string, expected: string, actual: unknown): TypeError {
  return new TypeError(message(name, expected, typeof actual === 'string' ? actual : describe(actual)));
}

export function rangeError(name: string, expected: string, actual: unknown): RangeError {
  return new RangeError(message(name, expected, typeof actual === 'string' ? actual : describe(actual)));
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** An integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max = MAX_ELEMENTS): number {
  if (typeof value !== 'number') throw typeError(name, 'an integer', describe(value));
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(name, `an integer between ${min} and ${max}`, describe(value));
  }
  return value;
}

/** A finite number strictly greater than zero. */
export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(name, 'a positive number', describe(value));
  if (!Number.isFinite(value) || value <= 0) throw rangeError(name, 'a finite number > 0', describe(value));
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean', describe(value));
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    const expected = `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
    if (typeof value !== 'string') throw typeError(name, expected, describe(value));
    throw rangeError(name, expected, describe(value));
  }
  return value as T;
}

/** An options argument: undefined (→ {}) or a plain object. */
export function checkOptions<T extends object>(name: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(name, 'an options object', describe(value));
  return value;
}

type ArrayCtor = Float32ArrayConstructor | Int32ArrayConstructor;

function checkTensor(name: string, t: unknown, ctor: ArrayCtor, dims: readonly string[]): number[] {
  if (t === null || typeof t !== 'object' || ArrayBuffer.isView(t) || Array.isArray(t)) {
    throw typeError(name, `a { shape, data: ${ctor.name} } object`, describe(t));
  }
  const { shape, data } = t as { shape: unknown; data: unknown };
  if (!(data instanceof ctor)) throw typeError(`${name}.data`, `a ${ctor.name}`, describe(data));
  if (!Array.isArray(shape)) throw typeError(`${name}.shape`, 'an array of integers', describe(shape));
  if (shape.length !== dims.length) {
    throw rangeError(`${name}.shape`, `rank ${dims.length} [${dims.join(', ')}]`, `rank ${shape.length} ${formatShape(shape)}`);
  }
  let size = 1;
  shape.forEach((d, i) => {
    checkInteger(`${name}.shape[${i}] (${dims[i]})`, d, 1);
    size *= d as number;
  });
  if (size > MAX_ELEMENTS) {
    throw rangeError(`${name}.shape`, `at most ${MAX_ELEMENTS} elements`, `${formatShape(shape)} (${size} elements)`);
  }
  if (data.length !== size) {
    throw rangeError(`${name}.data.length`, `${size} (the product of shape ${formatShape(shape)})`, data.length);
  }
  return shape.slice() as number[];
}

/** A float32 tensor of the given rank (dims names its axes, for messages); returns its shape. */
export function checkFloat32Tensor(name: string, t: unknown, dims: readonly string[]): number[] {
  return checkTensor(name, t, Float32Array, dims);
}

/** An int32 tensor of the given rank; returns its shape. */
export function checkInt32Tensor(name: string, t: unknown, dims: readonly string[]): number[] {
  return checkTensor(name, t, Int32Array, dims);
}

/** shape[axis] must equal want (want named by what it comes from). */
export function checkDim(name: string, shape: readonly number[], axis: number, dim: string, want: number, from: string): void {
  if (shape[axis] !== want) {
    throw rangeError(`${name}.shape[${axis}] (${dim})`, `${want} (${from})`, `${shape[axis]} in ${formatShape(shape)}`);
  }
}

/** Row-major position of flat offset i in shape, as "name[a, b, c]". */
export function position(name: string, shape: readonly number[], i: number): string {
  const at: number[] = new Array(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    at[a] = i % shape[a]!;
    i = Math.floor(i / shape[a]!);
  }
  return `${name}[${at.join(', ')}]`;
}

/** Every element finite; otherwise a RangeError naming the first bad position. */
export function checkFinite(name: string, t: Float32Tensor): void {
  const { data } = t;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) throw rangeError(position(name, t.shape, i), 'a finite number', v);
  }
}

/** Every element in [0, limit); otherwise a RangeError naming the first bad position. */
export function checkIndexRange(name: string, t: Int32Tensor, limit: number, limitName: string): void {
  const { data } = t;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < 0 || v >= limit) throw rangeError(position(name, t.shape, i), `an index in [0, ${limit}) (${limitName})`, v);
  }
}

/** An n×n array of arrays of finite numbers; the message names the first row that is not (why: added to what is expected). */
export function checkSquareMatrix(name: string, m: unknown, n: number, why = ''): asserts m is number[][] {
  const expected = `a ${n}×${n} matrix of finite numbers${why}`;
  if (!Array.isArray(m)) throw rangeError(name, expected, JSON.stringify(m) ?? 'undefined');
  if (m.length !== n) throw rangeError(name, expected, `${m.length} rows`);
  const i = m.findIndex((row) => !Array.isArray(row) || row.length !== n || row.some((v) => !Number.isFinite(v)));
  if (i >= 0) throw rangeError(`${name}[${i}]`, `a row of ${n} finite numbers${why}`, describe(m[i]));
}
