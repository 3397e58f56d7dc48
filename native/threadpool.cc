// A persistent thread pool. Workers spin briefly on a generation counter (jobs in a training step come back to
// back, microseconds apart), then sleep on a condition variable so an idle process costs no CPU.
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common.h"

namespace mod {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

thread_local bool t_in_job = false;

// About 50-100 microseconds of polling before a worker sleeps: long enough to catch the next kernel of a training
// step, short enough not to starve other processes when the machine is busy.
constexpr int kSpinBeforeSleep = 4000;

class Pool {
 public:
  Pool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* s = std::getenv("MOD_THREADS")) n = std::atoi(s);
    resize(n < 1 ? 1 : n);
  }
  ~Pool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    if (n < 1) n = 1;
    if (n > 256) n = 256;
    stop_workers();
    stop_ = false;
    // A worker's first `seen` is taken here, not in the new thread: a run() right after resize() must not bump
    // the generation before the worker has read it (it would then sleep through its first job).
    uint64_t gen0 = gen_.load(std::memory_order_acquire);
    for (int i = 1; i < n; i++) workers_.emplace_back([this, i, gen0] { loop(i, gen0); });
  }

  // Runs fn(tid, nthreads) on nthreads threads, the caller as tid 0.
  void run(int nthreads, const std::function<void(int, int)>& fn) {
    if (nthreads > size()) nthreads = size();
    if (nthreads <= 1 || t_in_job) {
      bool was = t_in_job;
      t_in_job = true;
      for (int t = 0; t < (nthreads < 1 ? 1 : nthreads); t++) fn(t, nthreads < 1 ? 1 : nthreads);
      t_in_job = was;
      return;
    }
    job_ = &fn;
    active_ = nthreads;
    remaining_.store(nthreads - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0) cv_.notify_all();
    t_in_job = true;
    fn(0, nthreads);
    t_in_job = false;
    // Spin briefly, then yield: when the cores are oversubscribed the worker we wait for may need our core.
    for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; spins++) {
      if (spins < 2000) cpu_relax();
      else std::this_thread::yield();
    }
    job_ = nullptr;
  }

 private:
  void loop(int tid, uint64_t seen) {
    for (;;) {
      uint64_t g;
      int spins = 0;
      while ((g = gen_.load(std::memory_order_acquire)) == seen && !stop_.load(std::memory_order_relaxed)) {
        if (++spins < kSpinBeforeSleep) {
          cpu_relax();
          continue;
        }
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1, std::memory_order_acq_rel);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen || stop_.load(); });
        sleepers_.fetch_sub(1, std::memory_order_acq_rel);
      }
      if (stop_.load()) return;
      seen = g;
      if (tid < active_) {
        t_in_job = true;
        (*job_)(tid, active_);
        t_in_job = false;
        remaining_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> remaining_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* job_ = nullptr;
  int active_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers must not be joined during static destruction
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }

void parallel_run(int nthreads, const std::function<void(int, int)>& fn) { pool().run(nthreads, fn); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t maxChunks = (n + grain - 1) / grain;
  int nt = num_threads();
  if (maxChunks < nt) nt = static_cast<int>(maxChunks);
  if (nt <= 1 || t_in_job) {
    fn(0, n);
    return;
  }
  pool().run(nt, [&](int t, int T) {
    int64_t b = n * t / T, e = n * (t + 1) / T;
    if (b < e) fn(b, e);
  });
}

}  // namespace mod
