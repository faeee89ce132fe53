/**
 * Numeric assertions on tensors ({ shape, data }) or bare typed arrays, built on uvu's Assertion:
 * every failure names the first bad position (as a multi-index when the shape is known).
 */
import { Assertion } from 'uvu/assert';

function parts(t) {
  if (ArrayBuffer.isView(t)) return { shape: [t.length], data: t };
  if (t && ArrayBuffer.isView(t.data)) return { shape: t.shape ? Array.from(t.shape) : [t.data.length], data: t.data };
  throw new TypeError(`assert helpers: expected a tensor or typed array, got ${t}`);
}

/** Flat offset → "[a, b, c]" in a row-major shape. */
export function positionOf(shape, flat) {
  const at = new Array(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    at[a] = flat % shape[a];
    flat = Math.floor(flat / shape[a]);
  }
  return `[${at.join(', ')}]`;
}

function fail(message, actual, expects, operator) {
  throw new Assertion({ message, actual, expects, operator, generated: false });
}

function prefix(msg) {
  return msg ? `${msg}: ` : '';
}

function sameShape(a, e, msg) {
  if (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape[i])) {
    fail(`${prefix(msg)}shape [${a.shape.join(', ')}] differs from expected [${e.shape.join(', ')}]`, a.shape, e.shape, 'shape');
  }
  if (a.data.length !== e.data.length) {
    fail(`${prefix(msg)}length ${a.data.length} differs from expected ${e.data.length}`, a.data.length, e.data.length, 'length');
  }
}

/**
 * |actual − expected| ≤ atol + rtol·|expected| elementwise (atol may be a number or a per-element array).
 * NaN only matches NaN. Reports the first mismatch and how many elements differ.
 */
export function assertClose(actual, expected, { rtol = 1e-5, atol = 0 } = {}, msg = '') {
  const a = parts(actual);
  const e = parts(expected);
  sameShape(a, e, msg);
  const perElement = typeof atol !== 'number';
  let first = -1;
  let bad = 0;
  let firstTol = 0;
  for (let i = 0; i < e.data.length; i++) {
    const x = a.data[i];
    const y = e.data[i];
    const tol = (perElement ? atol[i] : atol) + rtol * Math.abs(y);
    const ok = Number.isNaN(y) ? Number.isNaN(x) : Math.abs(x - y) <= tol;
    if (!ok) {
      if (first < 0) {
        first = i;
        firstTol = tol;
      }
      bad++;
    }
  }
  if (first >= 0) {
    const x = a.data[first];
    const y = e.data[first];
    fail(`${prefix(msg)}first mismatch at ${positionOf(e.shape, first)} (flat ${first}): actual ${x}, expected ${y}, ` +
      `|diff| ${Math.abs(x - y)} > tolerance ${firstTol} (rtol ${rtol}); ${bad} of ${e.data.length} elements differ`,
    x, y, 'close');
  }
}

/** Same values exactly (===, so 0 and −0 match); for index outputs. */
export function assertEqualValues(actual, expected, msg = '') {
  const a = parts(actual);
  const e = parts(expected);
  sameShape(a, e, msg);
  let first = -1;
  let bad = 0;
  for (let i = 0; i < e.data.length; i++) {
    if (a.data[i] !== e.data[i]) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (first >= 0) {
    fail(`${prefix(msg)}first difference at ${positionOf(e.shape, first)} (flat ${first}): actual ${a.data[first]}, ` +
      `expected ${e.data[first]}; ${bad} of ${e.data.length} elements differ`, a.data[first], e.data[first], 'equal');
  }
}

/** Bit-identical contents (compares the raw bytes, so −0 ≠ 0 and NaN payloads count). */
export function assertBitIdentical(actual, expected, msg = '') {
  const a = parts(actual);
  const e = parts(expected);
  sameShape(a, e, msg);
  if (a.data.BYTES_PER_ELEMENT !== 4 || e.data.BYTES_PER_ELEMENT !== 4) throw new TypeError('assertBitIdentical: 32-bit arrays only');
  const ua = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
  const ue = new Uint32Array(e.data.buffer, e.data.byteOffset, e.data.length);
  for (let i = 0; i < ue.length; i++) {
    if (ua[i] !== ue[i]) {
      fail(`${prefix(msg)}not bit-identical at ${positionOf(e.shape, i)} (flat ${i}): ${a.data[i]} (0x${ua[i].toString(16)}) vs ` +
        `${e.data[i]} (0x${ue[i].toString(16)})`, a.data[i], e.data[i], 'bits');
    }
  }
}

/** Distance in float32 units in the last place between two float32 values (0 and −0 are 0 apart). */
export function ulpDistance(x, y) {
  const f = new Float32Array([x, y]);
  const u = new Int32Array(f.buffer);
  const key = (v) => (v < 0 ? -(v & 0x7fffffff) : v); // monotone integer key
  return Math.abs(key(u[0]) - key(u[1]));
}

/** Elementwise within maxUlps float32 ulps. */
export function assertUlps(actual, expected, maxUlps = 1, msg = '') {
  const a = parts(actual);
  const e = parts(expected);
  sameShape(a, e, msg);
  for (let i = 0; i < e.data.length; i++) {
    const d = Number.isNaN(e.data[i]) || Number.isNaN(a.data[i]) ? Infinity : ulpDistance(a.data[i], e.data[i]);
    if (d > maxUlps) {
      fail(`${prefix(msg)}at ${positionOf(e.shape, i)} (flat ${i}): actual ${a.data[i]}, expected ${e.data[i]} ` +
        `(${d} ulps apart, at most ${maxUlps} allowed)`, a.data[i], e.data[i], 'ulps');
    }
  }
}

function checkError(err, ErrorClass, patterns, msg, how) {
  if (!(err instanceof Error)) fail(`${prefix(msg)}${how} a non-Error: ${String(err)}`, err, ErrorClass, 'throws');
  // exact class: a RangeError must not pass for a TypeError and a plain Error passes for neither
  if (err.constructor !== ErrorClass) {
    fail(`${prefix(msg)}${how} ${err.constructor.name} instead of ${ErrorClass.name}: "${err.message}"`,
      err.constructor.name, ErrorClass.name, 'throws');
  }
  for (const p of patterns) {
    if (!p.test(err.message)) fail(`${prefix(msg)}message "${err.message}" does not match ${p}`, err.message, String(p), 'match');
  }
}

/** fn() must throw an instance of exactly ErrorClass whose message matches every pattern. Returns the error. */
export function assertThrowsWith(fn, ErrorClass, patterns = [], msg = '') {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) fail(`${prefix(msg)}expected a ${ErrorClass.name} but nothing was thrown`, undefined, ErrorClass.name, 'throws');
  checkError(err, ErrorClass, patterns, msg, 'threw');
  return err;
}

/**
 * fn() must return a Promise (not throw synchronously) that rejects with exactly ErrorClass and a message
 * matching every pattern. Returns the error.
 */
export async function assertRejectsWith(fn, ErrorClass, patterns = [], msg = '') {
  let p;
  try {
    p = fn();
  } catch (e) {
    fail(`${prefix(msg)}the async form threw synchronously (${e && e.constructor && e.constructor.name}: ${e && e.message}) ` +
      'instead of returning a rejected Promise', 'sync throw', 'rejection', 'rejects');
  }
  if (!p || typeof p.then !== 'function') fail(`${prefix(msg)}the async form did not return a Promise`, p, 'Promise', 'rejects');
  let err;
  let resolved = false;
  try {
    await p;
    resolved = true;
  } catch (e) {
    err = e;
  }
  if (resolved) fail(`${prefix(msg)}expected a rejection with ${ErrorClass.name} but the Promise resolved`, 'resolved', ErrorClass.name, 'rejects');
  checkError(err, ErrorClass, patterns, msg, 'rejected with');
  return err;
}
