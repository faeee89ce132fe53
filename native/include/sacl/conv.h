// Convolutions behind the tfjs Conv2D, Conv2DBackpropFilter and depthwise kernels on 'cpu'
// (src/tf/kernels/conv-native.ts): float32, NHWC, dilation 1, any stride and padding. Outputs are fully
// overwritten. Every output element is computed by one thread in an order fixed by the shapes alone, so
// results never depend on the thread count.
#pragma once
#include <cstdint>

namespace sacl {

// One convolution's sizes, as tfjs' computeConv2DInfo gives them. Taps outside the input read zeros.
struct ConvGeometry {
  int64_t B, H, W, Ci;  // x: [B, H, W, Ci]
  int64_t KH, KW, Co;   // filter: [KH, KW, Ci, Co]; depthwise: [KH, KW, Ci, Co / Ci]
  int64_t OH, OW;       // y: [B, OH, OW, Co]
  int64_t strideH, strideW;
  int64_t padTop, padLeft;  // padding before the first row / column (bottom and right follow from OH, OW)
};

namespace cpu {

// y = conv(x, w): a GEMM of the im2col matrix, which the GEMM gathers from x as it packs it (stored in row
// blocks only where the product is narrow: Co or the output cells at most 16); a plain GEMM for 1×1
// stride-1 unpadded filters. When w holds NaN or ±∞ and some tap falls outside the input, direct loops that
// skip those taps run instead, as tfjs does: im2col would multiply them by zero (∞·0 = NaN).
void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y);

// dw = Σ over batch and output cells of patch(x)ᵀ · dy: im2col row blocks of a fixed size (set by the
// shapes), one GEMM each, their partial sums added in block order. Direct loops when dy holds NaN or ±∞
// and some tap falls outside the input (as conv2d).
void conv2dBackpropFilter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

// dx[b, ih, iw, ci] = Σ over the taps that read (ih, iw) of Σ_co w[kh, kw, ci, co] · dy[b, oh, ow, co].
// Stride 1 (padding under the filter's size): conv2d of dy with w turned 180° and its channel axes swapped.
// Other strides: per block of output rows, col = dy · wᵀ by GEMM, then each dx element adds the block's taps
// in (kh, kw) order. A plain GEMM for 1×1 stride-1 unpadded filters. Only taps inside the input count, as in
// tfjs (with a finite filter, conv2d's taps off dy add 0 · w; with NaN or ±∞, its direct loops skip them).
void conv2dBackpropInput(const ConvGeometry& g, const float* dy, const float* w, float* dx);

// The depthwise kernels are direct loops with tfjs-backend-cpu's arithmetic, so their results are tfjs' to
// the bit: the forward pass adds each tap's product in float64 to the float32 output (rounding after every
// tap); the gradients sum in float64, in tfjs' order, and round once.
// y[b, oh, ow, c·M + m] = Σ_{kh, kw} x[b, ih, iw, c] · w[kh, kw, c, m] (M = Co / Ci).
void depthwiseConv2d(const ConvGeometry& g, const float* x, const float* w, float* y);
// dx[b, ih, iw, c] = Σ over the (oh, ow, m) whose taps read (ih, iw) of w[kh, kw, c, m] · dy[b, oh, ow, c·M + m].
void depthwiseBackpropInput(const ConvGeometry& g, const float* dy, const float* w, float* dx);
// dw[kh, kw, c, m] = Σ_{b, oh, ow} x[b, ih, iw, c] · dy[b, oh, ow, c·M + m].
void depthwiseBackpropFilter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

}  // namespace cpu
}  // namespace sacl
