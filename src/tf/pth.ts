/**
 * `torch.save` files (PyTorch ≥ 1.6) without PyTorch. The file is a zip archive: `<dir>/data.pkl` (a
 * pickle of the saved object), `<dir>/data/<key>` (one raw little-endian storage per key), `<dir>/version`
 * and, in newer versions, `<dir>/byteorder`. Entries may be stored or deflated.
 *
 * The pickle is run by a small stack machine that knows exactly what state dicts use: dicts and
 * OrderedDicts, lists, tuples, numbers, strings, `torch._utils._rebuild_tensor_v2` /
 * `_rebuild_parameter` and persistent-id storages. It never runs code: any other class becomes an
 * opaque value (a checkpoint's `args` Namespace, say), which is fine unless a tensor is asked of it.
 * Every length is checked against the bytes that back it, so a hostile file cannot make it allocate more
 * than the file's own size (plus a deflated entry's declared size, bounded by deflate's 1032:1 limit).
 */
import { inflateRawSync } from 'node:zlib';
import { message } from '../util/validate.js';
import { DTYPE_BYTES, decodeElements, type StateDict, type StoredDtype, type StoredTensor } from './state-dict.js';

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The central directory of a zip archive (zip64 records included). */
function zipEntries(file: string, bytes: Uint8Array): Map<string, ZipEntry> {
  const fail = (part: string, expected: string, actual: string): never => { throw new Error(message(`${part} of the torch.save archive ${file}`, expected, actual)); };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) fail('the end', 'a zip end-of-central-directory record (50 4b 05 06) in the last 65 557 bytes', `none in ${bytes.length} bytes (a truncated file, or not a zip archive)`);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== 0x07064b50) fail('the zip64 locator', `a zip64 end-of-central-directory locator (50 4b 06 07) at byte ${locator}`, 'none');
    const at = Number(view.getBigUint64(locator + 8, true));
    if (at + 56 > bytes.length || view.getUint32(at, true) !== 0x06064b50) fail('the zip64 end record', `a zip64 end-of-central-directory record (50 4b 06 06) at byte ${at}`, 'none');
    count = Number(view.getBigUint64(at + 32, true));
    cdSize = Number(view.getBigUint64(at + 40, true));
    cdOffset = Number(view.getBigUint64(at + 48, true));
  }
  if (cdOffset + cdSize > bytes.length) fail('the central directory', `a range inside the file's ${bytes.length} bytes`, `bytes [${cdOffset}, ${cdOffset + cdSize})`);
  const entries = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cdOffset + cdSize || view.getUint32(at, true) !== 0x02014b50) {
      fail(`central directory entry ${n}`, `an entry header (50 4b 01 02) at byte ${at}, within the directory's ${count} entries`, at + 46 > cdOffset + cdSize ? 'the directory\'s end' : 'other bytes');
    }
    const method = view.getUint16(at + 10, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localOffset = view.getUint32(at + 42, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cdOffset + cdSize) fail(`central directory entry ${n}`, `an entry that ends by the directory's end (byte ${cdOffset + cdSize})`, `one that ends at byte ${end}`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // zip64 extra field: the 64-bit values, in this order, of those fields that hold 0xffffffff
    for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
      const id = view.getUint16(x, true);
      const length = view.getUint16(x + 2, true);
      if (id === 0x0001) {
        let y = x + 4;
        const next = (): number => {
          if (y + 8 > x + 4 + length) fail(`the zip64 extra field of ${name}`, 'a 64-bit value for each 32-bit field that holds 0xffffffff', `a field of ${length} bytes`);
          const v = Number(view.getBigUint64(y, true));
          y += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      x += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size, localOffset });
    at = end;
  }
  return entries;
}

function entryBytes(file: string, bytes: Uint8Array, e: ZipEntry): Uint8Array {
  const fail = (expected: string, actual: string): never => { throw new Error(message(`the archive entry ${e.name} in ${file}`, expected, actual)); };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (e.localOffset + 30 > bytes.length || view.getUint32(e.localOffset, true) !== 0x04034b50) fail(`a zip local header at byte ${e.localOffset}`, 'none');
  const start = e.localOffset + 30 + view.getUint16(e.localOffset + 26, true) + view.getUint16(e.localOffset + 28, true);
  if (start + e.compressedSize > bytes.length) fail(`${e.compressedSize} bytes from byte ${start}`, `a file that ends at byte ${bytes.length}`);
  const raw = bytes.subarray(start, start + e.compressedSize);
  if (e.method === 0) {
    if (e.size !== e.compressedSize) fail('equal sizes before and after compression (a stored entry)', `${e.compressedSize} and ${e.size}`);
    return raw;
  }
  if (e.method !== 8) fail('compression method 0 (stored) or 8 (deflate)', String(e.method));
  if (e.size > e.compressedSize * 1032 + 1024) {
    fail(`at most ${e.compressedSize * 1032 + 1024} bytes once inflated (deflate's limit for ${e.compressedSize} bytes)`, `a declared size of ${e.size}`);
  }
  let out: Uint8Array;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err) {
    return fail('deflated data', `data that does not inflate (${(err as Error).message})`);
  }
  if (out.length !== e.size) fail(`${e.size} bytes once inflated`, String(out.length));
  return out;
}

// ---- the pickle machine ----

interface Global { kind: 'global'; module: string; name: string }
interface Opaque { kind: 'object'; cls: string }
interface Storage { kind: 'storage'; dtype: StoredDtype; key: string; numel: number }
interface TensorRef { kind: 'tensor'; storage: Storage; offset: number; shape: number[]; stride: number[] }
type Value = null | boolean | number | bigint | string | Uint8Array | Value[] | Map<Value, Value> | Set<Value> | Global | Opaque | Storage | TensorRef;

const STORAGES: Readonly<Record<string, StoredDtype>> = {
  DoubleStorage: 'f64', FloatStorage: 'f32', HalfStorage: 'f16', BFloat16Storage: 'bf16', LongStorage: 'i64',
  IntStorage: 'i32', ShortStorage: 'i16', CharStorage: 'i8', ByteStorage: 'u8', BoolStorage: 'bool',
};

const isGlobal = (v: Value, module: string, name: string): boolean =>
  typeof v === 'object' && v !== null && !(v instanceof Map) && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Set)
  && v.kind === 'global' && v.module === module && v.name === name;

/** A pickled value, for a message: numbers and strings as written, containers and objects by kind. */
function describeValue(v: Value): string {
  if (v === null) return 'None';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (Array.isArray(v)) return v.length > 8 ? `a list or tuple of ${v.length} items` : `[${v.map(describeValue).join(', ')}]`;
  if (v instanceof Map) return `a dict of ${v.size} items`;
  if (v instanceof Set) return `a set of ${v.size} items`;
  switch (v.kind) {
    case 'global': return `${v.module}.${v.name}`;
    case 'object': return `an object of class ${v.cls}`;
    case 'storage': return `a ${v.dtype} storage`;
    default: return 'a tensor';
  }
}

/** Runs the pickle `data` (protocols 2–5, binary opcodes) and returns the object it builds. */
function unpickle(file: string, data: Uint8Array, persistent: (pid: Value) => Value): Value {
  const wrong = (part: string, expected: string, actual: string): never => { throw new Error(message(`${part} in the data.pkl of ${file}`, expected, actual)); };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  let stack: Value[] = [];
  const marks: Value[][] = [];
  const memo = new Map<number, Value>();
  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > data.length) wrong(`the length at byte ${pos}`, `at most the ${data.length - pos} bytes left`, String(n));
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => Number(view.getBigUint64(need(8), true));
  const bytesOf = (n: number) => data.subarray(need(n), pos);
  const underflow = (): never => wrong(`the stack at byte ${pos}`, 'a value for the opcode before it', 'an empty stack');
  const pop = (): Value => (stack.length ? stack.pop()! : underflow());
  const top = (): Value => (stack.length ? stack[stack.length - 1]! : underflow());
  const popMark = (): Value[] => {
    const items = stack;
    stack = marks.pop() ?? wrong(`the opcode before byte ${pos}`, 'a MARK earlier in the pickle', 'none');
    return items;
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) wrong(`the text argument at byte ${pos}`, 'a line ending in a newline', `the pickle's end at byte ${data.length}`);
    const s = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length > 16) wrong(`the integer at byte ${pos}`, 'at most 16 bytes (a state dict holds none larger)', `${b.length} bytes`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (target: Value, items: Value[]) => {
    if (!(target instanceof Map)) return; // an opaque object's dict items are not needed
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
  };
  const call = (fn: Value, args: Value): Value => {
    const a = Array.isArray(args) ? args : [];
    if (isGlobal(fn, 'collections', 'OrderedDict') || isGlobal(fn, 'builtins', 'dict')) return new Map();
    if (isGlobal(fn, 'torch._utils', '_rebuild_tensor_v2') || isGlobal(fn, 'torch._utils', '_rebuild_tensor')) return rebuildTensor(a);
    if (isGlobal(fn, 'torch._utils', '_rebuild_parameter') || isGlobal(fn, 'torch._utils', '_rebuild_parameter_with_state')) return a[0] ?? null;
    const f = fn as Global;
    return { kind: 'object', cls: f && typeof f === 'object' && 'module' in f ? `${f.module}.${f.name}` : 'unknown' };
  };
  const rebuildTensor = (a: Value[]): TensorRef => {
    const [storage, offset, shape, stride] = a;
    const s = storage as Storage;
    if (!s || typeof s !== 'object' || (s as { kind?: string }).kind !== 'storage') wrong('the first argument of _rebuild_tensor_v2', 'a storage', describeValue(storage ?? null));
    const ints = (v: Value, what: string): number[] => {
      if (!Array.isArray(v) || v.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) wrong(`the ${what} argument of _rebuild_tensor_v2`, 'a tuple of integers ≥ 0', describeValue(v));
      return v as number[];
    };
    const size = ints(shape ?? null, 'size');
    const strides = ints(stride ?? null, 'stride');
    if (size.length !== strides.length) wrong('the size and stride arguments of _rebuild_tensor_v2', 'two tuples of one length', `[${size}] and [${strides}]`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) wrong('the storage offset argument of _rebuild_tensor_v2', 'an integer ≥ 0', describeValue(offset ?? null));
    return { kind: 'tensor', storage: s, offset: offset as number, shape: size, stride: strides };
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(bytesOf(u8()))); break; // LONG1
      case 0x8b: stack.push(long(bytesOf(u32()))); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8.decode(bytesOf(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8.decode(bytesOf(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(bytesOf(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(bytesOf(u32()))); break; // BINSTRING
      case 0x55: stack.push(latin1.decode(bytesOf(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytesOf(u32())); break; // BINBYTES
      case 0x43: stack.push(bytesOf(u8())); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytesOf(u64())); break; // BINBYTES8
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x74: { const items = popMark(); stack.push(items); break; } // TUPLE (popMark replaces `stack`)
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x91: { const items = popMark(); stack.push(new Set(items)); break; } // FROZENSET
      case 0x61: { const v = pop(); const l = top(); if (Array.isArray(l)) l.push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = top(); if (Array.isArray(l)) l.push(...items); break; } // APPENDS
      case 0x90: { const items = popMark(); const s = top(); if (s instanceof Set) for (const v of items) s.add(v); break; } // ADDITEMS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x63: { const module = line(); const name = line(); stack.push({ kind: 'global', module, name }); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push({ kind: 'global', module: String(module), name: String(name) }); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ
      case 0x92: { pop(); const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ_EX
      case 0x62: pop(); break; // BUILD: set state (attributes such as a state dict's _metadata): not needed
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) wrong(`memo entry ${i}, read at byte ${pos}`, 'an entry written before it is read', 'none written');
        stack.push(memo.get(i)!);
        break;
      }
      default:
        wrong(`the opcode at byte ${pos - 1}`, 'a pickle opcode of a PyTorch state dict', `0x${op.toString(16)}`);
    }
  }
}

/** Row-major element offsets of a strided view, checked to lie inside its storage. */
function viewReader(file: string, name: string, t: TensorRef, storageBytes: Uint8Array): StoredTensor {
  const { storage, offset, shape, stride } = t;
  const count = shape.reduce((a, b) => a * b, 1);
  let last = offset;
  for (let d = 0; d < shape.length; d++) if (shape[d]! > 0) last += (shape[d]! - 1) * stride[d]!;
  if (count > 0 && last >= storage.numel) {
    throw new Error(message(`tensor ${name} in ${file}`, `a view inside its storage of ${storage.numel} elements`, `offset ${offset}, size [${shape.join(', ')}], stride [${stride.join(', ')}]`));
  }
  // a state dict's tensors never repeat elements: more elements than the storage holds means a forged stride
  if (count > storage.numel) throw new Error(message(`tensor ${name} in ${file}`, `at most ${storage.numel} elements (its storage)`, `size [${shape.join(', ')}]`));
  const contiguous = shape.every((_, d) => stride[d] === shape.slice(d + 1).reduce((a, b) => a * b, 1) || shape[d] === 1);
  const read = (): Float32Array => {
    if (contiguous) return decodeElements(storageBytes.subarray(offset * DTYPE_BYTES[storage.dtype]), storage.dtype, count);
    const index = (i: number): number => {
      let at = offset;
      for (let d = shape.length - 1; d >= 0; d--) {
        at += (i % shape[d]!) * stride[d]!;
        i = Math.floor(i / shape[d]!);
      }
      return at;
    };
    return decodeElements(storageBytes, storage.dtype, count, index);
  };
  return { name, dtype: storage.dtype, shape: [...shape], read };
}

const isMap = (v: Value): v is Map<Value, Value> => v instanceof Map;
const isTensor = (v: Value): v is TensorRef => typeof v === 'object' && v !== null && (v as { kind?: string }).kind === 'tensor';

/** The state dict saved by `torch.save` in `bytes` (the file named `file`). */
export function readPth(file: string, bytes: Uint8Array): StateDict {
  const entries = zipEntries(file, bytes);
  const pkl = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    const torchScript = [...entries.keys()].some((n) => /\/constants\.pkl$/.test(n));
    throw new Error(message(`the torch.save archive ${file}`, 'one <dir>/data.pkl', `${pkl.length}${torchScript ? ' (this is a TorchScript archive: save model.state_dict() instead)' : ''}`));
  }
  const dir = pkl[0]!.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${dir}byteorder`);
  const bigEndian = byteorder ? new TextDecoder().decode(entryBytes(file, bytes, byteorder)).trim() === 'big' : false;
  const storages = new Map<string, Uint8Array>();
  const storageBytes = (s: Storage): Uint8Array => {
    let b = storages.get(s.key);
    if (b) return b;
    const e = entries.get(`${dir}data/${s.key}`);
    if (!e) throw new Error(`${file}: storage ${s.key} is named by data.pkl but ${dir}data/${s.key} is missing`);
    b = entryBytes(file, bytes, e);
    const size = DTYPE_BYTES[s.dtype];
    if (b.length < s.numel * size) throw new Error(message(`storage ${s.key} in ${file}`, `${s.numel * size} bytes (${s.numel} elements)`, `${b.length} bytes`));
    if (bigEndian && size > 1) {
      b = b.slice(0, s.numel * size);
      for (let i = 0; i < b.length; i += size) b.subarray(i, i + size).reverse();
    }
    storages.set(s.key, b);
    return b;
  };
  const root = unpickle(file, entryBytes(file, bytes, entries.get(pkl[0]!)!), (pid) => {
    // ('storage', storage class, key, location, numel)
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new Error(message(`a persistent id in the data.pkl of ${file}`, "a ('storage', class, key, location, size) tuple", describeValue(pid)));
    const cls = pid[1] as Global;
    const dtype = cls && (cls as { kind?: string }).kind === 'global' && cls.module === 'torch' ? STORAGES[cls.name] : undefined;
    if (!dtype) throw new Error(message(`the storage type in the data.pkl of ${file}`, `one of torch.${Object.keys(STORAGES).join(', torch.')}`, describeValue(cls ?? null)));
    const numel = pid[4];
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(message(`the size of storage ${String(pid[2])} in the data.pkl of ${file}`, 'an integer ≥ 0', describeValue(numel ?? null)));
    return { kind: 'storage', dtype, key: String(pid[2]), numel };
  });
  // the state dict itself, or a training checkpoint holding it
  let dict = root;
  for (const key of ['model', 'state_dict', 'model_state', 'module']) {
    if (isMap(dict) && isMap(dict.get(key) ?? null) && ![...dict.values()].some(isTensor)) dict = dict.get(key)!;
  }
  if (!isMap(dict)) throw new Error(message(file, 'a state dict (a dict of tensors, or {model: …} / {state_dict: …})', describeValue(dict)));
  const tensors: StoredTensor[] = [];
  const others: string[] = [];
  for (const [key, value] of dict) {
    const name = String(key);
    if (isTensor(value)) {
      // a storage missing from the archive is an error now, not when its values are read
      const b = storageBytes(value.storage);
      tensors.push(viewReader(file, name, value, b));
    } else others.push(name);
  }
  return { file, format: 'pth', tensors, others };
}
