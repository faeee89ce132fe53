// What the channel-blocked backward passes share (max_relative.cc, roi_align.cc): the split of each batch
// item's channels into blocks, one task each, and the narrowing of their double accumulators.
#pragma once
#include <cstdint>

namespace sacl {
namespace cpu {

struct ChannelBlocks {
  int64_t width;  // channels per block (the last one may be narrower)
  int64_t count;  // blocks per batch item
};

// Enough (batch item, block) tasks for every thread, blocks no narrower than 16 channels.
ChannelBlocks channelBlocks(int64_t B, int64_t C);

// dst[c] = float(src[c]) for c < n.
void narrow(const double* src, int64_t n, float* dst);

}  // namespace cpu
}  // namespace sacl
