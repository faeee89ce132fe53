/**
 * Host blocks (native/addon/host_memory.cc): the memory of the cpu backend's kernel outputs. allocateBuffer
 * gives an ArrayBuffer of the size asked (zeroed when asked) on a block of the addon's own; detachBuffer
 * frees such a block at once and detaches any other ArrayBuffer; bad arguments are refused by name.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';

const test = suite('host memory');
const { addon, reason } = loadRawAddon();
const live = () => addon.info().hostBlocks;
if (!addon) console.log(`[sacl-au tests] host memory tests skipped: no native build was found (${reason})`);

test('allocateBuffer: the size asked, zeroed when asked, a live block until detached', () => {
  const before = live();
  const zeroed = addon.allocateBuffer(1 << 16, true);
  assert.is(zeroed.byteLength, 1 << 16);
  assert.ok(new Uint8Array(zeroed).every((b) => b === 0), 'zeroed');
  const raw = addon.allocateBuffer(40, false);
  new Float32Array(raw).fill(1.5);
  assert.equal([...new Float32Array(raw)], Array(10).fill(1.5));
  const empty = addon.allocateBuffer(0, false);
  assert.is(empty.byteLength, 0);
  assert.is(live(), before + 2, 'an empty buffer needs no block');
  for (const b of [zeroed, raw, empty]) addon.detachBuffer(b);
  assert.is(live(), before, 'freed by the detach');
  assert.is(zeroed.byteLength, 0, 'detached');
  addon.detachBuffer(zeroed); // a second detach does nothing
  assert.is(live(), before);
});

test("detachBuffer on V8's own ArrayBuffer: detached, no block touched", () => {
  const before = live();
  const b = new ArrayBuffer(64);
  addon.detachBuffer(b);
  assert.is(b.byteLength, 0);
  assert.is(live(), before);
});

test("host blocks stay out of V8's external-memory count (V8 would run GC work at each allocation)", () => {
  const count = () => addon.info().v8ExternalBytes;
  const before = count();
  const blocks = Array.from({ length: 8 }, () => addon.allocateBuffer(16 << 20, false));
  const during = count();
  blocks.forEach((b) => addon.detachBuffer(b));
  const after = count();
  assert.ok(Math.abs(during - before) < (1 << 20), `128 MB of live blocks moved the count by ${during - before} bytes`);
  assert.ok(Math.abs(after - before) < (1 << 20), `freeing them moved the count by ${after - before} bytes`);
});

test('bad arguments are refused by name', () => {
  assertThrowsWith(() => addon.allocateBuffer(-1, false), RangeError, [/bytes/]);
  assertThrowsWith(() => addon.allocateBuffer(1.5, false), RangeError, [/bytes/]);
  assertThrowsWith(() => addon.allocateBuffer(8, 'yes'), TypeError, [/zero/]);
  assertThrowsWith(() => addon.allocateBuffer(8), TypeError, []);
  assertThrowsWith(() => addon.detachBuffer(new Float32Array(4)), TypeError, [/ArrayBuffer for buffer/]);
});

if (addon) test.run();
