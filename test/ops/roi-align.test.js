/**
 * roiAlign / roiAlignGrad (docs/ops.md, roiAlign) on every backend under test against a float64 oracle written here
 * from the sampling points of docs/ops.md and border rule (not the reference backend), itself checked against an
 * independent transcription of torchvision's RoIAlign (aligned=True, sampling_ratio=1) on the box docs/ops.md
 * names. Shapes include S = 1, C = 1, H = W = 1, non-square maps, centres outside the map and exactly on
 * the borders (−1, 0, H−1, H), step ≠ 1, the ROI shape B=16 H=W=56 C=64 R=18 S=8; hand-computed cases;
 * the gradient against the oracle scatter, the adjoint identity and finite differences; determinism,
 * async = sync, offset views, no gradient to the centres.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { roiAlign, roiAlignAsync, roiAlignGrad, roiAlignGradAsync } from '../../dist/index.js';
import { assertBitIdentical, assertClose } from '../helpers/assert.js';
import { forEachBackend } from '../helpers/backends.js';
import { Rng, cloneTensor, f32, numel, offsetView, randomFloat32, randomNormal32 } from '../helpers/random.js';

/** float32 unit roundoff. */
const U = 2 ** -24;

// ---------------------------------------------------------------------------------------------------------
// Oracle 1: docs/ops.md, roiAlign as written, float64.
// ---------------------------------------------------------------------------------------------------------

/**
 * The cells a bilinear sample at (px, py) reads, with their weights (zero-weight taps left out), on an
 * H×W map; [] when the border rule makes the sample 0 (y < −1 or y > H, same for x).
 */
function sampleTaps(px, py, H, W) {
  if (py < -1 || py > H || px < -1 || px > W) return [];
  const y = Math.min(Math.max(py, 0), H - 1);
  const x = Math.min(Math.max(px, 0), W - 1);
  const i0 = Math.floor(y);
  const j0 = Math.floor(x);
  const fy = y - i0;
  const fx = x - j0;
  const taps = [];
  for (const [di, wy] of [[0, 1 - fy], [1, fy]]) {
    for (const [dj, wx] of [[0, 1 - fx], [1, fx]]) {
      const w = wy * wx;
      if (w === 0) continue;
      // a tap past the last row / column only ever gets weight 0 (y ≤ H − 1 after clamping)
      if (i0 + di >= H || j0 + dj >= W) throw new Error(`oracle bug: tap (${i0 + di}, ${j0 + dj}) outside ${H}×${W}`);
      taps.push({ i: i0 + di, j: j0 + dj, w });
    }
  }
  return taps;
}

/** Sample (u, v) of ROI (b, r): x = cx + (u − (S−1)/2)·step, y = cy + (v − (S−1)/2)·step. */
function samplePoint(centers, R, b, r, u, v, S, step) {
  const cx = centers.data[(b * R + r) * 2];
  const cy = centers.data[(b * R + r) * 2 + 1];
  return { px: cx + (u - (S - 1) / 2) * step, py: cy + (v - (S - 1) / 2) * step };
}

/** Calls visit(o, b, taps, px, py) for every sample; o is the flat offset of channel 0 of the sample. */
function eachSample(featureShape, centers, S, step, visit) {
  const [B, H, W, C] = featureShape;
  const R = centers.shape[1];
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < S; v++) {
        for (let u = 0; u < S; u++) {
          const { px, py } = samplePoint(centers, R, b, r, u, v, S, step);
          visit((((b * R + r) * S + v) * S + u) * C, b, sampleTaps(px, py, H, W), px, py);
        }
      }
    }
  }
}

/**
 * Forward oracle: out64 (float64), out (float32) and a per-element tolerance for a float32 implementation:
 * 4u·Σ w|f| for the arithmetic, plus (unless exactPositions) the effect of computing the sample position
 * in float32: ≤ 2u·(|px| + |py| + 2) pixels times the largest change of the map over one pixel.
 */
function oracleForward(features, centers, S, step = 1, { exactPositions = false } = {}) {
  const [B, H, W, C] = features.shape;
  const R = centers.shape[1];
  const out64 = new Float64Array(B * R * S * S * C);
  const tol = new Float64Array(out64.length);
  let maxAbs = 0;
  for (const v of features.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const f = features.data;
  eachSample(features.shape, centers, S, step, (o, b, taps, px, py) => {
    const posTol = exactPositions || taps.length === 0 ? 0 : 2 * U * (Math.abs(px) + Math.abs(py) + 2) * 2 * maxAbs;
    for (let c = 0; c < C; c++) {
      let s = 0;
      let a = 0;
      for (const t of taps) {
        const val = f[((b * H + t.i) * W + t.j) * C + c];
        s += t.w * val;
        a += t.w * Math.abs(val);
      }
      out64[o + c] = s;
      tol[o + c] = 4 * U * a + posTol;
    }
  });
  return { out64, out: f32([B, R, S, S, C], Float32Array.from(out64)), tol };
}

/** Backward oracle: bilinear weights times dOut scattered into [B, H, W, C] (float64), with a tolerance. */
function oracleGrad(dOut, centers, featureShape, step = 1, { exactPositions = false } = {}) {
  const [, , S, , C] = dOut.shape;
  const [B, H, W] = featureShape;
  const acc = new Float64Array(numel(featureShape));
  const abs = new Float64Array(acc.length);
  const cnt = new Float64Array(acc.length);
  const pos = new Float64Array(acc.length);
  eachSample(featureShape, centers, S, step, (o, b, taps, px, py) => {
    const posErr = exactPositions ? 0 : 2 * U * (Math.abs(px) + Math.abs(py) + 2) * 2;
    for (const t of taps) {
      for (let c = 0; c < C; c++) {
        const g = dOut.data[o + c];
        const at = ((b * H + t.i) * W + t.j) * C + c;
        acc[at] += t.w * g;
        abs[at] += Math.abs(t.w * g);
        cnt[at] += 1;
        pos[at] += posErr * Math.abs(g);
      }
    }
  });
  return {
    value64: acc,
    value: f32(featureShape, Float32Array.from(acc)),
    tol: abs.map((a, e) => (cnt[e] + 2) * U * a + pos[e]),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Oracle 2: torchvision's roi_align_forward_kernel_impl (aligned=True, sampling_ratio=1, spatial_scale=1)
// on NCHW data, with the box of docs/ops.md, roiAlign: x1 = cx − S·step/2 + 0.5, x2 = x1 + S·step (same for y).
// ---------------------------------------------------------------------------------------------------------

function torchvisionBilinear(plane, height, width, y, x) {
  if (y < -1.0 || y > height || x < -1.0 || x > width) return 0;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  let yLow = Math.trunc(y);
  let xLow = Math.trunc(x);
  let yHigh;
  let xHigh;
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = yLow;
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = xLow;
  } else {
    xHigh = xLow + 1;
  }
  const ly = y - yLow;
  const lx = x - xLow;
  const hy = 1 - ly;
  const hx = 1 - lx;
  const at = (yy, xx) => plane[yy * width + xx];
  return hy * hx * at(yLow, xLow) + hy * lx * at(yLow, xHigh) + ly * hx * at(yHigh, xLow) + ly * lx * at(yHigh, xHigh);
}

/** Returns [B, R, S, S, C] (our layout) computed the torchvision way. */
function torchvisionRoiAlign(features, centers, S, step) {
  const [B, H, W, C] = features.shape;
  const R = centers.shape[1];
  // NHWC → NCHW planes
  const planes = [];
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const p = new Float64Array(H * W);
      for (let i = 0; i < H * W; i++) p[i] = features.data[(b * H * W + i) * C + c];
      planes.push(p);
    }
  }
  const out = new Float64Array(B * R * S * S * C);
  const offset = 0.5; // aligned = True
  const samplingRatio = 1;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const cx = centers.data[(b * R + r) * 2];
      const cy = centers.data[(b * R + r) * 2 + 1];
      const x1 = cx - (S * step) / 2 + 0.5;
      const y1 = cy - (S * step) / 2 + 0.5;
      const x2 = x1 + S * step;
      const y2 = y1 + S * step;
      const roiStartW = x1 - offset;
      const roiStartH = y1 - offset;
      const roiWidth = x2 - offset - roiStartW;
      const roiHeight = y2 - offset - roiStartH;
      const binW = roiWidth / S;
      const binH = roiHeight / S;
      const count = Math.max(samplingRatio * samplingRatio, 1);
      for (let c = 0; c < C; c++) {
        const plane = planes[b * C + c];
        for (let ph = 0; ph < S; ph++) {
          for (let pw = 0; pw < S; pw++) {
            let sum = 0;
            for (let iy = 0; iy < samplingRatio; iy++) {
              const y = roiStartH + ph * binH + ((iy + 0.5) * binH) / samplingRatio;
              for (let ix = 0; ix < samplingRatio; ix++) {
                const x = roiStartW + pw * binW + ((ix + 0.5) * binW) / samplingRatio;
                sum += torchvisionBilinear(plane, H, W, y, x);
              }
            }
            out[(((b * R + r) * S + ph) * S + pw) * C + c] = sum / count;
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Centres spread over the map widened by the crop's half-width + 2 (so some crops are partly or wholly
 * outside), redrawn while any sample falls within 1e-3 pixel of the border rule's discontinuity (−1 and
 * H / W), where a float32 sample position may legitimately land on the other side.
 */
function randomCenters(rng, B, R, S, step, H, W) {
  const half = ((S - 1) / 2) * step;
  const near = (p, n) => Math.abs(p + 1) < 1e-3 || Math.abs(p - n) < 1e-3;
  const data = new Float32Array(B * R * 2);
  const pick = (n) => {
    for (;;) {
      const c = Math.fround(rng.uniform(-half - 2, n - 1 + half + 2));
      let ok = true;
      for (let u = 0; u < S; u++) if (near(c + (u - (S - 1) / 2) * step, n)) ok = false;
      if (ok) return c;
    }
  };
  for (let e = 0; e < B * R; e++) {
    data[2 * e] = pick(W);
    data[2 * e + 1] = pick(H);
  }
  return f32([B, R, 2], data);
}

const SHAPES = [
  { B: 1, H: 1, W: 1, C: 1, R: 1, S: 1, step: 1, why: 'everything 1' },
  { B: 2, H: 1, W: 1, C: 3, R: 6, S: 3, step: 0.5, why: 'H = W = 1, step 0.5' },
  { B: 1, H: 5, W: 7, C: 1, R: 4, S: 1, step: 1, why: 'S = 1, C = 1' },
  { B: 2, H: 6, W: 9, C: 5, R: 7, S: 4, step: 1, why: 'even S' },
  { B: 3, H: 8, W: 5, C: 2, R: 5, S: 5, step: 2.5, why: 'step 2.5, crops larger than the map' },
  { B: 1, H: 12, W: 12, C: 17, R: 9, S: 8, step: 0.5, why: 'step 0.5' },
  { B: 2, H: 16, W: 16, C: 33, R: 18, S: 6, step: 1.5, why: 'step 1.5' },
  { B: 1, H: 3, W: 20, C: 4, R: 6, S: 7, step: 1, why: 'wide map' },
  { B: 1, H: 20, W: 2, C: 3, R: 6, S: 3, step: 0.75, why: 'tall map, step 0.75' },
  { B: 2, H: 56, W: 56, C: 64, R: 18, S: 8, step: 1, why: 'ROI shape, B = 2' },
];

function label(s) {
  return `B=${s.B} H=${s.H} W=${s.W} C=${s.C} R=${s.R} S=${s.S} step=${s.step}`;
}

function randomGrad(rng, shape) {
  const data = new Float32Array(numel(shape));
  for (let e = 0; e < data.length; e++) data[e] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.25, 1);
  return f32(shape, data);
}

/** Σ a·b in float64 over two equally long arrays. */
function dot(a, b) {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += a[e] * b[e];
  return s;
}

forEachBackend((name) => {
  const test = suite(`roiAlign [${name}]`);
  const on = { backend: name };
  const withStep = (step) => (step === undefined ? on : { ...on, step });

  /** op(input, centers, size) on this backend against the oracle's float32 result (picked) within its tolerance. */
  const checker = (op, oracle, pick, noun) => (input, centers, size, step, what, exactPositions = false) => {
    const got = op(input, centers, size, withStep(step));
    const want = oracle(input, centers, size, step ?? 1, { exactPositions });
    assert.ok(got.data instanceof Float32Array, `${what}: ${noun} must be a Float32Array`);
    assertClose(got, pick(want), { rtol: 0, atol: want.tol }, what);
    return got;
  };
  const checkForward = checker(roiAlign, oracleForward, (want) => want.out, 'output');
  const checkGrad = checker(roiAlignGrad, oracleGrad, (want) => want.value, 'gradient');

  test('the contract oracle equals torchvision RoIAlign (aligned, sampling_ratio 1) on the contract box (seed 3001)', () => {
    const rng = new Rng(3001);
    for (const s of SHAPES.slice(0, 9)) {
      const features = randomFloat32(rng, [s.B, s.H, s.W, s.C]);
      const centers = randomCenters(rng, s.B, s.R, s.S, s.step, s.H, s.W);
      const spec = oracleForward(features, centers, s.S, s.step).out64;
      const tv = torchvisionRoiAlign(features, centers, s.S, s.step);
      assertClose(tv, spec, { rtol: 1e-12, atol: 1e-12 }, `oracles disagree on ${label(s)}`);
      const got = roiAlign(features, centers, s.S, withStep(s.step));
      assertClose(got.data, tv, { rtol: 1e-5, atol: 3e-5 }, `${label(s)} vs torchvision`);
    }
    // and exactly on the border-rule edges, where the two formulations are easiest to get subtly different
    const features = randomFloat32(rng, [1, 4, 5, 2]);
    const pts = [];
    for (const x of [-1.5, -1, -0.5, 0, 2, 3.5, 4, 4.5, 5, 5.5]) for (const y of [-1.25, -1, 0, 3, 3.5, 4, 4.25]) pts.push(x, y);
    const centers = f32([1, pts.length / 2, 2], pts);
    for (const [S, step] of [[1, 1], [2, 1], [3, 0.5], [4, 2.5]]) {
      assertClose(torchvisionRoiAlign(features, centers, S, step), oracleForward(features, centers, S, step).out64,
        { rtol: 1e-12, atol: 1e-12 }, `oracles disagree on the border grid, S=${S} step=${step}`);
    }
  });

  let seed = 3100;
  for (const s of SHAPES) {
    const caseSeed = seed++;
    const what = `${label(s)} (${s.why}; seed ${caseSeed})`;
    test(`random ${what}: forward and backward vs the oracle`, () => {
      const rng = new Rng(caseSeed);
      const features = randomFloat32(rng, [s.B, s.H, s.W, s.C]);
      const centers = randomCenters(rng, s.B, s.R, s.S, s.step, s.H, s.W);
      const out = checkForward(features, centers, s.S, s.step, what);
      assert.equal(out.shape, [s.B, s.R, s.S, s.S, s.C]);
      const dOut = randomGrad(rng, [s.B, s.R, s.S, s.S, s.C]);
      const dF = checkGrad(dOut, centers, [s.B, s.H, s.W, s.C], s.step, `${what}: gradient`);
      assert.equal(dF.shape, [s.B, s.H, s.W, s.C]);
    });
  }

  test('the ROI shape B=16 H=W=56 C=64 R=18 S=8, centres inside the map (seed 3200)', () => {
    const rng = new Rng(3200);
    const features = randomNormal32(rng, [16, 56, 56, 64]);
    const data = new Float32Array(16 * 18 * 2);
    for (let e = 0; e < data.length; e++) data[e] = rng.uniform(2, 54);
    const centers = f32([16, 18, 2], data);
    checkForward(features, centers, 8, undefined, 'ROI shape');
    const dOut = randomGrad(rng, [16, 18, 8, 8, 64]);
    checkGrad(dOut, centers, [16, 56, 56, 64], undefined, 'ROI shape gradient');
  });

  test('hand-computed 2×2 map (values 1 2 / 3 4, second channel ×10)', () => {
    // cell (row i, col j) sits at x = j, y = i
    const features = f32([1, 2, 2, 2], [1, 10, 2, 20, 3, 30, 4, 40]);
    const cases = [
      [0.5, 0.5, 2.5], // centre of the four cells
      [0.25, 0, 1.25], // along the top row
      [0, 0.75, 2.5], // down the left column
      [1, 1, 4],
      [-0.5, -0.5, 1], // inside [−1, H]: clamped to (0, 0)
      [-1, -1, 1], // exactly on the border: still inside
      [2, 2, 4], // x = W, y = H: inside, clamped to (1, 1)
      [1.5, 0.5, 3], // x clamped to 1: between 2 and 4
      [0.5, 1.75, 3.5], // y clamped to 1: between 3 and 4
      [-1.0001220703125, 0, 0], // x just below −1: zero (the offset is exact in float32)
      [0, 2.0001220703125, 0], // y just above H: zero
      [-5, 0.5, 0], // far outside
      [0.5, 7, 0],
    ];
    const centers = f32([1, cases.length, 2], cases.flatMap(([x, y]) => [x, y]));
    const out = roiAlign(features, centers, 1, on);
    assert.equal(out.shape, [1, cases.length, 1, 1, 2]);
    cases.forEach(([x, y, want], r) => {
      assert.is(out.data[2 * r], want, `channel 0 at (x=${x}, y=${y})`);
      assert.is(out.data[2 * r + 1], want * 10, `channel 1 at (x=${x}, y=${y})`);
    });
    // S = 2, step 1 around the map centre reads the four cells; S = 3, step 0.5 adds the midpoints
    const mid = f32([1, 1, 2], [0.5, 0.5]);
    assert.equal(Array.from(roiAlign(features, mid, 2, on).data), [1, 10, 2, 20, 3, 30, 4, 40]);
    const fine = roiAlign(features, mid, 3, { ...on, step: 0.5 });
    assert.equal(Array.from(fine.data.filter((_, e) => e % 2 === 0)), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
    assert.equal(fine.shape, [1, 1, 3, 3, 2]);
    // S = 3, step 1 at (0, 0): the row and column at −1 are inside the border (clamped), the samples at 1 read row/col 1
    const corner = roiAlign(features, f32([1, 1, 2], [0, 0]), 3, on);
    assert.equal(Array.from(corner.data.filter((_, e) => e % 2 === 0)), [1, 1, 2, 1, 1, 2, 3, 3, 4]);
    // step 2.5 at (0.5, 0.5), S = 2: samples at −0.75 and 1.75 → the four corners
    const wide = roiAlign(features, mid, 2, { ...on, step: 2.5 });
    assert.equal(Array.from(wide.data.filter((_, e) => e % 2 === 0)), [1, 2, 3, 4]);
    // step 3, S = 2: samples at −1 and 2 (on the border: inside); step 3.5: −1.25 and 2.25 (outside)
    assert.equal(Array.from(roiAlign(features, mid, 2, { ...on, step: 3 }).data.filter((_, e) => e % 2 === 0)), [1, 2, 3, 4]);
    assert.equal(Array.from(roiAlign(features, mid, 2, { ...on, step: 3.5 }).data), new Array(8).fill(0));
  });

  test('hand-computed gradient on the 2×2 map', () => {
    const centers = f32([1, 2, 2], [0.25, 0.5, 5, 5]); // the second ROI is outside: contributes nothing
    const dOut = f32([1, 2, 1, 1, 1], [8, 1000]);
    const dF = roiAlignGrad(dOut, centers, [1, 2, 2, 1], on);
    // weights at (x=0.25, y=0.5): (0,0) 0.375, (0,1) 0.125, (1,0) 0.375, (1,1) 0.125
    assert.equal(Array.from(dF.data), [3, 1, 3, 1]);
    assert.equal(dF.shape, [1, 2, 2, 1]);
  });

  test('H = W = 1: every sample inside [−1, 1]² reads the single cell, all others are 0 (seed 3210)', () => {
    const rng = new Rng(3210);
    const features = randomFloat32(rng, [2, 1, 1, 3]);
    const pts = [];
    for (const x of [-1.5, -1, -0.3, 0, 0.7, 1, 1.5]) for (const y of [-1.25, -1, 0.5, 1, 2]) pts.push(x, y);
    const R = pts.length / 2;
    const centers = f32([2, R, 2], [...pts, ...pts]);
    const out = roiAlign(features, centers, 1, on);
    for (let b = 0; b < 2; b++) {
      for (let r = 0; r < R; r++) {
        const [x, y] = [pts[2 * r], pts[2 * r + 1]];
        const inside = x >= -1 && x <= 1 && y >= -1 && y <= 1;
        for (let c = 0; c < 3; c++) {
          assert.is(out.data[(b * R + r) * 3 + c], inside ? features.data[b * 3 + c] : 0, `b=${b} (x=${x}, y=${y}) c=${c}`);
        }
      }
    }
    checkForward(features, centers, 3, 0.5, 'H = W = 1, S = 3, step 0.5', true);
  });

  test('samples exactly on −1, 0, H−1, H and just beyond; centres on the corners (exact positions; seed 3220)', () => {
    const rng = new Rng(3220);
    const H = 5;
    const W = 7;
    const features = randomFloat32(rng, [2, H, W, 3]);
    const xs = [-3, -1.5, -1, -0.5, 0, 0.5, 3, W - 1, W - 0.5, W, W + 0.5, W + 2];
    const ys = [-2, -1, -0.25, 0, 2.5, H - 1, H - 0.75, H, H + 0.5];
    const pts = [];
    for (const x of xs) for (const y of ys) pts.push(x, y);
    const R = pts.length / 2;
    const centers = f32([2, R, 2], [...pts, ...pts.map((v) => v + 0.25)]);
    for (const [S, step] of [[1, 1], [2, 1], [3, 0.5], [5, 1], [4, 2.5], [3, 2]]) {
      const what = `border grid S=${S} step=${step}`;
      checkForward(features, centers, S, step, what, true);
      checkGrad(randomGrad(rng, [2, R, S, S, 3]), centers, [2, H, W, 3], step, `${what}: gradient`, true);
    }
    // S = 1 on the grid: the border rule by hand
    const out = roiAlign(features, centers, 1, on);
    for (let r = 0; r < R; r++) {
      const [x, y] = [pts[2 * r], pts[2 * r + 1]];
      if (x < -1 || x > W || y < -1 || y > H) {
        for (let c = 0; c < 3; c++) assert.is(out.data[r * 3 + c], 0, `(x=${x}, y=${y}) is outside: 0`);
      }
      if (Number.isInteger(x) && Number.isInteger(y) && x >= -1 && x <= W && y >= -1 && y <= H) {
        const i = Math.min(Math.max(y, 0), H - 1);
        const j = Math.min(Math.max(x, 0), W - 1);
        for (let c = 0; c < 3; c++) {
          assert.is(out.data[r * 3 + c], features.data[(i * W + j) * 3 + c], `(x=${x}, y=${y}) reads cell (${i}, ${j})`);
        }
      }
    }
  });

  test('crops wholly outside the map are 0 and receive / give no gradient (seed 3230)', () => {
    const rng = new Rng(3230);
    const features = randomFloat32(rng, [1, 6, 6, 4]);
    const centers = f32([1, 4, 2], [-20, 3, 3, 40, 1e6, -1e6, -5.5, -5.5]);
    const out = roiAlign(features, centers, 4, on);
    assert.ok(out.data.every((v) => v === 0), 'a crop outside the map must be all zeros');
    const dF = roiAlignGrad(randomGrad(rng, [1, 4, 4, 4, 4]), centers, [1, 6, 6, 4], on);
    assert.ok(dF.data.every((v) => v === 0), 'samples outside the map must not scatter gradient');
  });

  test('the default step is 1 (seed 3240)', () => {
    const rng = new Rng(3240);
    const features = randomFloat32(rng, [2, 9, 8, 5]);
    const centers = randomCenters(rng, 2, 5, 4, 1, 9, 8);
    assertBitIdentical(roiAlign(features, centers, 4, on), roiAlign(features, centers, 4, { ...on, step: 1 }), 'forward');
    const dOut = randomGrad(rng, [2, 5, 4, 4, 5]);
    assertBitIdentical(roiAlignGrad(dOut, centers, [2, 9, 8, 5], on), roiAlignGrad(dOut, centers, [2, 9, 8, 5], { ...on, step: 1 }),
      'gradient');
    // and a different step gives a different answer (the option is not ignored)
    const other = roiAlign(features, centers, 4, { ...on, step: 0.5 });
    const unit = roiAlign(features, centers, 4, on);
    assert.ok(other.data.some((v, e) => v !== unit.data[e]), 'options.step is ignored');
  });

  // ---- the gradient as the adjoint of the (linear) forward ----
  const ADJ = [
    { B: 2, H: 7, W: 6, C: 3, R: 5, S: 4, step: 1 },
    { B: 1, H: 10, W: 10, C: 8, R: 9, S: 5, step: 0.5 },
    { B: 2, H: 5, W: 9, C: 2, R: 12, S: 3, step: 2.5 },
    { B: 2, H: 56, W: 56, C: 16, R: 18, S: 8, step: 1 },
  ];
  for (const s of ADJ) {
    const caseSeed = seed++;
    const what = `${label(s)} (seed ${caseSeed})`;
    test(`adjoint: <roiAlign(f), g> = <f, roiAlignGrad(g)> in float64: ${what}`, () => {
      const rng = new Rng(caseSeed);
      const features = randomFloat32(rng, [s.B, s.H, s.W, s.C]);
      const centers = randomCenters(rng, s.B, s.R, s.S, s.step, s.H, s.W);
      const g = randomGrad(rng, [s.B, s.R, s.S, s.S, s.C]);
      const out = roiAlign(features, centers, s.S, withStep(s.step));
      const dF = roiAlignGrad(g, centers, [s.B, s.H, s.W, s.C], withStep(s.step));
      const lhs = dot(out.data, g.data);
      const rhs = dot(features.data, dF.data);
      // scale: Σ |g|·w·|f| over every (sample, tap, channel), the size of either sum without cancellation
      const grad = oracleGrad(g, centers, [s.B, s.H, s.W, s.C], s.step);
      let scale = 0;
      const fwd = oracleForward(features, centers, s.S, s.step);
      for (let e = 0; e < features.data.length; e++) scale += Math.abs(features.data[e]) * grad.tol[e];
      for (let e = 0; e < g.data.length; e++) scale += Math.abs(g.data[e]) * fwd.tol[e];
      const exact = dot(fwd.out64, g.data);
      assert.ok(Math.abs(exact - dot(features.data, grad.value64)) <= 1e-9 * (1 + Math.abs(exact)), 'oracle adjoint identity');
      assert.ok(Math.abs(lhs - rhs) <= scale + 1e-12, `${what}: <out, g> = ${lhs} but <f, dF> = ${rhs} (allowed ${scale})`);
      assert.ok(Math.abs(lhs - exact) <= scale + 1e-12, `${what}: <out, g> = ${lhs}, oracle ${exact}`);
    });
  }

  test('gradient = central finite differences of Σ g ⊙ roiAlign(f) on the float64 formula (seed 3300)', () => {
    const rng = new Rng(3300);
    for (const [S, step] of [[3, 1], [4, 0.5], [2, 2.5]]) {
      const shape = [1, 4, 5, 2];
      const features = randomFloat32(rng, shape);
      const centers = randomCenters(rng, 1, 3, S, step, 4, 5);
      const g = randomGrad(rng, [1, 3, S, S, 2]);
      const dF = roiAlignGrad(g, centers, shape, withStep(step));
      const f64 = { shape, data: Float64Array.from(features.data) };
      const h = 1e-3;
      const fd = new Float64Array(f64.data.length);
      for (let e = 0; e < fd.length; e++) {
        const keep = f64.data[e];
        f64.data[e] = keep + h;
        const up = dot(oracleForward(f64, centers, S, step).out64, g.data);
        f64.data[e] = keep - h;
        const down = dot(oracleForward(f64, centers, S, step).out64, g.data);
        f64.data[e] = keep;
        fd[e] = (up - down) / (2 * h);
      }
      assert.ok(fd.some((v) => Math.abs(v) > 0.1), 'no feature influences the loss; the case tests nothing');
      assertClose(dF, f32(shape, fd), { rtol: 1e-5, atol: 1e-5 }, `S=${S} step=${step}: gradient vs finite differences`);
    }
  });

  test('no gradient flows to the centres: the gradient is one [B, H, W, C] tensor, centres untouched (seed 3310)', () => {
    const rng = new Rng(3310);
    const centers = randomCenters(rng, 2, 4, 3, 1, 6, 6);
    const snap = cloneTensor(centers);
    const dOut = randomGrad(rng, [2, 4, 3, 3, 5]);
    const dF = roiAlignGrad(dOut, centers, [2, 6, 6, 5], on);
    assert.equal(Object.keys(dF).sort(), ['data', 'shape'], 'roiAlignGrad must return only the feature gradient');
    assert.equal(dF.shape, [2, 6, 6, 5]);
    assert.is(dF.data.length, 2 * 6 * 6 * 5);
    assertBitIdentical(centers, snap, 'centers were modified');
  });

  test('deterministic: repeated runs are bit-identical, heavily overlapping crops (seed 3320)', () => {
    const rng = new Rng(3320);
    const features = randomNormal32(rng, [2, 16, 16, 32]);
    const data = new Float32Array(2 * 18 * 2);
    for (let e = 0; e < data.length; e++) data[e] = rng.uniform(7, 8); // every crop covers the same cells
    const centers = f32([2, 18, 2], data);
    const dOut = randomNormal32(rng, [2, 18, 8, 8, 32]);
    for (const step of [1, 0.5]) {
      const out = roiAlign(features, centers, 8, { ...on, step });
      const dF = roiAlignGrad(dOut, centers, [2, 16, 16, 32], { ...on, step });
      for (let run = 2; run <= 3; run++) {
        assertBitIdentical(roiAlign(features, centers, 8, { ...on, step }), out, `forward step ${step}, run ${run}`);
        assertBitIdentical(roiAlignGrad(dOut, centers, [2, 16, 16, 32], { ...on, step }), dF, `gradient step ${step}, run ${run}`);
      }
    }
  });

  test('async = sync, bit-identical (also several calls in flight at once; seed 3330)', async () => {
    const rng = new Rng(3330);
    const cases = [];
    for (const s of [SHAPES[3], SHAPES[4], SHAPES[6], SHAPES[9]]) {
      const features = randomFloat32(rng, [s.B, s.H, s.W, s.C]);
      const centers = randomCenters(rng, s.B, s.R, s.S, s.step, s.H, s.W);
      const dOut = randomGrad(rng, [s.B, s.R, s.S, s.S, s.C]);
      cases.push({ s, features, centers, dOut, opts: withStep(s.step) });
    }
    for (const c of cases) {
      c.out = roiAlign(c.features, c.centers, c.s.S, c.opts);
      c.dF = roiAlignGrad(c.dOut, c.centers, c.features.shape, c.opts);
      const p = roiAlignAsync(c.features, c.centers, c.s.S, c.opts);
      assert.ok(p instanceof Promise, 'roiAlignAsync must return a Promise');
      assertBitIdentical(await p, c.out, `${label(c.s)} async forward`);
      const q = roiAlignGradAsync(c.dOut, c.centers, c.features.shape, c.opts);
      assert.ok(q instanceof Promise, 'roiAlignGradAsync must return a Promise');
      assertBitIdentical(await q, c.dF, `${label(c.s)} async gradient`);
    }
    const outs = await Promise.all(cases.map((c) => roiAlignAsync(c.features, c.centers, c.s.S, c.opts)));
    const grads = await Promise.all(cases.map((c) => roiAlignGradAsync(c.dOut, c.centers, c.features.shape, c.opts)));
    cases.forEach((c, i) => {
      assertBitIdentical(outs[i], c.out, `concurrent forward ${i}`);
      assertBitIdentical(grads[i], c.dF, `concurrent gradient ${i}`);
    });
  });

  test('typed-array views at a byte offset give the same answer (seed 3340)', () => {
    const rng = new Rng(3340);
    const features = randomFloat32(rng, [2, 7, 9, 5]);
    const centers = randomCenters(rng, 2, 6, 4, 1.5, 7, 9);
    const dOut = randomGrad(rng, [2, 6, 4, 4, 5]);
    const opts = { ...on, step: 1.5 };
    assertBitIdentical(roiAlign(offsetView(features), offsetView(centers), 4, opts), roiAlign(features, centers, 4, opts),
      'forward with offset views');
    assertBitIdentical(roiAlignGrad(offsetView(dOut), offsetView(centers), [2, 7, 9, 5], opts),
      roiAlignGrad(dOut, centers, [2, 7, 9, 5], opts), 'gradient with offset views');
  });

  test('inputs are not modified; outputs never share memory with inputs (seed 3350)', () => {
    const rng = new Rng(3350);
    const features = randomFloat32(rng, [2, 8, 8, 3]);
    const centers = randomCenters(rng, 2, 5, 3, 1, 8, 8);
    const dOut = randomGrad(rng, [2, 5, 3, 3, 3]);
    const featureShape = [2, 8, 8, 3];
    const snap = [features, centers, dOut].map(cloneTensor);
    const out = roiAlign(features, centers, 3, on);
    const dF = roiAlignGrad(dOut, centers, featureShape, on);
    [features, centers, dOut].forEach((t, i) => assertBitIdentical(t, snap[i], `${['features', 'centers', 'dOut'][i]} was modified`));
    assert.equal(featureShape, [2, 8, 8, 3], 'featureShape was modified');
    const overlaps = (a, b) => a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
    for (const arr of [out.data, dF.data]) {
      assert.ok(![features.data, centers.data, dOut.data].some((inp) => overlaps(inp, arr)), 'an output aliases an input');
    }
    assert.ok(!overlaps(out.data, dF.data), 'the forward output and the gradient share memory');
    assert.is(out.data.length, 2 * 5 * 3 * 3 * 3);
  });

  test.run();
});
