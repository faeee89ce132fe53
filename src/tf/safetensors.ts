/**
 * The `.safetensors` format: an 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}), then the data; offsets count
 * from the end of the header. Every offset is checked against the file before anything is read.
 */
import { DTYPE_BYTES, decodeElements, type StateDict, type StoredDtype } from './state-dict.js';

const DTYPES: Readonly<Record<string, StoredDtype>> = {
  F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', I16: 'i16', I8: 'i8', U8: 'u8', BOOL: 'bool',
};

export function readSafetensors(file: string, bytes: Uint8Array): StateDict {
  const fail = (what: string): never => { throw new Error(`${file}: not a valid .safetensors file: ${what}`); };
  if (bytes.length < 8) fail(`expected at least 8 bytes; got ${bytes.length}`);
  const headerSize = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerSize > BigInt(bytes.length - 8)) fail(`expected a header of at most ${bytes.length - 8} bytes; got a header size of ${headerSize}`);
  const dataStart = 8 + Number(headerSize);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart))) as Record<string, unknown>;
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('expected a JSON object as header');
  const dataLength = bytes.length - dataStart;
  const data = bytes.subarray(dataStart);
  const tensors: StateDict['tensors'] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e?.dtype === 'string' ? DTYPES[e.dtype] : undefined;
    if (!dtype) fail(`${name}: expected dtype one of ${Object.keys(DTYPES).join(', ')}; got ${JSON.stringify(e?.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`${name}: expected shape a list of integers ≥ 0; got ${JSON.stringify(shape)}`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`${name}: expected data_offsets [begin, end]; got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) fail(`${name}: expected data_offsets within the ${dataLength} data bytes; got [${begin}, ${end}]`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (count * DTYPE_BYTES[dtype!] !== end - begin) {
      fail(`${name}: expected ${count * DTYPE_BYTES[dtype!]} bytes for ${e.dtype as string} [${shape as number[]}]; got ${end - begin}`);
    }
    const slice = data.subarray(begin, end);
    tensors.push({ name, dtype: dtype!, shape: [...(shape as number[])], read: () => decodeElements(slice, dtype!, count) });
  }
  return { file, format: 'safetensors', tensors, others: [] };
}
