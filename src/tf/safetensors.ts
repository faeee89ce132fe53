/**
 * The `.safetensors` format: an 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}), then the data; offsets count
 * from the end of the header. Every offset is checked against the file before anything is read.
 */
import { message } from '../util/validate.js';
import { DTYPE_BYTES, decodeElements, type StateDict, type StoredDtype } from './state-dict.js';

const DTYPES: Readonly<Record<string, StoredDtype>> = {
  F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', I16: 'i16', I8: 'i8', U8: 'u8', BOOL: 'bool',
};

export function readSafetensors(file: string, bytes: Uint8Array): StateDict {
  // every message names the part of the file, then the file
  const fail = (part: string, expected: string, actual: string): never => { throw new Error(message(`${part} in ${file}`, expected, actual)); };
  if (bytes.length < 8) fail('the .safetensors header size', 'at least 8 bytes', `a file of ${bytes.length} bytes`);
  const headerSize = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerSize > BigInt(bytes.length - 8)) fail('the .safetensors header size', `at most ${bytes.length - 8} (the bytes after it)`, String(headerSize));
  const dataStart = 8 + Number(headerSize);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart))) as Record<string, unknown>;
  } catch (e) {
    return fail('the .safetensors header', 'JSON', `text that does not parse (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the .safetensors header', 'a JSON object', JSON.stringify(header));
  const dataLength = bytes.length - dataStart;
  const data = bytes.subarray(dataStart);
  const tensors: StateDict['tensors'] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e?.dtype === 'string' ? DTYPES[e.dtype] : undefined;
    if (!dtype) fail(`the dtype of tensor ${name}`, `one of ${Object.keys(DTYPES).join(', ')}`, String(JSON.stringify(e?.dtype)));
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`the shape of tensor ${name}`, 'a list of integers ≥ 0', String(JSON.stringify(shape)));
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`the data_offsets of tensor ${name}`, 'a pair [begin, end] of integers ≥ 0', String(JSON.stringify(offsets)));
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) fail(`the data_offsets of tensor ${name}`, `begin ≤ end ≤ ${dataLength} (the data bytes)`, `[${begin}, ${end}]`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (count * DTYPE_BYTES[dtype!] !== end - begin) {
      fail(`the data_offsets of tensor ${name}`, `a span of ${count * DTYPE_BYTES[dtype!]} bytes (${e.dtype as string} [${(shape as number[]).join(', ')}])`, `[${begin}, ${end}] (${end - begin} bytes)`);
    }
    const slice = data.subarray(begin, end);
    tensors.push({ name, dtype: dtype!, shape: [...(shape as number[])], read: () => decodeElements(slice, dtype!, count) });
  }
  return { file, format: 'safetensors', tensors, others: [] };
}
