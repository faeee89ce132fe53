// Host blocks: the memory of the cpu backend's kernel outputs (src/tf/kernels/host.ts), allocated here and
// handed to V8 as external ArrayBuffers, and freed here when src/tf/kernels/release.ts says so.
//
// Why not V8's own ArrayBuffers: V8 forces a young-generation GC whenever it allocates a backing store
// while 32 MB of young ones are alive, and a training step allocates gigabytes of outputs (about 160
// scavenges a step, full model at batch 16). It makes no such check for memory it did not allocate.
// Why detachBuffer frees: Node runs an external buffer's finalizer from the event loop only, after the
// step; a block detached while the step runs is freed at once, its finalizer later frees nothing.
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>

#include "args.h"
#include "bindings.h"

namespace sacl {
namespace addon {
namespace {

struct HostBlock {
  void* data;  // null once freed by detachBuffer
  int64_t bytes;
};

// V8 counts every ArrayBuffer's bytes as external memory while it lives, and whenever an increase takes
// the count more than 64 MB above its lowest point since the last full GC, it starts or advances a full
// GC in that very call. A training step's outputs swing the count by gigabytes: that was ~140 ms of
// serial GC work a step. A host block is freed by its release, not by a GC, so it is kept out of the
// count: taken off just before V8 adds it, given back just after V8 removes it (at the detach, or the
// collection). The count dips by the block's size and comes back, never above where it was; but for a
// block of more than 64 MB the way back up from the dip is over the limit, so release.ts reuses those
// blocks rather than freeing them.
void hideFromV8(Napi::Env env, int64_t bytes) { Napi::MemoryManagement::AdjustExternalMemory(env, -bytes); }
void returnToV8(Napi::Env env, int64_t bytes) { Napi::MemoryManagement::AdjustExternalMemory(env, bytes); }

std::mutex blocksMutex;
std::unordered_map<void*, HostBlock*> liveBlocks;  // data → its block, until its memory is freed

// Forgets `data`'s block and returns it (null when data is not a live host block).
HostBlock* takeBlock(void* data) {
  std::lock_guard<std::mutex> lock(blocksMutex);
  auto it = liveBlocks.find(data);
  if (it == liveBlocks.end()) return nullptr;
  HostBlock* block = it->second;
  liveBlocks.erase(it);
  return block;
}

void finalizeBlock(Napi::Env env, void*, HostBlock* block) {
  if (block->data != nullptr) {
    takeBlock(block->data);
    std::free(block->data);
    returnToV8(env, block->bytes);
  }
  delete block;
}

}  // namespace

// allocateBuffer(bytes, zero) → an ArrayBuffer of `bytes` on a new host block, zeroed when asked.
Napi::Value allocateBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 2);
  const int64_t bytes = requireInteger(info, 0, "bytes", 0, kMaxElements * 8);
  const bool zero = requireBool(env, info[1], "zero");
  if (bytes == 0) return Napi::ArrayBuffer::New(env, 0);  // V8 keeps no address for an empty buffer
  const size_t size = static_cast<size_t>(bytes);
  void* data = zero ? std::calloc(size, 1) : std::malloc(size);
  if (data == nullptr) throwRange(env, "bytes", "a size this process can allocate", std::to_string(bytes));
  auto* block = new HostBlock{data, bytes};
  {
    std::lock_guard<std::mutex> lock(blocksMutex);
    liveBlocks.emplace(data, block);
  }
  hideFromV8(env, bytes);
  try {
    return Napi::ArrayBuffer::New(env, data, static_cast<size_t>(bytes), finalizeBlock, block);
  } catch (...) {  // a runtime that refuses external buffers (a V8 sandbox): the caller falls back to V8's
    returnToV8(env, bytes);
    takeBlock(data);
    std::free(data);
    delete block;
    throw;
  }
}

// Frees an ArrayBuffer's memory now, by detaching it, instead of at V8's next full GC: the cpu backend's
// kernel outputs once no tensor and no reader holds them (src/tf/kernels/release.ts decides which). A host
// block's memory is freed here; V8's own frees with the detach.
Napi::Value detachBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsArrayBuffer()) {
    throw Napi::TypeError::New(env, "Expected an ArrayBuffer for buffer but received " + std::string(info.Length() ? "another value" : "nothing"));
  }
  auto buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return env.Undefined();
  void* data = buffer.Data();
  buffer.Detach();
  if (HostBlock* block = takeBlock(data)) {
    std::free(block->data);
    block->data = nullptr;
    returnToV8(env, block->bytes);
  }
  return env.Undefined();
}

int64_t liveHostBlocks() {
  std::lock_guard<std::mutex> lock(blocksMutex);
  return static_cast<int64_t>(liveBlocks.size());
}

}  // namespace addon
}  // namespace sacl
