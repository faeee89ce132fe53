// Data movement, pooling and resizing behind the tfjs kernels of src/tf/kernels/movement.ts (cpu backend):
// strided copies (Transpose, Slice, Concat, Pack, Unpack, PadV2, Tile, SplitV), GatherV2 and its gradient
// UnsortedSegmentSum, ResizeBilinear, MaxPool, AvgPool and their gradients. Tensors are row-major; images are NHWC.
// Every output element is written by one thread, and each sum (the pools', their gradients',
// UnsortedSegmentSum's) is taken per element in a fixed order, so results never depend on the thread count.
#pragma once
#include <cstdint>

namespace sacl {

// The largest rank a strided copy takes (Tile doubles a tensor's rank).
constexpr int kMaxCopyRank = 16;

// A 2-D pool's geometry, as tfjs' computePool2DInfo gives it (dilation 1).
struct Pool2D {
  int64_t batch, inHeight, inWidth, channels;
  int64_t outHeight, outWidth;
  int64_t filterHeight, filterWidth;
  int64_t strideHeight, strideWidth;
  int64_t padTop, padLeft;
};

namespace cpu {

// dst[Σ i[a]·dstStrides[a]] = src[Σ i[a]·srcStrides[a]] for every index i within shape, 4-byte words
// copied bit for bit (float32 and int32 alike). Strides are ≥ 0 (0 repeats, as Tile does); distinct
// indices must reach distinct destination words (the caller's contract: otherwise the copy races).
void copyStrided(const uint32_t* src, const int64_t* srcStrides, uint32_t* dst, const int64_t* dstStrides,
                 const int64_t* shape, int rank);

// out[b, o, i, :] = x[b, o, indices[b, i], :]: GatherV2 with x as [batch, outer, dimSize, slice] and the
// indices as [batch, count], each in [0, dimSize) (the caller checked). 4-byte words copied bit for bit.
void gather(const uint32_t* x, const int32_t* indices, int64_t batch, int64_t outer, int64_t dimSize, int64_t slice,
            int64_t count, uint32_t* out);

// out[s, :] = Σ x[i, :] over the rows i with ids[i] = s, in float64 in row order, rounded once; ids outside
// [0, numSegments) are dropped. As tfjs-backend-cpu, which sums mask · x over every row: a column where
// some row outside segment s holds ±∞ or NaN is NaN for s too (0 · ∞ is NaN). Each segment is summed by
// one thread.
void unsortedSegmentSum(const float* x, const int32_t* ids, int64_t rows, int64_t inner, int64_t numSegments,
                        float* out);

// tfjs-backend-cpu's ResizeBilinear, to the bit: source coordinates and the two-step interpolation in
// float64, each output rounded once to float32. x is [batch, inHeight, inWidth, channels].
void resizeBilinear(const float* x, int64_t batch, int64_t inHeight, int64_t inWidth, int64_t channels,
                    int64_t outHeight, int64_t outWidth, bool alignCorners, bool halfPixelCenters, float* out);

// The adjoint of resizeBilinear: dx [batch, inHeight, inWidth, channels] (overwritten) from dy [batch,
// outHeight, outWidth, channels], each dy value scattered to the four source pixels with the forward's
// weights (a source coordinate past the last pixel clamps to it). Summed in float64 in a fixed order per
// image, one image per task, so the result does not depend on the thread count.
void resizeBilinearGrad(const float* dy, int64_t batch, int64_t inHeight, int64_t inWidth, int64_t channels,
                        int64_t outHeight, int64_t outWidth, bool alignCorners, bool halfPixelCenters, float* dx);

// out = the maximum over each window's in-image positions (−∞ when none is a number: NaN never wins).
void maxPool(const float* x, const Pool2D& p, float* out);

// dx[x] = Σ dy over the windows whose first maximum (row-major, strictly greater wins) sits at x, summed
// in float64 in row-major window order and rounded once: tfjs-backend-cpu's MaxPoolGrad.
void maxPoolGrad(const float* dy, const float* x, const Pool2D& p, float* dx);

// out = the float64 mean over each window's in-image positions, summed in row-major order (NaN for a
// window with none): tfjs-backend-cpu's AvgPool.
void avgPool(const float* x, const Pool2D& p, float* out);

// dx[x] = (Σ dy over the windows holding x, in float64 in row-major window order) · 1 / (filterHeight ·
// filterWidth), rounded once: tfjs-backend-cpu's AvgPoolGrad (which divides by the whole window's size
// even where the forward pass averaged fewer, padded, positions).
void avgPoolGrad(const float* dy, const Pool2D& p, float* dx);

}  // namespace cpu
}  // namespace sacl
