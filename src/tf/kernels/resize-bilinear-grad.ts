/**
 * ResizeBilinearGrad that is the exact adjoint of tfjs' forward ResizeBilinear for every setting of
 * alignCorners and halfPixelCenters. tfjs 4.22's cpu and wasm kernels read only alignCorners, so under
 * half-pixel centres (MSFL's up-sampling, paper eq. 1) they scatter the gradient to the wrong source
 * pixels; the cpu one also returns [B, W, H, C] for [B, H, W, C] images.
 *
 * The forward pass samples output row r (columns alike) at the source coordinate
 *   s = ratio·(r + ½) − ½ (half-pixel centres)   or   s = ratio·r,
 *   ratio = (H_in − 1)/(H_out − 1) under alignCorners when H_out > 1, else H_in/H_out,
 * reads rows lo = max(0, ⌊s⌋) and hi = min(H_in − 1, ⌈s⌉) with weight f = s − lo on hi and 1 − f on lo
 * (a negative s therefore reads row 0 alone: the clamp PyTorch's align_corners=False applies too).
 * The gradient scatters each dy value to the same four pixels with the same weights; the weights of each
 * output sum to 1, so Σ dx = Σ dy.
 */
import type { NativeAddon } from '../../backends/native.js';
import { hostInput, hostOutput, type Info, type KernelFunc } from './host.js';

/** One axis of the sampling rule: for each output index, the two source indices and the weight of `hi`. */
export interface ResizeTaps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float64Array;
}

/** The source taps of one axis, computed as tfjs' forward ResizeBilinear computes them (float64). */
export function resizeTaps(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): ResizeTaps {
  const corners = alignCorners && outSize > 1;
  const ratio = (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const s = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    // the upper clamp matters only for alignCorners with halfPixelCenters (which tf.image.resizeBilinear
    // refuses): there s can pass H_in − 1 and the forward kernel reads past the image
    const l = Math.min(inSize - 1, Math.max(0, Math.floor(s)));
    lo[o] = l;
    hi[o] = Math.min(inSize - 1, Math.ceil(s));
    frac[o] = s - l;
  }
  return { lo, hi, frac };
}

/**
 * dx (NHWC [B, H, W, C], overwritten) from dy (NHWC [B, OH, OW, C]) in one pass over dy, separably: each
 * dy row scatters to its columns' two taps in a one-row buffer, which then adds to the two source rows.
 * Deterministic (a fixed sequential order); the only allocations are per call (taps, the row buffer).
 */
export function resizeBilinearGradImpl(
  dy: Float32Array, dyShape: readonly [number, number, number, number], inHeight: number, inWidth: number,
  alignCorners: boolean, halfPixelCenters: boolean, dx: Float32Array,
): void {
  const [B, OH, OW, C] = dyShape;
  const rows = resizeTaps(inHeight, OH, alignCorners, halfPixelCenters);
  const cols = resizeTaps(inWidth, OW, alignCorners, halfPixelCenters);
  const rowSize = inWidth * C;
  dx.fill(0, 0, B * inHeight * rowSize);
  const row = new Float64Array(rowSize);
  let g = 0;
  for (let b = 0; b < B; b++) {
    const image = b * inHeight * rowSize;
    for (let r = 0; r < OH; r++) {
      row.fill(0);
      for (let c = 0; c < OW; c++) {
        const left = cols.lo[c]! * C;
        const right = cols.hi[c]! * C;
        const fc = cols.frac[c]!;
        for (let d = 0; d < C; d++, g++) {
          const v = dy[g]!;
          row[left + d]! += v - v * fc;
          row[right + d]! += v * fc;
        }
      }
      const top = image + rows.lo[r]! * rowSize;
      const bottom = image + rows.hi[r]! * rowSize;
      const fr = rows.frac[r]!;
      for (let i = 0; i < rowSize; i++) {
        const v = row[i]!;
        dx[top + i]! += v - v * fr;
        dx[bottom + i]! += v * fr;
      }
    }
  }
}

/**
 * The kernel for a backend ('cpu' or 'wasm'): tensors read and written in place through its memory.
 * tfjs' wasm forward ignores halfPixelCenters when alignCorners is set (cpu's applies both); that pair is
 * refused by tf.image.resizeBilinear, but a direct kernel call still gets the adjoint of its own forward.
 */
export function resizeBilinearGrad(backendName: string, addon: NativeAddon | null = null): KernelFunc {
  const cornersOverrideCentres = backendName === 'wasm';
  // on cpu the native kernel (native/cpu/pool.cc, the same taps and order, one image per thread)
  const impl: typeof resizeBilinearGradImpl = addon && backendName === 'cpu'
    ? (dy, [batch, outHeight, outWidth, channels], inHeight, inWidth, alignCorners, halfPixelCenters, dx) => addon.resizeBilinearGrad({
      dy, batch, inHeight, inWidth, channels, outHeight, outWidth, alignCorners, halfPixelCenters, dx })
    : resizeBilinearGradImpl;
  return ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: Info; dy: Info };
    const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters: boolean };
    if (images.shape.length !== 4) throw new Error(`Expected shape [B, H, W, C] for images but received [${images.shape.join(', ')}]`);
    if (dy.shape.length !== 4 || dy.shape[0] !== images.shape[0] || dy.shape[3] !== images.shape[3]) {
      throw new Error(`Expected shape [${images.shape[0]}, OH, OW, ${images.shape[3]}] for dy but received [${dy.shape.join(', ')}]`);
    }
    if (dy.dtype !== 'float32') throw new Error(`Expected float32 for dy but received ${dy.dtype}`);
    const [, H, W] = images.shape as [number, number, number, number];
    const { info, data } = hostOutput(backend, images.shape, false); // the impl overwrites every element
    const g = hostInput(backend, dy); // after the output: making it may move the wasm heap
    const centres = !!halfPixelCenters && !(cornersOverrideCentres && alignCorners);
    impl(g, dy.shape as [number, number, number, number], H, W, !!alignCorners, centres, data);
    return info;
  };
}
