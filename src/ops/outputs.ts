/**
 * Output arrays for the ops: a new array, or the caller's own (options.into), checked. Every backend
 * writes every element of its outputs, so new ones are allocated uninitialized; reusing arrays through
 * \`into\` avoids the allocation altogether (for multi-megabyte outputs, see docs/ops.md, "Output memory").
 */
import type { Float32Tensor, Int32Tensor } from '../types.js';
import { checkFloat32Tensor, checkInt32Tensor, formatShape, rangeError } from '../util/validate.js';

function uninitialized(bytes: number): ArrayBuffer {
  const b = Buffer.allocUnsafeSlow(bytes); // its own ArrayBuffer, never a slice of the shared pool
  return b.buffer as ArrayBuffer;
}

/** An input that an output must not overlap, with its name for the message. */
export type NamedInput = [name: string, data: ArrayBufferView | null | undefined];

/**
 * Whether output `out` shares memory with `input`. Two views of one buffer are compared by offsets. Two
 * SharedArrayBuffer objects can hold one memory (structuredClone and postMessage make such twins, at the
 * same base), which no property shows: where their offsets overlap, one byte of the output (which the op
 * overwrites anyway) is flipped, read through the input, and restored.
 */
function overlaps(out: ArrayBufferView, input: ArrayBufferView): boolean {
  const begin = Math.max(out.byteOffset, input.byteOffset);
  const end = Math.min(out.byteOffset + out.byteLength, input.byteOffset + input.byteLength);
  if (begin >= end) return false;
  if (out.buffer === input.buffer) return true;
  if (!(out.buffer instanceof SharedArrayBuffer && input.buffer instanceof SharedArrayBuffer)) return false;
  const mine = new Uint8Array(out.buffer, begin, 1);
  const theirs = new Uint8Array(input.buffer, begin, 1);
  const saved = mine[0]!;
  const seen = theirs[0]!;
  mine[0] = saved ^ 0xff;
  const shared = theirs[0] !== seen;
  mine[0] = saved;
  return shared;
}

function checkInto(name: string, shape: readonly number[], want: readonly number[], data: ArrayBufferView,
  inputs: readonly NamedInput[]): void {
  if (shape.some((d, a) => d !== want[a])) {
    throw rangeError(`${name}.shape`, `${formatShape(want)} (the op's output)`, formatShape(shape));
  }
  for (const [inputName, input] of inputs) {
    if (input && overlaps(data, input)) {
      throw rangeError(name, 'an array that shares no memory with the inputs', `one that overlaps ${inputName}`);
    }
  }
}

const axes = (shape: readonly number[]) => shape.map((_, a) => `d${a}`);

type TypedCtor<A> = new (buffer: ArrayBuffer, byteOffset: number, length: number) => A;

function output<A extends Float32Array | Int32Array>(Ctor: TypedCtor<A>,
  check: (name: string, t: unknown, dims: readonly string[]) => number[], name: string, into: unknown,
  shape: readonly number[], inputs: readonly NamedInput[]): { shape: number[]; data: A } {
  if (into === undefined) {
    const n = shape.reduce((p, d) => p * d, 1);
    return { shape: shape.slice(), data: new Ctor(uninitialized(n * 4), 0, n) };
  }
  const t = into as { shape: number[]; data: A };
  checkInto(name, check(name, into, axes(shape)), shape, t.data, inputs);
  return t;
}

/** options.into (named `name`) checked against the output shape, or a new uninitialized array. */
export function float32Output(name: string, into: unknown, shape: readonly number[], inputs: readonly NamedInput[]): Float32Tensor {
  return output(Float32Array, checkFloat32Tensor, name, into, shape, inputs);
}

/** As {@link float32Output}, for Int32 outputs. */
export function int32Output(name: string, into: unknown, shape: readonly number[], inputs: readonly NamedInput[]): Int32Tensor {
  return output(Int32Array, checkInt32Tensor, name, into, shape, inputs);
}
