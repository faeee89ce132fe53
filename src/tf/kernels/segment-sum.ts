/** UnsortedSegmentSum (the gradient of gather), which the wasm backend lacks. */
import { type Info, type KernelFunc, type WasmBackendLike } from './host.js';

/**
 * UnsortedSegmentSum (the gradient of gather) for backends that lack it (wasm): out[s, …] = Σ x[i, …]
 * over the rows i whose segment id is s; ids outside [0, numSegments) are dropped, as tfjs' cpu does.
 */
export function unsortedSegmentSum(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: Info; segmentIds: Info };
    const { numSegments } = attrs as { numSegments: number };
    const b = backend as WasmBackendLike;
    const values = b.readSync(x.dataId);
    const ids = b.readSync(segmentIds.dataId);
    const rows = segmentIds.shape.reduce((p, d) => p * d, 1);
    const inner = x.shape.slice(segmentIds.shape.length).reduce((p, d) => p * d, 1);
    const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
    const acc = b.typedArrayFromHeap(out);
    acc.fill(0);
    for (let i = 0; i < rows; i++) {
      const s = ids[i]!;
      if (s < 0 || s >= numSegments) continue;
      for (let j = 0; j < inner; j++) acc[s * inner + j]! += values[i * inner + j]!;
    }
    return out;
  };
}
