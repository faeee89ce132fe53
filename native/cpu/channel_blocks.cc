#include "channel_blocks.h"

#include <algorithm>

#include "sacl/common.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {

ChannelBlocks channelBlocks(int64_t B, int64_t C) {
  const int64_t want = 4 * numThreads();
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>((want + B - 1) / B, (C + 15) / 16));
  const int64_t width = (C + blocks - 1) / blocks;
  return ChannelBlocks{width, (C + width - 1) / width};
}

SACL_CHANNEL_LOOP void narrow(const double* __restrict src, int64_t n, float* __restrict dst) {
  for (int64_t c = 0; c < n; ++c) dst[c] = static_cast<float>(src[c]);
}

}  // namespace cpu
}  // namespace sacl
