/**
 * State-dict files written here byte by byte (no PyTorch needed): a torch.save zip archive (stored or
 * deflated entries, a pickle of _rebuild_tensor_v2 calls) and a .safetensors file. A valid archive reads
 * its strided view; each damaged part fails with one message shape that names the file, the part, what
 * was expected and what was found.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { readStateDict } from '../../dist/tf/state-dict.js';
import { readSafetensors } from '../../dist/tf/safetensors.js';
import { assertThrowsWith } from '../helpers/assert.js';

const test = suite('state dicts: torch.save archives and .safetensors written by hand');
let dir;
test.before(() => { dir = mkdtempSync(join(tmpdir(), 'sacl-state-dict-')); });
test.after(() => rmSync(dir, { recursive: true, force: true }));

// ---- a pickle (protocol 2) of what a state dict uses ----
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
const str = (s) => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s)]); // BINUNICODE
const int = (n) => Buffer.concat([Buffer.from([0x4a]), i32(n)]); // BININT
const global = (module, name) => Buffer.from(`c${module}\n${name}\n`); // GLOBAL
const MARK = Buffer.from([0x28]);
const TUPLE = Buffer.from([0x74]);
const REDUCE = Buffer.from([0x52]);
const tuple = (...items) => Buffer.concat([MARK, ...items, TUPLE]);

/** ('storage', torch.<cls>, key, 'cpu', numel) as a persistent id, or `pid` as given. */
const storage = ({ cls = 'FloatStorage', key = '0', numel = 4, pid } = {}) =>
  Buffer.concat([pid ?? tuple(str('storage'), global('torch', cls), str(key), str('cpu'), int(numel)), Buffer.from([0x51])]); // BINPERSID

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
function tensor({ first = storage(), offset = int(0), size = [4], stride = [1] } = {}) {
  return Buffer.concat([global('torch._utils', '_rebuild_tensor_v2'), MARK, first, offset, tuple(...size.map(int)), tuple(...stride.map(int)),
    Buffer.from([0x89]), global('collections', 'OrderedDict'), Buffer.from([0x29]), REDUCE, TUPLE, REDUCE]);
}

/** {name: value} pickled: PROTO 2, EMPTY_DICT, SETITEM, STOP. */
const stateDict = (name, value) => Buffer.concat([Buffer.from([0x80, 2, 0x7d]), str(name), value, Buffer.from([0x73, 0x2e])]);

// ---- a zip archive: local headers, central directory, end record (CRCs are not checked by the reader) ----
function zip(entries) {
  const locals = [];
  const central = [];
  let at = 0;
  for (const { name, data, method = 0, size = data.length, stored = method === 8 ? deflateRawSync(data) : data, localOffset } of entries) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(stored.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(localOffset ?? at, 42);
    locals.push(local, n, stored);
    central.push(c, n);
    at += 30 + n.length + stored.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(at, 16);
  return Buffer.concat([...locals, cd, end]);
}

const FLOATS = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
/** A torch.save archive: data.pkl and storage 0 (four floats), each entry as given. */
const archive = (pkl, { data = {}, pklEntry = {}, more = [] } = {}) =>
  zip([{ name: 'archive/data.pkl', data: pkl, ...pklEntry }, { name: 'archive/data/0', data: FLOATS, ...data }, ...more]);

/** The archive with its end record pointing the central directory at `offset`. */
function withCentralDirectoryAt(bytes, offset) {
  const b = Buffer.from(bytes);
  b.writeUInt32LE(offset, b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) + 16);
  return b;
}

test('a hand-written torch.save archive reads: a strided view of a stored storage, and of a deflated one', () => {
  const f = join(dir, 'good.pth');
  for (const method of [0, 8]) {
    writeFileSync(f, archive(stateDict('module.w', tensor({ offset: int(1), size: [2], stride: [2] })), { data: { method } }));
    const dict = readStateDict(f);
    assert.is(dict.format, 'pth');
    assert.equal(dict.tensors.map((t) => [t.name, t.dtype, t.shape]), [['w', 'f32', [2]]], 'module. dropped');
    assert.equal([...dict.tensors[0].read()], [2, 4], `method ${method}`);
  }
});

test('each damaged part of a torch.save archive: "Expected … for <part> in <file> but received …"', () => {
  const f = join(dir, 'bad.pth');
  const F = '.*bad\\.pth';
  const valid = stateDict('w', tensor());
  const cases = [
    [archive(valid, { data: { method: 9 } }),
      `^Expected compression method 0 \\(stored\\) or 8 \\(deflate\\) for the archive entry archive/data/0 in ${F} but received 9$`],
    [archive(valid, { data: { size: 17 } }),
      `^Expected equal sizes before and after compression \\(a stored entry\\) for the archive entry archive/data/0 in ${F} but received 16 and 17$`],
    [archive(valid, { data: { method: 8, size: 20 } }),
      `^Expected 20 bytes once inflated for the archive entry archive/data/0 in ${F} but received 16$`],
    [archive(valid, { data: { method: 8, size: 1e6 } }),
      `^Expected at most \\d+ bytes once inflated \\(deflate's limit for \\d+ bytes\\) for the archive entry archive/data/0 in ${F} but received a declared size of 1000000$`],
    [archive(valid, { data: { method: 8, stored: Buffer.from([0xff, 0xff, 0xff]) } }),
      `^Expected deflated data for the archive entry archive/data/0 in ${F} but received data that does not inflate \\(`],
    [archive(valid, { data: { localOffset: 3 } }),
      `^Expected a zip local header at byte 3 for the archive entry archive/data/0 in ${F} but received none$`],
    [archive(valid, { more: [{ name: 'other/data.pkl', data: valid }] }),
      `^Expected one <dir>/data\\.pkl for the torch\\.save archive ${F} but received 2$`],
    [archive(stateDict('w', tensor({ first: storage({ numel: 5 }) }))),
      `^Expected 20 bytes \\(5 elements\\) for storage 0 in ${F} but received 16 bytes$`],
    [archive(stateDict('w', tensor({ offset: int(3), size: [2] }))),
      `^Expected a view inside its storage of 4 elements for tensor w in ${F} but received offset 3, size \\[2\\], stride \\[1\\]$`],
    [archive(stateDict('w', tensor({ size: [5], stride: [0] }))),
      `^Expected at most 4 elements \\(its storage\\) for tensor w in ${F} but received size \\[5\\]$`],
    [archive(stateDict('w', tensor({ first: storage({ cls: 'ComplexFloatStorage' }) }))),
      `^Expected one of torch\\.DoubleStorage, torch\\.FloatStorage, .* for the storage type in the data\\.pkl of ${F} but received torch\\.ComplexFloatStorage$`],
    [archive(stateDict('w', tensor({ first: storage({ numel: -1 }) }))),
      `^Expected an integer ≥ 0 for the size of storage 0 in the data\\.pkl of ${F} but received -1$`],
    [archive(stateDict('w', tensor({ first: storage({ pid: str('nope') }) }))),
      `^Expected a \\('storage', class, key, location, size\\) tuple for a persistent id in the data\\.pkl of ${F} but received "nope"$`],
    [archive(stateDict('w', tensor({ first: Buffer.from([0x4e]) }))), // NONE
      `^Expected a storage for the first argument of _rebuild_tensor_v2 in the data\\.pkl of ${F} but received None$`],
    [archive(stateDict('w', tensor({ size: [-2], stride: [1] }))),
      `^Expected a tuple of integers ≥ 0 for the size argument of _rebuild_tensor_v2 in the data\\.pkl of ${F} but received \\[-2\\]$`],
    [archive(stateDict('w', tensor({ offset: int(-1) }))),
      `^Expected an integer ≥ 0 for the storage offset argument of _rebuild_tensor_v2 in the data\\.pkl of ${F} but received -1$`],
    [archive(Buffer.from([0x80, 2, 0xff])),
      `^Expected a pickle opcode of a PyTorch state dict for the opcode at byte 2 in the data\\.pkl of ${F} but received 0xff$`],
    [archive(Buffer.concat([Buffer.from([0x80, 2]), tuple(int(1), str('x')), Buffer.from([0x2e])])),
      `^Expected a state dict \\(a dict of tensors, or \\{model: …\\} / \\{state_dict: …\\}\\) for ${F} but received \\[1, "x"\\]$`],
    // the zip container and the pickle machine: every refusal says what it expected and what it found
    [archive(valid).subarray(0, 40),
      `^Expected a zip end-of-central-directory record \\(50 4b 05 06\\) in the last 65 557 bytes for the end of the torch\\.save archive ${F} but received none in 40 bytes \\(a truncated file, or not a zip archive\\)$`],
    [withCentralDirectoryAt(archive(valid), 1e6),
      `^Expected a range inside the file's \\d+ bytes for the central directory of the torch\\.save archive ${F} but received bytes \\[1000000, \\d+\\)$`],
    [archive(Buffer.from([0x80, 2, 0x2e])), `^Expected a value for the opcode before it for the stack at byte 3 in the data\\.pkl of ${F} but received an empty stack$`],
    [archive(Buffer.from([0x80, 2, 0x74])), `^Expected a MARK earlier in the pickle for the opcode before byte 3 in the data\\.pkl of ${F} but received none$`],
    [archive(Buffer.from([0x80, 2, 0x63, 0x61])), `^Expected a line ending in a newline for the text argument at byte 3 in the data\\.pkl of ${F} but received the pickle's end at byte 4$`],
    [archive(Buffer.from([0x80, 2, 0x68, 5])), `^Expected an entry written before it is read for memo entry 5, read at byte 4 in the data\\.pkl of ${F} but received none written$`],
    [archive(Buffer.concat([Buffer.from([0x80, 2, 0x58]), u32(1000), Buffer.from('ab')])),
      `^Expected at most the 2 bytes left for the length at byte 7 in the data\\.pkl of ${F} but received 1000$`],
    [archive(stateDict('w', tensor({ size: [4], stride: [1, 1] }))),
      `^Expected two tuples of one length for the size and stride arguments of _rebuild_tensor_v2 in the data\\.pkl of ${F} but received \\[4\\] and \\[1,1\\]$`],
  ];
  for (const [bytes, pattern] of cases) {
    writeFileSync(f, bytes);
    assertThrowsWith(() => readStateDict(f), Error, [new RegExp(pattern)], pattern);
  }
});

test('.safetensors: a file shorter than its header size, and a header that is not an object, name the file and the part', () => {
  const f = join(dir, 'x.safetensors');
  assertThrowsWith(() => readSafetensors(f, new Uint8Array(5)), Error,
    [/^Expected at least 8 bytes for the \.safetensors header size in .*x\.safetensors but received a file of 5 bytes$/]);
  const json = Buffer.from('[1,2]');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  assertThrowsWith(() => readSafetensors(f, Buffer.concat([head, json])), Error,
    [/^Expected a JSON object for the \.safetensors header in .*x\.safetensors but received \[1,2\]$/]);
});

test.run();
