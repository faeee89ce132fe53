/**
 * Reading PyTorch state dicts from disk without PyTorch: `torch.save` files (pth.ts) and `.safetensors`
 * files (safetensors.ts), told apart by their first bytes. Tensors are described first and their values
 * read on demand, so a checkpoint's optimizer state or classification head costs nothing unless asked for.
 */
import { readFileSync } from 'node:fs';
import { readPth } from './pth.js';
import { readSafetensors } from './safetensors.js';
import { message } from '../util/validate.js';

/** Element types a stored tensor may have; all read as float32. */
export type StoredDtype = 'f64' | 'f32' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';

export const DTYPE_BYTES: Readonly<Record<StoredDtype, number>> = {
  f64: 8, f32: 4, f16: 2, bf16: 2, i64: 8, i32: 4, i16: 2, i8: 1, u8: 1, bool: 1,
};

/** One named tensor of a state dict: PyTorch's shape (row-major) and its values on demand. */
export interface StoredTensor {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  /** The values, row-major, as float32 (a fresh array on every call). */
  read(): Float32Array;
}

export interface StateDict {
  file: string;
  format: 'pth' | 'safetensors';
  tensors: StoredTensor[];
  /** Entries of the unwrapped dict that are not tensors (names only). */
  others: string[];
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Element `index` of each of `count` elements of `dtype` at `bytes`, little-endian, as float32. `indices`
 * (optional) picks elements of a strided view; without it elements 0…count-1 are read.
 */
export function decodeElements(bytes: Uint8Array, dtype: StoredDtype, count: number, indices?: (i: number) => number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = DTYPE_BYTES[dtype];
  const out = new Float32Array(count);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  for (let i = 0; i < count; i++) {
    const at = (indices ? indices(i) : i) * size;
    switch (dtype) {
      case 'f64': out[i] = view.getFloat64(at, true); break;
      case 'f32': out[i] = view.getFloat32(at, true); break;
      case 'f16': out[i] = f16ToF32(view.getUint16(at, true)); break;
      case 'bf16': bits[0] = view.getUint16(at, true) << 16; out[i] = asFloat[0]!; break;
      case 'i64': out[i] = Number(view.getBigInt64(at, true)); break;
      case 'i32': out[i] = view.getInt32(at, true); break;
      case 'i16': out[i] = view.getInt16(at, true); break;
      case 'i8': out[i] = view.getInt8(at); break;
      case 'u8': case 'bool': out[i] = view.getUint8(at); break;
    }
  }
  return out;
}

/**
 * The state dict in a file: a `torch.save` zip archive (a bare state dict, or one wrapped as
 * {model: …} / {state_dict: …}, the common training-script checkpoints) or a `.safetensors` file. A
 * leading `module.` (DataParallel) is dropped from every name.
 */
export function readStateDict(file: string): StateDict {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`Cannot read ${file}: ${(e as Error).message}`);
  }
  const head = bytes.subarray(0, 8);
  // .safetensors first: its 8-byte header size may begin with any byte, 0x80 included
  const safetensorsHeader = bytes.length >= 9 && bytes[8] === 0x7b /* { */
    && new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) <= BigInt(bytes.length - 8);
  let dict: StateDict;
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) dict = readPth(file, bytes);
  else if (safetensorsHeader) dict = readSafetensors(file, bytes);
  else if (head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a && head[3] === 0x0a) {
    // pickle protocol 2 opening with the 10-byte magic number of PyTorch's pre-1.6 format
    throw new Error(message(file, 'a torch.save zip archive (PyTorch ≥ 1.6) or a .safetensors file', 'a legacy (pre-1.6) torch file: '
      + 're-save it with a current PyTorch, torch.save(torch.load(f), g), or write a .safetensors file (safetensors.torch.save_file)'));
  } else if (bytes.length >= 9 && bytes[8] === 0x7b) dict = readSafetensors(file, bytes); // its header size is wrong: say so
  else {
    const first = [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(message(file, 'a torch.save zip archive or a .safetensors file', `neither (first bytes ${first || 'none: an empty file'})`));
  }
  for (const t of dict.tensors) if (t.name.startsWith('module.')) t.name = t.name.slice('module.'.length);
  return dict;
}
