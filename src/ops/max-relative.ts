/** maxRelative and maxRelativeGrad: Vision GNN's Max-Relative aggregation (docs/ops.md, maxRelative). */
import type {
  Float32Tensor, Int32Tensor, MaxRelativeGradOptions, MaxRelativeGradResult, MaxRelativeOptions, MaxRelativeResult,
} from '../types.js';
import type { MaxRelativeGradArgs, OpsBackend } from '../backends/backend.js';
import { resolveBackend } from '../backends/registry.js';
import { type NamedInput, float32Output, int32Output } from './outputs.js';
import {
  checkDim, checkFloat32Tensor, checkIndexRange, checkInt32Tensor, checkOptions, describe, typeError,
} from '../util/validate.js';

/** M (rows idx points into) from the candidates, checked against x's B and C; N when there are none. */
function candidateRows(opts: MaxRelativeOptions | MaxRelativeGradOptions, B: number, N: number, C: number, cName: string): number {
  if (opts.candidates === undefined) return N;
  const yShape = checkFloat32Tensor('options.candidates', opts.candidates, ['B', 'M', 'C']);
  checkDim('options.candidates', yShape, 0, 'B', B, `${cName}.shape[0]`);
  checkDim('options.candidates', yShape, 2, 'C', C, `${cName}.shape[2]`);
  return yShape[1]!;
}

/** idx's shape, and its values unless the backend checks them (the native one does, in the addon). */
function checkGraph(idx: Int32Tensor, B: number, N: number, M: number, source: string, backend: OpsBackend): number {
  const idxShape = checkInt32Tensor('idx', idx, ['B', 'N', 'K']);
  checkDim('idx', idxShape, 0, 'B', B, `${source}.shape[0]`);
  checkDim('idx', idxShape, 1, 'N', N, `${source}.shape[1]`);
  if (!backend.checksIndices) checkIndexRange('idx', idx, M, 'M, the number of neighbour rows');
  return idxShape[2]!;
}

function planForward(x: Float32Tensor, idx: Int32Tensor, options: MaxRelativeOptions | undefined) {
  const opts = checkOptions('options', options);
  const [B, N, C] = checkFloat32Tensor('x', x, ['B', 'N', 'C']) as [number, number, number];
  const M = candidateRows(opts, B, N, C, 'x');
  const backend = resolveBackend(opts.backend);
  const K = checkGraph(idx, B, N, M, 'x', backend);
  const args = { x: x.data, y: opts.candidates?.data ?? null, idx: idx.data, B, N, M, C, K };
  const into = intoObject(opts.into);
  const inputs: NamedInput[] = [['x', x.data], ['idx', idx.data], ['options.candidates', opts.candidates?.data]];
  const out = float32Output('options.into.out', into?.out, [B, N, C], inputs);
  const argmax = int32Output('options.into.argmax', into?.argmax, [B, N, C], [...inputs, ['options.into.out', out.data]]);
  const result: MaxRelativeResult = { out, argmax };
  return { backend, args, result };
}

/** out[b,i,c] = max_k y[b, idx[b,i,k], c] − x[b,i,c], with the winning slot in argmax. */
export function maxRelative(x: Float32Tensor, idx: Int32Tensor, options?: MaxRelativeOptions): MaxRelativeResult {
  const p = planForward(x, idx, options);
  p.backend.maxRelative(p.args, p.result.out.data, p.result.argmax.data, false);
  return p.result;
}

/** {@link maxRelative} off the event loop. */
export async function maxRelativeAsync(x: Float32Tensor, idx: Int32Tensor, options?: MaxRelativeOptions): Promise<MaxRelativeResult> {
  const p = planForward(x, idx, options);
  await p.backend.maxRelative(p.args, p.result.out.data, p.result.argmax.data, true);
  return p.result;
}

interface GradPlan {
  backend: OpsBackend;
  args: MaxRelativeGradArgs;
  dx: Float32Tensor;
  dy: Float32Tensor | null;
}

/** options.into: undefined or an object (its arrays are checked where they are used). */
function intoObject<T extends object>(into: T | undefined): Partial<T> | undefined {
  if (into === undefined) return undefined;
  if (into === null || typeof into !== 'object') throw typeError('options.into', 'an object of output arrays', describe(into));
  return into;
}

function planGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options: MaxRelativeGradOptions | undefined): GradPlan {
  const opts = checkOptions('options', options);
  const [B, N, C] = checkFloat32Tensor('dOut', dOut, ['B', 'N', 'C']) as [number, number, number];
  const M = candidateRows(opts, B, N, C, 'dOut');
  const backend = resolveBackend(opts.backend);
  const K = checkGraph(idx, B, N, M, 'dOut', backend);
  const amShape = checkInt32Tensor('argmax', argmax, ['B', 'N', 'C']);
  ['B', 'N', 'C'].forEach((d, a) => checkDim('argmax', amShape, a, d, dOut.shape[a]!, `dOut.shape[${a}]`));
  if (!backend.checksIndices) checkIndexRange('argmax', argmax, K, 'K, the number of neighbour slots');
  const args = { dOut: dOut.data, idx: idx.data, argmax: argmax.data, B, N, M, C, K };
  const into = intoObject(opts.into);
  const inputs: NamedInput[] = [['dOut', dOut.data], ['idx', idx.data], ['argmax', argmax.data]];
  const dx = float32Output('options.into.dx', into?.dx, [B, N, C], inputs);
  if (!opts.candidates && into?.dy !== undefined) {
    throw typeError('options.into.dy', 'undefined (there is no dy without options.candidates)', describe(into.dy));
  }
  const dy = opts.candidates ? float32Output('options.into.dy', into?.dy, [B, M, C], [...inputs, ['options.into.dx', dx.data]]) : null;
  return { backend, args, dx, dy };
}

function gradResult(p: GradPlan): Float32Tensor | MaxRelativeGradResult {
  return p.dy ? { dx: p.dx, dy: p.dy } : p.dx;
}

/**
 * Gradient of {@link maxRelative}: dx = −dOut (+ the scattered neighbour gradient when the neighbours are x);
 * with `options.candidates`, returns { dx, dy }. Deterministic.
 */
export function maxRelativeGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor,
  options: MaxRelativeGradOptions & { candidates: Float32Tensor }): MaxRelativeGradResult;
export function maxRelativeGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeGradOptions): Float32Tensor;
export function maxRelativeGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeGradOptions) {
  const p = planGrad(dOut, idx, argmax, options);
  p.backend.maxRelativeGrad(p.args, p.dx.data, p.dy?.data ?? null, false);
  return gradResult(p);
}

/** {@link maxRelativeGrad} off the event loop. */
export function maxRelativeGradAsync(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor,
  options: MaxRelativeGradOptions & { candidates: Float32Tensor }): Promise<MaxRelativeGradResult>;
export function maxRelativeGradAsync(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeGradOptions): Promise<Float32Tensor>;
export async function maxRelativeGradAsync(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeGradOptions) {
  const p = planGrad(dOut, idx, argmax, options);
  await p.backend.maxRelativeGrad(p.args, p.dx.data, p.dy?.data ?? null, true);
  return gradResult(p);
}
