/** knnGraph: batched dense K-nearest-neighbour graph (docs/ops.md, knnGraph). */
import { KNN_METRICS, type Float32Tensor, type Int32Tensor, type KnnGraphOptions } from '../types.js';
import type { KnnGraphArgs, OpsBackend } from '../backends/backend.js';
import { resolveBackend } from '../backends/registry.js';
import { int32Output } from './outputs.js';
import {
  MAX_ELEMENTS, checkBoolean, checkDim, checkFinite, checkFloat32Tensor, checkInteger, checkOneOf, checkOptions,
  rangeError,
} from '../util/validate.js';

interface Plan {
  backend: OpsBackend;
  args: KnnGraphArgs;
  out: Int32Tensor;
}

function plan(x: Float32Tensor, k: number, options: KnnGraphOptions | undefined): Plan {
  const opts = checkOptions('options', options);
  const [B, N, D] = checkFloat32Tensor('x', x, ['B', 'N', 'D']) as [number, number, number];
  checkInteger('k', k, 1);
  const metric = opts.metric === undefined ? 'euclidean' : checkOneOf('options.metric', opts.metric, KNN_METRICS);
  const normalize = opts.normalize === undefined ? false : checkBoolean('options.normalize', opts.normalize);
  const dilation = opts.dilation === undefined ? 1 : checkInteger('options.dilation', opts.dilation, 1);
  let M = N;
  if (opts.candidates !== undefined) {
    const yShape = checkFloat32Tensor('options.candidates', opts.candidates, ['B', 'M', 'D']);
    checkDim('options.candidates', yShape, 0, 'B', B, 'x.shape[0]');
    checkDim('options.candidates', yShape, 2, 'D', D, 'x.shape[2]');
    M = yShape[1]!;
  }
  if (k * dilation > M) {
    throw rangeError('k', `k·dilation ≤ M = ${M}`, `k = ${k} with dilation ${dilation} (${k * dilation})`);
  }
  if (B * N * k > MAX_ELEMENTS) throw rangeError('k', `B·N·k ≤ ${MAX_ELEMENTS}`, `${B}·${N}·${k} = ${B * N * k}`);
  const backend = resolveBackend(opts.backend);
  if (!backend.checksFinite) {
    checkFinite('x', x);
    if (opts.candidates) checkFinite('options.candidates', opts.candidates);
  }
  const args: KnnGraphArgs = { x: x.data, y: opts.candidates?.data ?? null, B, N, M, D, k, dilation, metric, normalize };
  const out = int32Output('options.into', opts.into, [B, N, k], [['x', x.data], ['options.candidates', opts.candidates?.data]]);
  return { backend, args, out };
}

/**
 * For every row x[b, i] the k nearest rows of the candidates (default x itself, self included), sorted by
 * ascending distance, ties to the lower index. Returns Int32 [B, N, k].
 */
export function knnGraph(x: Float32Tensor, k: number, options?: KnnGraphOptions): Int32Tensor {
  const p = plan(x, k, options);
  p.backend.knnGraph(p.args, p.out.data, false);
  return p.out;
}

/** {@link knnGraph} off the event loop. Do not modify or transfer the inputs until it settles. */
export async function knnGraphAsync(x: Float32Tensor, k: number, options?: KnnGraphOptions): Promise<Int32Tensor> {
  const p = plan(x, k, options);
  await p.backend.knnGraph(p.args, p.out.data, true);
  return p.out;
}
