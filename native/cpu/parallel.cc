// The thread pool behind sacl::parallelFor (see parallel.h).
#include "sacl/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sacl {
namespace {

struct Job {
  const std::function<void(int64_t, int64_t)>* body;
  int64_t n, grain, chunks;
  std::atomic<int64_t> next{0};  // next chunk to claim
  std::atomic<int64_t> done{0};  // chunks finished
  std::mutex m;
  std::condition_variable finished;
  std::exception_ptr error;

  // Claims and runs chunks until none are left. Returns when this thread can claim no more.
  void work() {
    for (;;) {
      const int64_t c = next.fetch_add(1);
      if (c >= chunks) return;
      const int64_t begin = c * grain;
      try {
        (*body)(begin, std::min(n, begin + grain));
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
      }
      if (done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(m);
        finished.notify_all();
      }
    }
  }
};

class Pool {
 public:
  Pool() : target_(defaultThreads()) {}
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int threads() const { return target_.load(); }
  uint64_t posted() const { return posted_.load(std::memory_order_relaxed); }

  void setThreads(int n) {
    target_.store(std::max(1, n));
    std::lock_guard<std::mutex> lock(m_);
    wake_.notify_all();
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int64_t chunks = (n + grain - 1) / grain;
    if (chunks == 1 || target_.load() == 1) {
      for (int64_t b = 0; b < n; b += grain) body(b, std::min(n, b + grain));
      return;
    }
    auto job = std::make_shared<Job>();
    job->body = &body;
    job->n = n;
    job->grain = grain;
    job->chunks = chunks;
    {
      std::lock_guard<std::mutex> lock(m_);
      spawnLocked();
      queue_.push_back(job);
      posted_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job->work();
    // the last chunks are usually a few microseconds from done: poll before sleeping on the condition
    spinUntil([&] { return job->done.load(std::memory_order_acquire) == job->chunks; });
    {
      std::unique_lock<std::mutex> lock(job->m);
      job->finished.wait(lock, [&] { return job->done.load() == job->chunks; });
    }
    {
      std::lock_guard<std::mutex> lock(m_);
      auto it = std::find(queue_.begin(), queue_.end(), job);
      if (it != queue_.end()) queue_.erase(it);
    }
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  static int defaultThreads() {
    if (const char* env = std::getenv("SACL_NUM_THREADS")) {
      const int n = std::atoi(env);
      if (n >= 1 && n <= 1024) return n;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(std::min(hw, 256u));
  }

  // Workers are started lazily, up to target − 1 (the caller is the other thread).
  void spawnLocked() {
    while (static_cast<int>(workers_.size()) < target_.load() - 1) {
      const int id = static_cast<int>(workers_.size());
      workers_.emplace_back([this, id] { loop(id); });
    }
  }

  void loop(int id) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      const auto ready = [&] { return stop_ || (id < target_.load() - 1 && hasWorkLocked()); };
      if (!ready()) {
        // Kernels come in quick succession (thousands per training step, JavaScript in between): poll
        // for the next job a little before sleeping, so that a job does not wait for a futex wake-up.
        lock.unlock();
        spinUntil([&] { return posted_.load(std::memory_order_acquire) != seen; });
        lock.lock();
        wake_.wait(lock, ready);
      }
      if (stop_) return;
      seen = posted_.load(std::memory_order_acquire);
      std::shared_ptr<Job> job;
      for (auto& j : queue_) {
        if (j->next.load() < j->chunks) {
          job = j;
          break;
        }
      }
      if (!job) continue;
      lock.unlock();
      job->work();
      lock.lock();
    }
  }

  // Polls done() for up to SACL_SPIN_US microseconds (default 100; 0: never), pausing between polls.
  template <typename Done>
  static void spinUntil(const Done& done) {
    static const int64_t budgetUs = spinBudgetUs();
    if (budgetUs == 0) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(budgetUs);
    for (;;) {
      for (int i = 0; i < 64; i++) {
        if (done()) return;
        pause();
      }
      if (std::chrono::steady_clock::now() >= until) return;
    }
  }

  static int64_t spinBudgetUs() {
    if (const char* env = std::getenv("SACL_SPIN_US")) {
      const long v = std::atol(env);
      if (v >= 0 && v <= 100000) return v;
    }
    return 100;
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  bool hasWorkLocked() const {
    for (const auto& j : queue_) {
      if (j->next.load() < j->chunks) return true;
    }
    return false;
  }

  std::atomic<int> target_;
  std::mutex m_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<uint64_t> posted_{0};  // jobs queued so far: spinning workers watch it change
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int numThreads() { return pool().threads(); }
void setNumThreads(int n) { pool().setThreads(n); }
uint64_t pooledRuns() { return pool().posted(); }

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  pool().run(n, grain, body);
}

}  // namespace sacl
