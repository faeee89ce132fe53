/**
 * The addon's argument objects as NativeAddon types them (src/backends/native.ts), checked by the compiler
 * against the built declarations: a misspelt or missing key, or a value of another type, does not compile.
 * Run by public-api.test.js (tsc --noEmit with tsconfig.native.json). Each `@ts-expect-error` line must
 * fail to compile: if it compiles, tsc reports the unused directive.
 */
import type { ConvGeometry, NativeAddon, PoolGeometry } from '../../dist/backends/native.js';

declare const addon: NativeAddon;
declare const conv: ConvGeometry;
declare const pool: PoolGeometry;
const f = new Float32Array(4);
const i = new Int32Array(2);

addon.matMul({ a: f, b: f, batchA: 1, batchB: 1, M: 2, N: 2, K: 1, transA: false, transB: false, out: f });
// @ts-expect-error a misspelt key (transb)
addon.matMul({ a: f, b: f, batchA: 1, batchB: 1, M: 2, N: 2, K: 1, transA: false, transb: false, out: f });
// @ts-expect-error a missing key (out)
addon.matMul({ a: f, b: f, batchA: 1, batchB: 1, M: 2, N: 2, K: 1, transA: false, transB: false });
addon.binary({ op: 0, a: f, aShape: [4], b: f, bShape: [4], out: f, outShape: [4] });
// @ts-expect-error a shape given as a number
addon.binary({ op: 0, a: f, aShape: 4, b: f, bShape: [4], out: f, outShape: [4] });
addon.argReduce({ isMax: true, x: f, outer: 1, n: 4, inner: 1, out: i });
// @ts-expect-error a number for the boolean isMax
addon.argReduce({ isMax: 1, x: f, outer: 1, n: 4, inner: 1, out: i });
// @ts-expect-error a Float32Array for the Int32Array indices
addon.gather({ x: f, indices: f, batch: 1, outer: 1, dimSize: 4, slice: 1, count: 2, out: f });
addon.copyStrided({ src: f, srcOffset: 0, srcStrides: [1], dst: f, dstOffset: 0, dstStrides: [1], shape: [4] });
// @ts-expect-error dstOffset misspelt
addon.copyStrided({ src: f, srcOffset: 0, srcStrides: [1], dst: f, dstOfset: 0, dstStrides: [1], shape: [4] });

// a geometry object shared by several calls goes in through Object.assign: a misspelt array key leaves the real one missing
addon.conv2d(Object.assign({ x: f, filter: f, y: f }, conv));
// @ts-expect-error filter misspelt
addon.conv2d(Object.assign({ x: f, filtr: f, y: f }, conv));
// @ts-expect-error conv2dBackpropInput takes dy and filter, not x
addon.conv2dBackpropInput(Object.assign({ x: f, filter: f, dx: f }, conv));
addon.maxPoolGrad(Object.assign({ dy: f, x: f, dx: f }, pool));
// @ts-expect-error a pool without its geometry
addon.maxPool({ x: f, out: f });
