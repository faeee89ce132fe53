// Test-only CUDA emulation: the same .cu kernel sources compile with g++ and run on the CPU.
//
// - A launch runs its blocks one at a time. By default the threads of a block are fibers (ucontext) on
//   the calling thread, switched only at __syncthreads and warp intrinsics: each thread runs as far ahead
//   as the barriers allow, so a missing barrier shows up as a wrong result. With SACL_CUDA_EMU_THREADS=1
//   they are real std::threads instead (slow, but ThreadSanitizer then sees every race; docs/kernels.md).
//   Launches are serialized process-wide, which is what makes `__shared__` (a function-local static here)
//   private to the one running block.
// - Provided: threadIdx/blockIdx/blockDim/gridDim, __syncthreads, __shfl_sync/_up/_down/_xor, __ballot_sync,
//   __all_sync/__any_sync, atomicAdd/atomicMax/atomicMin/atomicCAS/atomicExch, __threadfence, and the
//   runtime calls the launchers use (device memory is host memory). Kernels must use nothing else.
// - Launch with SACL_LAUNCH(kernel, grid, block, stream)(args…), which is kernel<<<grid, block, 0, stream>>>
//   under nvcc.
#pragma once
#if defined(__CUDACC__)
#error "cuda_emulation.h is for host compilers only"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <ucontext.h>
#include <vector>

#define SACL_CUDA_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
// one block runs at a time (launches are serialized), so a static is exactly block-shared memory
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};

namespace sacl_emu {

struct Block;

struct ThreadState {
  uint3 threadIdx{0, 0, 0}, blockIdx{0, 0, 0};
  dim3 blockDim, gridDim;
  unsigned linear = 0;  // linear thread index in the block
  Block* block = nullptr;
  // fiber mode
  ucontext_t ctx;
  bool done = false;
  const void* waitingOn = nullptr;  // the barrier this fiber is parked at
};

// The emulated thread now running (set by the fiber scheduler, or per OS thread in thread mode).
inline ThreadState*& current() {
  static thread_local ThreadState* s = nullptr;
  return s;
}
inline ThreadState& self() { return *current(); }

inline bool realThreads() {
  static const bool on = [] {
    const char* v = std::getenv("SACL_CUDA_EMU_THREADS");
    return v && v[0] == '1';
  }();
  return on;
}

// Where a fiber returns to when it parks or finishes.
inline ucontext_t& schedulerContext() {
  static thread_local ucontext_t ctx;
  return ctx;
}

// A reusable barrier for `count` emulated threads. Fiber mode: park until the scheduler releases
// everyone; thread mode: a condition variable.
class Barrier {
 public:
  explicit Barrier(unsigned count) : count_(count) {}
  void wait() {
    if (!realThreads()) {
      ThreadState& s = self();
      s.waitingOn = this;
      swapcontext(&s.ctx, &schedulerContext());
      return;
    }
    std::unique_lock<std::mutex> lock(m_);
    const unsigned gen = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen != generation_; });
    }
  }
  unsigned count() const { return count_; }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned count_, arrived_ = 0, generation_ = 0;
};

// One warp's exchange area for shuffles and votes.
struct Warp {
  explicit Warp(unsigned lanes) : lanes(lanes), barrier(lanes) {}
  unsigned lanes;
  Barrier barrier;
  uint64_t values[32] = {};
};

struct Block {
  Block(unsigned threads) : barrier(threads) {
    for (unsigned w = 0; w < (threads + 31) / 32; ++w) warps.emplace_back(new Warp(std::min(32u, threads - 32 * w)));
  }
  Barrier barrier;
  std::vector<std::unique_ptr<Warp>> warps;
};

inline std::mutex& launchMutex() {
  static std::mutex m;
  return m;
}

// Shuffle: every lane of the warp publishes v, then reads lane `src` (its own value when src is out of
// range or outside the warp, as CUDA returns for lanes that do not exist).
template <class T>
T shuffle(T v, int src) {
  static_assert(sizeof(T) <= 8, "shuffle of values up to 8 bytes");
  ThreadState& s = self();
  Warp& w = *s.block->warps[s.linear / 32];
  const unsigned lane = s.linear % 32;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  w.values[lane] = bits;
  w.barrier.wait();
  T out = v;
  if (src >= 0 && static_cast<unsigned>(src) < w.lanes) std::memcpy(&out, &w.values[src], sizeof(T));
  w.barrier.wait();  // nobody overwrites values before every lane has read
  return out;
}

inline unsigned ballot(bool pred) {
  ThreadState& s = self();
  Warp& w = *s.block->warps[s.linear / 32];
  const unsigned lane = s.linear % 32;
  w.values[lane] = pred ? 1 : 0;
  w.barrier.wait();
  unsigned bits = 0;
  for (unsigned l = 0; l < w.lanes; ++l) bits |= static_cast<unsigned>(w.values[l]) << l;
  w.barrier.wait();
  return bits;
}

inline void setIndices(ThreadState& s, unsigned t, dim3 block, dim3 grid, uint3 blockIdx, Block* b) {
  s.threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
  s.blockIdx = blockIdx;
  s.blockDim = block;
  s.gridDim = grid;
  s.linear = t;
  s.block = b;
  s.done = false;
  s.waitingOn = nullptr;
}

// Fiber mode: runs every fiber until it parks or finishes; releases a barrier once all the threads it
// counts have parked there. Returns when every fiber has finished.
inline void schedule(std::vector<ThreadState>& threads, Block& block) {
  for (;;) {
    bool running = false;
    for (ThreadState& s : threads) {
      if (s.done || s.waitingOn) continue;
      running = true;
      current() = &s;
      swapcontext(&schedulerContext(), &s.ctx);
    }
    if (running) continue;
    // nobody can run: release the barriers whose threads have all arrived
    bool released = false, any = false;
    auto release = [&](const Barrier* bar, unsigned first, unsigned count) {
      unsigned arrived = 0;
      for (unsigned t = first; t < first + count; ++t) arrived += threads[t].waitingOn == bar;
      if (arrived == 0) return;
      any = true;
      if (arrived != count) return;
      for (unsigned t = first; t < first + count; ++t) threads[t].waitingOn = nullptr;
      released = true;
    };
    release(&block.barrier, 0, block.barrier.count());
    for (unsigned w = 0; w < block.warps.size(); ++w) release(&block.warps[w]->barrier, 32 * w, block.warps[w]->lanes);
    if (!any) return;  // every fiber finished
    if (!released) throw std::runtime_error("emulated kernel deadlocked: a barrier that not every thread reaches");
  }
}

template <class Kernel, class... Args>
struct FiberJob {
  Kernel kernel;
  std::tuple<Args...> args;
  std::exception_ptr error;
};

template <class Job>
void fiberMain(unsigned lo, unsigned hi) {
  Job* job = reinterpret_cast<Job*>((static_cast<uintptr_t>(hi) << 32) | lo);
  ThreadState& s = self();
  try {
    std::apply(job->kernel, job->args);
  } catch (...) {
    if (!job->error) job->error = std::current_exception();
  }
  s.done = true;
  swapcontext(&s.ctx, &schedulerContext());
}

// Runs kernel(args…) over the grid: blocks one after another, each block's threads as fibers (default) or
// real threads (SACL_CUDA_EMU_THREADS=1).
template <class Kernel, class... Args>
void launch(dim3 grid, dim3 block, Kernel kernel, Args... args) {
  std::lock_guard<std::mutex> serial(launchMutex());
  const unsigned threads = block.x * block.y * block.z;
  if (threads == 0 || threads > 1024) throw std::runtime_error("emulated launch: invalid block size");
  constexpr size_t kStack = 256 * 1024;
  static std::vector<std::unique_ptr<char[]>> stacks;  // reused across launches (serialized)
  while (!realThreads() && stacks.size() < threads) stacks.emplace_back(new char[kStack]);
  ThreadState* const outer = current();
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        Block b(threads);
        std::vector<ThreadState> states(threads);
        if (!realThreads()) {
          using Job = FiberJob<Kernel, Args...>;
          Job job{kernel, std::make_tuple(args...), nullptr};
          const uintptr_t p = reinterpret_cast<uintptr_t>(&job);
          for (unsigned t = 0; t < threads; ++t) {
            ThreadState& s = states[t];
            setIndices(s, t, block, grid, {bx, by, bz}, &b);
            getcontext(&s.ctx);
            s.ctx.uc_stack.ss_sp = stacks[t].get();
            s.ctx.uc_stack.ss_size = kStack;
            s.ctx.uc_link = nullptr;
            makecontext(&s.ctx, reinterpret_cast<void (*)()>(&fiberMain<Job>), 2,
                        static_cast<unsigned>(p & 0xffffffffu), static_cast<unsigned>(p >> 32));
          }
          schedule(states, b);
          current() = outer;
          if (job.error) std::rethrow_exception(job.error);
          continue;
        }
        std::vector<std::thread> pool;
        std::exception_ptr error;
        std::mutex errorMutex;
        pool.reserve(threads);
        for (unsigned t = 0; t < threads; ++t) {
          pool.emplace_back([&, t] {
            setIndices(states[t], t, block, grid, {bx, by, bz}, &b);
            current() = &states[t];
            try {
              kernel(args...);
            } catch (...) {
              std::lock_guard<std::mutex> lock(errorMutex);
              if (!error) error = std::current_exception();
            }
          });
        }
        for (auto& th : pool) th.join();
        if (error) std::rethrow_exception(error);
      }
    }
  }
}

}  // namespace sacl_emu

#define threadIdx (sacl_emu::self().threadIdx)
#define blockIdx (sacl_emu::self().blockIdx)
#define blockDim (sacl_emu::self().blockDim)
#define gridDim (sacl_emu::self().gridDim)
#define warpSize 32

inline void __syncthreads() { sacl_emu::self().block->barrier.wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) {
  sacl_emu::ThreadState& s = sacl_emu::self();
  s.block->warps[s.linear / 32]->barrier.wait();
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T>
T __shfl_sync(unsigned, T v, int src, int width = 32) {
  const int lane = static_cast<int>(sacl_emu::self().linear % 32);
  return sacl_emu::shuffle(v, (lane / width) * width + src % width);
}
template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(sacl_emu::self().linear % 32);
  const int src = lane + static_cast<int>(delta);
  return sacl_emu::shuffle(v, src / width == lane / width ? src : lane);
}
template <class T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(sacl_emu::self().linear % 32);
  const int src = lane - static_cast<int>(delta);
  return sacl_emu::shuffle(v, src >= (lane / width) * width ? src : lane);
}
template <class T>
T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  const int lane = static_cast<int>(sacl_emu::self().linear % 32);
  const int src = lane ^ mask;
  return sacl_emu::shuffle(v, src / width == lane / width ? src : lane);
}
inline unsigned __ballot_sync(unsigned, int pred) { return sacl_emu::ballot(pred != 0); }
inline int __all_sync(unsigned, int pred) {
  const unsigned lanes = sacl_emu::self().block->warps[sacl_emu::self().linear / 32]->lanes;
  const unsigned full = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
  return sacl_emu::ballot(pred != 0) == full;
}
inline int __any_sync(unsigned, int pred) { return sacl_emu::ballot(pred != 0) != 0; }

template <class T>
T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline float atomicAdd(float* p, float v) {
  float old, want;
  __atomic_load(p, &old, __ATOMIC_SEQ_CST);
  do {
    want = old + v;
  } while (!__atomic_compare_exchange(p, &old, &want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  return old;
}
template <class T>
T atomicMax(T* p, T v) {
  T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
  return old;
}
template <class T>
T atomicMin(T* p, T v) {
  T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (old > v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
  return old;
}
template <class T>
T atomicCAS(T* p, T expected, T desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return expected;
}
template <class T>
T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }

// ---- the runtime API the launchers use: device memory is host memory ----
using cudaError_t = int;
using cudaStream_t = void*;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorMemoryAllocation = 2;
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };

inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "out of memory (emulated)"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t = nullptr) {
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t = nullptr) {
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = nullptr;
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
// events: host time points (launches run synchronously here, so "elapsed" is the host time between)
using cudaEvent_t = std::chrono::steady_clock::time_point*;
inline cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new std::chrono::steady_clock::time_point();
  return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t = nullptr) {
  *e = std::chrono::steady_clock::now();
  return cudaSuccess;
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
  *ms = std::chrono::duration<float, std::milli>(*stop - *start).count();
  return cudaSuccess;
}
constexpr unsigned cudaStreamNonBlocking = 1;

#define SACL_LAUNCH(kernel, grid, block, stream) sacl_emu::launchWith(grid, block, kernel)

namespace sacl_emu {
template <class Kernel>
struct Launcher {
  dim3 grid, block;
  Kernel kernel;
  template <class... Args>
  void operator()(Args... args) const { launch(grid, block, kernel, args...); }
};
template <class Kernel>
Launcher<Kernel> launchWith(dim3 grid, dim3 block, Kernel kernel) { return {grid, block, kernel}; }
}  // namespace sacl_emu
