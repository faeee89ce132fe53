/**
 * Output arrays for the ops. Every backend writes every element of its outputs, so they are allocated
 * without the zero fill of \`new Float32Array(n)\` (a measurable share of a sub-millisecond op).
 */

function uninitialized(bytes: number): ArrayBuffer {
  const b = Buffer.allocUnsafeSlow(bytes); // its own ArrayBuffer, never a slice of the shared pool
  return b.buffer as ArrayBuffer;
}

export function outputFloat32(length: number): Float32Array {
  return new Float32Array(uninitialized(length * 4), 0, length);
}

export function outputInt32(length: number): Int32Array {
  return new Int32Array(uninitialized(length * 4), 0, length);
}
