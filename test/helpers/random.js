/**
 * Seeded random data for the op tests: every test names its seed, so a failure can be replayed exactly.
 */

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  constructor(seed) {
    this.seed = seed;
    this.next = mulberry32(seed);
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1) {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi] (both inclusive). */
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller). */
  normal() {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  pick(values) {
    return values[Math.floor(this.next() * values.length)];
  }

  /** A shuffled copy of values (Fisher–Yates). */
  shuffle(values) {
    const a = values.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

export const numel = (shape) => shape.reduce((a, b) => a * b, 1);

export function f32(shape, values) {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return { shape: shape.slice(), data };
}

export function i32(shape, values) {
  const data = values instanceof Int32Array ? values : Int32Array.from(values);
  return { shape: shape.slice(), data };
}

/** Float32 tensor, uniform in [lo, hi). */
export function randomFloat32(rng, shape, lo = -1, hi = 1) {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(lo, hi);
  return { shape: shape.slice(), data };
}

/** Float32 tensor of standard normal values times scale. */
export function randomNormal32(rng, shape, scale = 1) {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.normal();
  return { shape: shape.slice(), data };
}

/** Float32 tensor holding small integers in [lo, hi]: every sum, square and product stays exact in float32. */
export function randomIntValued(rng, shape, lo, hi) {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.int(lo, hi);
  return { shape: shape.slice(), data };
}

/**
 * Float32 tensor whose values are all different and at least `gap` apart (a shuffled grid plus a little
 * jitter), so max / argmax have no ties and finite differences never cross a kink.
 */
export function distinctFloat32(rng, shape, gap = 0.01) {
  const n = numel(shape);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (order[i] - n / 2) * gap + rng.uniform(0, gap / 4);
  return { shape: shape.slice(), data };
}

/** Int32 tensor of indices in [0, M). */
export function randomIndex(rng, shape, M) {
  const data = new Int32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.int(0, M - 1);
  return { shape: shape.slice(), data };
}

/** A deep copy (fresh typed array). */
export function cloneTensor(t) {
  return { shape: t.shape.slice(), data: t.data.slice() };
}

/**
 * The same values in a typed array that is a view at a non-zero byte offset into a larger buffer
 * (catches native code that reads from the start of the ArrayBuffer instead of the view).
 */
export function offsetView(t, pad = 3) {
  const Ctor = t.data.constructor;
  const big = new Ctor(t.data.length + 2 * pad);
  big.fill(Ctor === Int32Array ? -7 : Number.NaN);
  big.set(t.data, pad);
  return { shape: t.shape.slice(), data: big.subarray(pad, pad + t.data.length) };
}
