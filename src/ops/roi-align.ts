/** roiAlign and roiAlignGrad: bilinear S×S crops around centres (docs/ops.md, roiAlign). */
import type { Float32Tensor, RoiAlignOptions } from '../types.js';
import type { OpsBackend, RoiAlignGeometry } from '../backends/backend.js';
import { resolveBackend } from '../backends/registry.js';
import { float32Output } from './outputs.js';
import {
  MAX_ELEMENTS, checkDim, checkFinite, checkFloat32Tensor, checkInteger, checkOptions, checkPositive, describe, rangeError,
  typeError,
} from '../util/validate.js';

/** Largest crop side (the native layer refuses larger ones too). */
const MAX_SIZE = 4096;

interface Geometry {
  backend: OpsBackend;
  geometry: RoiAlignGeometry;
}

/** Checks the centres (against B and, for gradients, the R of dOut) and the output size; picks the backend. */
function planGeometry(centers: Float32Tensor, B: number, H: number, W: number, C: number, S: number,
  opts: RoiAlignOptions, source: string, R?: number): Geometry {
  const cShape = checkFloat32Tensor('centers', centers, ['B', 'R', '2']);
  checkDim('centers', cShape, 0, 'B', B, `${source}.shape[0]`);
  if (R !== undefined) checkDim('centers', cShape, 1, 'R', R, `${source}.shape[1]`);
  checkDim('centers', cShape, 2, '2', 2, 'an (x, y) pair');
  R = cShape[1]!;
  const step = opts.step === undefined ? 1 : checkPositive('options.step', opts.step);
  if (B * R * S * S * C > MAX_ELEMENTS) {
    throw rangeError('size', `B·R·S·S·C ≤ ${MAX_ELEMENTS}`, `${B}·${R}·${S}·${S}·${C} = ${B * R * S * S * C}`);
  }
  checkFinite('centers', centers);
  const backend = resolveBackend(opts.backend);
  return { backend, geometry: { B, H, W, C, centers: centers.data, R, S, step } };
}

function planForward(features: Float32Tensor, centers: Float32Tensor, size: number, options: RoiAlignOptions | undefined) {
  const opts = checkOptions('options', options);
  const [B, H, W, C] = checkFloat32Tensor('features', features, ['B', 'H', 'W', 'C']) as [number, number, number, number];
  const S = checkInteger('size', size, 1, MAX_SIZE);
  const { backend, geometry } = planGeometry(centers, B, H, W, C, S, opts, 'features');
  const out = float32Output('options.into', opts.into, [B, geometry.R, S, S, C], [['features', features.data], ['centers', centers.data]]);
  return { backend, args: { ...geometry, features: features.data }, out };
}

/**
 * out[b, r, v, u, c] = bilinear sample of features[b] at (cx + (u − (S−1)/2)·step, cy + (v − (S−1)/2)·step),
 * with torchvision's border rule. Returns [B, R, S, S, C].
 */
export function roiAlign(features: Float32Tensor, centers: Float32Tensor, size: number, options?: RoiAlignOptions): Float32Tensor {
  const p = planForward(features, centers, size, options);
  p.backend.roiAlign(p.args, p.out.data, false);
  return p.out;
}

/** {@link roiAlign} off the event loop. */
export async function roiAlignAsync(features: Float32Tensor, centers: Float32Tensor, size: number, options?: RoiAlignOptions): Promise<Float32Tensor> {
  const p = planForward(features, centers, size, options);
  await p.backend.roiAlign(p.args, p.out.data, true);
  return p.out;
}

function planGrad(dOut: Float32Tensor, centers: Float32Tensor, featureShape: readonly number[], options: RoiAlignOptions | undefined) {
  const opts = checkOptions('options', options);
  if (!Array.isArray(featureShape)) throw typeError('featureShape', 'an array [B, H, W, C]', describe(featureShape));
  if (featureShape.length !== 4) throw rangeError('featureShape', '4 sizes [B, H, W, C]', `${featureShape.length} sizes`);
  const [B, H, W, C] = featureShape.map((d, i) => checkInteger(`featureShape[${i}]`, d, 1)) as [number, number, number, number];
  if (B * H * W * C > MAX_ELEMENTS) throw rangeError('featureShape', `at most ${MAX_ELEMENTS} elements`, `${B * H * W * C}`);
  const gShape = checkFloat32Tensor('dOut', dOut, ['B', 'R', 'S', 'S', 'C']);
  checkDim('dOut', gShape, 0, 'B', B, 'featureShape[0]');
  checkDim('dOut', gShape, 3, 'S', gShape[2]!, 'dOut.shape[2]: crops are square');
  checkDim('dOut', gShape, 4, 'C', C, 'featureShape[3]');
  const S = checkInteger('dOut.shape[2] (S)', gShape[2]!, 1, MAX_SIZE);
  const { backend, geometry } = planGeometry(centers, B, H, W, C, S, opts, 'dOut', gShape[1]!);
  const dFeatures = float32Output('options.into', opts.into, [B, H, W, C], [['dOut', dOut.data], ['centers', centers.data]]);
  return { backend, args: { ...geometry, dOut: dOut.data }, dFeatures };
}

/** Gradient of {@link roiAlign} with respect to the features (none flows to the centres). Deterministic. */
export function roiAlignGrad(dOut: Float32Tensor, centers: Float32Tensor, featureShape: readonly number[], options?: RoiAlignOptions): Float32Tensor {
  const p = planGrad(dOut, centers, featureShape, options);
  p.backend.roiAlignGrad(p.args, p.dFeatures.data, false);
  return p.dFeatures;
}

/** {@link roiAlignGrad} off the event loop. */
export async function roiAlignGradAsync(dOut: Float32Tensor, centers: Float32Tensor, featureShape: readonly number[], options?: RoiAlignOptions): Promise<Float32Tensor> {
  const p = planGrad(dOut, centers, featureShape, options);
  await p.backend.roiAlignGrad(p.args, p.dFeatures.data, true);
  return p.dFeatures;
}
