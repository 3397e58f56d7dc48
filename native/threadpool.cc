// A persistent thread pool that hands out work dynamically (docs/threads.md).
//
// A job is `nchunks` independent chunks. Every participating thread, the caller included, claims the next chunk
// with one atomic fetch_add until none is left, so a thread that is preempted (another process wants the core)
// delays only the chunk it holds; the others take the rest. The caller returns once every chunk is done; it never
// waits for a worker that has not started, so a worker that wakes late finds the counter exhausted and goes back
// to waiting without touching the (finished) job.
//
// The claim word packs (job id, 0 for an ordinary job | nchunks | next chunk), so a late fetch_add either claims a real
// chunk of the job that is current at that instant (and an ordinary job cannot finish before that chunk does) or
// sees next >= nchunks of the same job and does nothing: there is no window in which a stale worker runs a chunk of
// the wrong job.
//
// A speculative job (parallel_speculative: GEMM under contention) may finish while a preempted worker still holds
// one of its chunks: its caller recomputes the held chunk instead of waiting a scheduler time slice for that worker.
// Its chunks are run by one registered handler, given the job id from the claim word, never by a closure on the
// caller's stack, so a worker that resumes after its job is over finds the job gone and drops its result.
//
// When waiting for preempted workers costs more than the extra threads gain (another process keeps taking the
// cores), the pool runs jobs on the caller alone for a while and then tries again (the contention guard below).
//
// Idle workers spin briefly on a generation counter (jobs in a training step come back to back, microseconds
// apart), then sleep on a condition variable, so an idle process costs no CPU.
#include <sched.h>
#include <unistd.h>

#include <array>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
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
// step, short enough not to starve other processes when the machine is busy. With more threads than cores a
// spinning worker only takes time from the ones doing the work, so it sleeps almost at once.
constexpr int kSpinBeforeSleep = 4000;
constexpr int kSpinOversubscribed = 64;
constexpr int kMaxThreads = 256;

// ---------------------------------------------------------------- usable cores: affinity and cgroup CPU quota

int affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    unsigned n = std::thread::hardware_concurrency();
    return n < 1 ? 1 : static_cast<int>(n);
  }
  int n = CPU_COUNT(&set);
  return n < 1 ? 1 : n;
}

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (f) std::getline(f, line);
  return line;
}

// Cores allowed by a quota of `quota` µs per `period` µs (rounded up: 1.5 CPUs can keep 2 threads busy part-time).
int quota_cores(double quota, double period) {
  if (!(quota > 0) || !(period > 0)) return 0;
  return static_cast<int>(std::ceil(quota / period - 1e-9));
}

// The CPU quota of this process's cgroup in cores, 0 when there is none (cgroup v2 cpu.max, or v1 cfs_quota_us).
int cgroup_quota_cores() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (path == "/") path = "";
    if (controllers.empty()) {  // v2: "0::/path" -> cpu.max = "max 100000" or "<quota> <period>"
      for (const std::string& p : {"/sys/fs/cgroup" + path + "/cpu.max", std::string("/sys/fs/cgroup/cpu.max")}) {
        std::istringstream s(read_first_line(p));
        std::string q;
        double period = 0;
        if (s >> q >> period) return q == "max" ? 0 : quota_cores(std::atof(q.c_str()), period);
      }
      continue;
    }
    std::string padded = "," + controllers + ",";
    if (padded.find(",cpu,") == std::string::npos) continue;
    for (const std::string& root : {std::string("/sys/fs/cgroup/cpu"), std::string("/sys/fs/cgroup/cpu,cpuacct"), "/sys/fs/cgroup/" + controllers}) {
      for (const std::string& dir : {root + path, root}) {
        std::string q = read_first_line(dir + "/cpu.cfs_quota_us"), p = read_first_line(dir + "/cpu.cfs_period_us");
        if (!q.empty() && !p.empty()) return quota_cores(std::atof(q.c_str()), std::atof(p.c_str()));
      }
    }
  }
  return 0;
}

int detect_cores() {
  int n = affinity_cores(), q = cgroup_quota_cores();
  if (q > 0 && q < n) n = q;
  return n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : n;
}

// ---------------------------------------------------------------- the pool

class Pool {
 public:
  Pool() : cores_(detect_cores()) { resize(cores_); }
  ~Pool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  int cores() const { return cores_; }
  // Contention seen in the last window, if that window ended less than kContendedTtl ago (a process that stops
  // computing in parallel keeps no old verdict).
  bool contended() const {
    if (forced_ >= 0) return forced_ == 1;
    return guarded_ && contended_ && ticks() < verdict_until();
  }
  // Like contended(), but once set it stays until a window gains kQuietGain: GEMM's speculative tiles gain at most
  // about 4/3 beside one busy process, so they would otherwise flip the verdict back to rectangles every other window.
  bool speculate() const {
    if (forced_ >= 0) return forced_ == 1;
    return guarded_ && sticky_ && ticks() < speculate_until();
  }
  void force_contended(int mode) { forced_ = mode; }
  std::array<uint64_t, 4> stats() const { return stats_; }

  void resize(int n) {
    if (n < 1) n = 1;
    if (n > kMaxThreads) n = kMaxThreads;
    stop_workers();
    stop_ = false;
    spin_ = n <= cores_ ? kSpinBeforeSleep : kSpinOversubscribed;
    guarded_ = n <= cores_;
    serial_until_ = 0;
    backoff_ = kBackoffMin;
    contended_ = false;
    sticky_ = false;
    slow_before_ = false;
    windows_ = {};
    // A worker's first `seen` is taken here, not in the new thread: a job published right after resize() must not
    // bump the generation before the worker has read it (it would then sleep through that job).
    uint64_t gen0 = gen_.load(std::memory_order_acquire);
    for (int i = 1; i < n; i++) workers_.emplace_back([this, gen0] { loop(gen0); });
  }

  // True when a job of nchunks runs on the caller alone: one chunk, one thread, a nested call, or a serial back-off.
  // Speculative jobs ignore the back-off: they never wait for a preempted worker, which is what it protects against.
  bool serial(int64_t nchunks, bool speculative) const {
    return nchunks <= 1 || size() == 1 || t_in_job || (!speculative && ticks() < serial_until_);
  }

  // Runs fn(c) for c in [0, nchunks), the chunks shared dynamically among the caller and the workers.
  void run(int64_t nchunks, const std::function<void(int64_t)>& fn) {
    if (nchunks <= 0) return;
    if (serial(nchunks, false)) {
      if (ticks() < serial_until_) stats_[2]++;
      bool was = t_in_job;
      t_in_job = true;
      for (int64_t c = 0; c < nchunks; c++) fn(c);
      t_in_job = was;
      return;
    }
    const uint64_t t0 = ticks();
    nchunks = std::min(nchunks, kMaxChunks);  // callers stay far below (chunk_count)
    job_ = &fn;
    done_.store(0, std::memory_order_relaxed);
    publish(nchunks, 0);
    t_in_job = true;
    const CpuSample sample = start_sample(t0);
    const int64_t mine = work();
    t_in_job = false;
    const uint64_t t1 = ticks();
    // Only chunks still held by other threads remain. Spin briefly, then yield: when the cores are oversubscribed
    // the thread we wait for may need our core.
    for (int spins = 0; done_.load(std::memory_order_acquire) != nchunks; spins++) {
      if (spins < 2000) cpu_relax();
      else std::this_thread::yield();
    }
    if (guarded_ && mine > 0) judge(false, sample, t0, t1, ticks(), mine, nchunks);
  }

  // A speculative job: the threads claim chunks as in run(), each chunk going to spec_handler_(id, c); then
  // finish(id, mean ticks per chunk on the caller, or 0) completes the job, recomputing chunks that preempted workers
  // hold. Returns false, running nothing, when the job should run serially (serial()) or has over kMaxChunks chunks.
  bool run_speculative(uint64_t id, int64_t nchunks, const std::function<void(uint64_t, uint64_t)>& finish) {
    if (serial(nchunks, true) || spec_handler_ == nullptr || nchunks > kMaxChunks) return false;
    const uint64_t t0 = ticks();
    publish(nchunks, id);
    t_in_job = true;
    const CpuSample sample = start_sample(t0);
    const int64_t mine = work();
    const uint64_t t1 = ticks();
    finish(id, mine > 0 ? (t1 - t0) / static_cast<uint64_t>(mine) : 0);
    t_in_job = false;
    if (guarded_ && mine > 0) judge(true, sample, t0, t1, ticks(), mine, nchunks);
    return true;
  }

  // A verdict lasts kContendedTtl after the last window, or after the end of a serial back-off (which has none).
  uint64_t verdict_until() const { return std::max(judged_at_, serial_until_) + kContendedTtl; }
  uint64_t speculate_until() const { return std::max(verdict_until(), spec_judged_at_ + kContendedTtl); }

  void set_spec_handler(SpecHandler h) { spec_handler_ = h; }
  uint64_t next_spec_id() {
    spec_seq_ = spec_seq_ % kIdMask + 1;  // 1..kIdMask: 0 means "no job" in the claim word
    return spec_seq_;
  }

 private:
  // ---- contention guard
  // A worker preempted while it holds a chunk makes the caller wait for it. When another process takes a core for
  // long stretches, that waiting can cost more than the second thread gains, and N threads run slower than one.
  // So the caller estimates each job's serial time (its own time per chunk x chunks) and, over windows of about
  // 15 ms of parallel jobs, the speedup the pool really gets. Below kMinSpeedup in two windows in a row the pool runs
  // jobs on the caller alone for a back-off period (40 ms, doubling to ~1 s while it lasts), then tries threads again. Only when
  // the pool has no more threads than usable cores: more is an explicit request (and the tests' oversubscription).
  static uint64_t ticks() { return __rdtsc(); }  // TSC ticks, ~0.3-0.5 ns; only ratios and rough spans use them
  static constexpr uint64_t kWindowTicks = 40000000, kBackoffMin = 100000000, kBackoffMax = 3000000000;
  static constexpr double kMinSpeedup = 1.1;
  static constexpr double kContendedGain = 0.25;  // contended below 1 + 0.25·(threads − 1): 1.25x on 2 threads
  static constexpr double kQuietGain = 0.6;       // speculate() ends at 1 + 0.6·(threads − 1): 1.6x on 2 threads
  static constexpr uint64_t kContendedTtl = 400000000;  // ~0.2 s
  static constexpr uint64_t kSampleTicks = 10000000;     // ~5 ms between CPU-time samples

  // The caller's own chunks take longer when another process shares its core, and running alone it would get a core
  // of its own (two runnable threads on two cores): so its chunk times overstate its serial speed, and a window would
  // look faster than it is. About every 5 ms the caller reads its CPU time around its own chunks of one job (a
  // system call of ~1 µs, too slow for every job) and the window's serial estimate is scaled by the fraction of
  // that time it was on a CPU.
  struct CpuSample {
    int64_t wall_ns = -1, cpu_ns = 0;
  };
  static int64_t thread_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  static int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  CpuSample start_sample(uint64_t t0) const {
    if (!guarded_ || t0 - sampled_at_ < kSampleTicks) return {};
    return {wall_ns(), thread_cpu_ns()};
  }

  // A window of jobs of one kind: wall time, estimated serial time, and the CPU-time samples taken in it.
  struct Window {
    uint64_t wall = 0;
    double serial = 0, cpu_ns = 0, wall_ns = 0;
    // Adds a job; returns the window's gain (estimated serial time over wall time) once it spans kWindowTicks, else 0.
    double add(uint64_t t0, uint64_t t1, uint64_t t2, int64_t mine, int64_t nchunks) {
      wall += t2 - t0;
      serial += static_cast<double>(t1 - t0) * static_cast<double>(nchunks) / static_cast<double>(mine);
      if (wall < kWindowTicks) return 0;
      const double on_cpu = wall_ns > 0 ? std::clamp(cpu_ns / wall_ns, 0.1, 1.0) : 1.0;
      const double gain = serial * on_cpu / static_cast<double>(wall);
      *this = Window{};
      return gain;
    }
  };

  // Feeds a finished job to its window (ordinary or speculative) and judges the window when it is full.
  void judge(bool spec, const CpuSample& sample, uint64_t t0, uint64_t t1, uint64_t t2, int64_t mine, int64_t nchunks) {
    Window& w = windows_[spec ? 1 : 0];
    if (sample.wall_ns >= 0) {
      w.cpu_ns += static_cast<double>(thread_cpu_ns() - sample.cpu_ns);
      w.wall_ns += static_cast<double>(wall_ns() - sample.wall_ns);
      sampled_at_ = t2;
    }
    const double gain = w.add(t0, t1, t2, mine, nchunks);
    if (gain <= 0) return;
    stats_[0]++;
    const double contended_gain = 1.0 + kContendedGain * (size() - 1), quiet_gain = 1.0 + kQuietGain * (size() - 1);
    if (gain < contended_gain) stats_[1]++;
    // Speculative GEMM windows only move speculate()'s verdict: they never wait for a preempted worker, so their gain
    // says whether the machine is busy, not whether ordinary jobs would stall.
    if (gain < contended_gain) sticky_ = true;
    else if (gain >= quiet_gain) sticky_ = false;
    if (spec) {
      spec_judged_at_ = t2;
      return;
    }
    // Below a quarter of the threads' ideal gain (1.25x on 2 threads; quiet, a training step gets ~1.8x, a small
    // model's ~1.4-1.9x), GEMM cuts finer and runs small products alone (pool_contended) until a window does better.
    // At 1.5x small models (the sweep's L4 C48) were contended on a quiet machine and trained ~20 % slower.
    contended_ = gain < contended_gain;
    judged_at_ = t2;
    // Serial only after two windows in a row below kMinSpeedup: one slow window on a quiet machine (a burst of small
    // jobs whose workers were asleep, a moment of noise) should not cost a back-off at half speed.
    const bool slow = gain < kMinSpeedup;
    if (slow && slow_before_) {
      serial_until_ = t2 + backoff_;
      stats_[3]++;
      backoff_ = std::min(backoff_ * 2, kBackoffMax);
      contended_ = sticky_ = true;  // threads come back with small tiles
    } else if (!slow) {
      backoff_ = kBackoffMin;
    }
    slow_before_ = slow;
  }

 private:
  // Claim word: id (21 bits, 0 for an ordinary job) << 42 | nchunks << 21 | next. next can pass nchunks by at most
  // the number of threads, so nchunks stays below 2^20 to keep it inside its 21 bits.
  static constexpr int64_t kMaxChunks = (int64_t(1) << 20) - 1;
  static constexpr uint64_t kField = (uint64_t(1) << 21) - 1, kIdMask = kField;

  // Publishes a job of nchunks (id 0: ordinary, run through job_) and wakes the sleepers it needs.
  void publish(int64_t nchunks, uint64_t id) {
    claim_.store(id << 42 | static_cast<uint64_t>(nchunks) << 21, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    // Wake only as many sleepers as there are chunks for them (spinning workers see the generation anyway).
    int wake = std::min<int64_t>(nchunks - 1, sleepers_.load(std::memory_order_acquire));
    for (int i = 0; i < wake; i++) cv_.notify_one();
  }

  // Claims and runs chunks of the current job until none is left; returns how many this thread ran.
  int64_t work() {
    for (int64_t ran = 0;; ran++) {
      const uint64_t w = claim_.fetch_add(1, std::memory_order_acq_rel);
      const uint64_t id = w >> 42;
      const int64_t c = static_cast<int64_t>(w & kField), n = static_cast<int64_t>((w >> 21) & kField);
      if (c >= n) return ran;
      if (id != 0) {
        spec_handler_(id, static_cast<uint64_t>(c));
        continue;
      }
      (*job_)(c);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void loop(uint64_t seen) {
    for (;;) {
      uint64_t g;
      int spins = 0;
      while ((g = gen_.load(std::memory_order_acquire)) == seen && !stop_.load(std::memory_order_relaxed)) {
        if (++spins < spin_) {
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
      t_in_job = true;
      work();
      t_in_job = false;
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

  const int cores_;
  int spin_ = kSpinBeforeSleep;
  // Contention guard state, touched only by the calling thread (kernels are called from one JS thread).
  bool guarded_ = true;
  bool contended_ = false;
  bool sticky_ = false;  // speculate()'s verdict
  bool slow_before_ = false;  // the previous window was below kMinSpeedup
  uint64_t judged_at_ = 0;    // when the last window was judged
  int forced_ = -1;  // force_contended: -1 measured, 0 quiet, 1 contended
  uint64_t serial_until_ = 0, backoff_ = kBackoffMin;
  uint64_t sampled_at_ = 0, spec_judged_at_ = 0;
  std::array<Window, 2> windows_{};  // ordinary jobs, speculative jobs
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int64_t)>* job_ = nullptr;
  SpecHandler spec_handler_ = nullptr;
  // windows judged, windows judged contended, jobs run serially in a back-off, back-offs started (pool_stats)
  std::array<uint64_t, 4> stats_{};
  uint64_t spec_seq_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers must not be joined during static destruction
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }
int usable_cores() { return pool().cores(); }
bool pool_contended() { return pool().contended(); }
bool pool_speculate() { return pool().speculate(); }
void force_contended(int mode) { pool().force_contended(mode); }
void set_num_threads(int n) { pool().resize(n); }
bool in_parallel_job() { return t_in_job; }

void parallel_chunks(int64_t nchunks, const std::function<void(int64_t)>& fn) { pool().run(nchunks, fn); }

void set_speculative_handler(SpecHandler h) { pool().set_spec_handler(h); }
uint64_t next_speculative_id() { return pool().next_spec_id(); }
bool parallel_speculative(uint64_t id, int64_t nchunks, const std::function<void(uint64_t, uint64_t)>& finish) {
  return pool().run_speculative(id, nchunks, finish);
}
uint64_t cycle_count() { return __rdtsc(); }
std::array<uint64_t, 4> pool_stats() { return pool().stats(); }

int64_t chunk_count(int64_t n, int64_t grain) {
  if (n <= 0) return 0;
  if (grain < 1) grain = 1;
  const int64_t most = (n + grain - 1) / grain, want = int64_t(num_threads()) * kChunksPerThread;
  return most < want ? most : want;
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t nc = chunk_count(n, grain);
  if (nc <= 1 || t_in_job) {
    if (n > 0) fn(0, n);
    return;
  }
  pool().run(nc, [&](int64_t c) { fn(n * c / nc, n * (c + 1) / nc); });
}

}  // namespace mod
