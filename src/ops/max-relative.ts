/** maxRelative and maxRelativeGrad: Vision GNN's Max-Relative aggregation (SPEC §1.2). */
import type {
  Float32Tensor, Int32Tensor, MaxRelativeGradResult, MaxRelativeOptions, MaxRelativeResult,
} from '../types.js';
import type { MaxRelativeGradArgs, OpsBackend } from '../backends/backend.js';
import { resolveBackend } from '../backends/registry.js';
import { outputFloat32, outputInt32 } from './outputs.js';
import {
  checkDim, checkFloat32Tensor, checkIndexRange, checkInt32Tensor, checkOptions,
} from './validate.js';

/** M (rows idx points into) from the candidates, checked against x's B and C; N when there are none. */
function candidateRows(opts: MaxRelativeOptions, B: number, N: number, C: number, cName: string): number {
  if (opts.candidates === undefined) return N;
  const yShape = checkFloat32Tensor('options.candidates', opts.candidates, ['B', 'M', 'C']);
  checkDim('options.candidates', yShape, 0, 'B', B, `${cName}.shape[0]`);
  checkDim('options.candidates', yShape, 2, 'C', C, `${cName}.shape[2]`);
  return yShape[1]!;
}

function checkGraph(idx: Int32Tensor, B: number, N: number, M: number, source: string): number {
  const idxShape = checkInt32Tensor('idx', idx, ['B', 'N', 'K']);
  checkDim('idx', idxShape, 0, 'B', B, `${source}.shape[0]`);
  checkDim('idx', idxShape, 1, 'N', N, `${source}.shape[1]`);
  checkIndexRange('idx', idx, M, 'M, the number of neighbour rows');
  return idxShape[2]!;
}

function planForward(x: Float32Tensor, idx: Int32Tensor, options: MaxRelativeOptions | undefined) {
  const opts = checkOptions('options', options);
  const [B, N, C] = checkFloat32Tensor('x', x, ['B', 'N', 'C']) as [number, number, number];
  const M = candidateRows(opts, B, N, C, 'x');
  const K = checkGraph(idx, B, N, M, 'x');
  const backend = resolveBackend(opts.backend);
  const args = { x: x.data, y: opts.candidates?.data ?? null, idx: idx.data, B, N, M, C, K };
  const result: MaxRelativeResult = {
    out: { shape: [B, N, C], data: outputFloat32(B * N * C) },
    argmax: { shape: [B, N, C], data: outputInt32(B * N * C) },
  };
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

function planGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options: MaxRelativeOptions | undefined): GradPlan {
  const opts = checkOptions('options', options);
  const [B, N, C] = checkFloat32Tensor('dOut', dOut, ['B', 'N', 'C']) as [number, number, number];
  const M = candidateRows(opts, B, N, C, 'dOut');
  const K = checkGraph(idx, B, N, M, 'dOut');
  const amShape = checkInt32Tensor('argmax', argmax, ['B', 'N', 'C']);
  ['B', 'N', 'C'].forEach((d, a) => checkDim('argmax', amShape, a, d, dOut.shape[a]!, `dOut.shape[${a}]`));
  checkIndexRange('argmax', argmax, K, 'K, the number of neighbour slots');
  const backend = resolveBackend(opts.backend);
  const args = { dOut: dOut.data, idx: idx.data, argmax: argmax.data, B, N, M, C, K };
  const dx = { shape: [B, N, C], data: outputFloat32(B * N * C) };
  const dy = opts.candidates ? { shape: [B, M, C], data: outputFloat32(B * M * C) } : null;
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
  options: MaxRelativeOptions & { candidates: Float32Tensor }): MaxRelativeGradResult;
export function maxRelativeGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeOptions): Float32Tensor;
export function maxRelativeGrad(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeOptions) {
  const p = planGrad(dOut, idx, argmax, options);
  p.backend.maxRelativeGrad(p.args, p.dx.data, p.dy?.data ?? null, false);
  return gradResult(p);
}

/** {@link maxRelativeGrad} off the event loop. */
export function maxRelativeGradAsync(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor,
  options: MaxRelativeOptions & { candidates: Float32Tensor }): Promise<MaxRelativeGradResult>;
export function maxRelativeGradAsync(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeOptions): Promise<Float32Tensor>;
export async function maxRelativeGradAsync(dOut: Float32Tensor, idx: Int32Tensor, argmax: Int32Tensor, options?: MaxRelativeOptions) {
  const p = planGrad(dOut, idx, argmax, options);
  await p.backend.maxRelativeGrad(p.args, p.dx.data, p.dy?.data ?? null, true);
  return gradResult(p);
}
