// Shared helpers for the addon: argument unpacking with bounds checks, CPU feature level, thread pool.
// Every exported kernel takes typed arrays and plain numbers, in the argument order of src/kernels/types.ts
// (outputs, caches, inputs, weights, dims) and works in place on the arrays' memory (zero-copy).
#pragma once
#include <napi.h>
#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace mod {

// ---- CPU feature level, chosen at run time; MOD_SIMD=scalar|avx2|avx512 or setSimd() lowers it (for tests).
enum SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
SimdLevel simd_level();         // current level (min of detected and requested)
SimdLevel simd_detected();      // what the CPU supports
void set_simd_level(SimdLevel level);

// ---- Thread pool: one pool for the process, sized to the cores it may use (affinity and cgroup CPU quota); the
// TypeScript side applies MOD_THREADS / --threads through set_num_threads. Work is handed out dynamically: each
// job is a list of chunks that the threads (the caller included) claim one at a time (docs/threads.md).
int num_threads();
int usable_cores();  // CPUs in this process's affinity mask, capped by its cgroup's CPU quota
void set_num_threads(int n);
bool in_parallel_job();  // true on a thread running a chunk (nested parallel calls then run serially)
// True while the pool's last window of jobs gained under a quarter of its threads' ideal speedup (another process takes
// cores) in the last ~0.2 s: GEMM then cuts finer tiles and runs small products on the caller alone. Never when the pool has more threads than usable cores (an explicit request; the guard is
// off).
bool pool_contended();
// GEMM's grid choice: set with pool_contended(), but cleared only by a window with a clearly parallel gain (1.6x on
// 2 threads), so that the speculative tiles, which gain less than that beside another process, keep being used.
bool pool_speculate();
void force_contended(int mode);  // tests: -1 as measured (the default), 0 never, 1 always
// Chunks per thread a job is cut into when the work allows: a preempted thread then holds up at most one chunk,
// about 1/(8·threads) of the job, while the others take the rest.
constexpr int64_t kChunksPerThread = 8;
// Runs fn(c) for every c in [0, nchunks), in any order and on any threads; returns when all are done.
void parallel_chunks(int64_t nchunks, const std::function<void(int64_t)>& fn);
// Speculative jobs (GEMM under contention): chunks whose results can be recomputed by another thread. The pool hands
// chunk c of job `id` to the one registered handler, on any thread, possibly after the job has finished (the handler
// must then find the job gone and do nothing). parallel_speculative(id, nchunks, finish) publishes job id (from
// next_speculative_id, after the caller has set up what the handler reads), lets the threads claim its chunks, then
// calls finish(id, the caller's mean cycles per chunk, or 0 if it ran none) on the calling thread, which must
// return only once every chunk's result is in place. It returns false, running nothing, when the job should run
// serially (one chunk, one thread, or a nested call; unlike ordinary jobs, not during a serial back-off).
using SpecHandler = void (*)(uint64_t id, uint64_t chunk);
void set_speculative_handler(SpecHandler h);
uint64_t next_speculative_id();
bool parallel_speculative(uint64_t id, int64_t nchunks, const std::function<void(uint64_t, uint64_t)>& finish);
uint64_t cycle_count();  // the TSC: only for durations compared with each other
// The contention guard's counts since the addon loaded: windows judged, windows judged contended, jobs run serially
// in a back-off, back-offs started.
std::array<uint64_t, 4> pool_stats();
// min(ceil(n / grain), kChunksPerThread · threads): chunks for n items of which each chunk needs >= grain.
int64_t chunk_count(int64_t n, int64_t grain);
// Runs fn(begin, end) over [0, n) in contiguous chunks of at least `grain` items (chunk_count of them), handed out
// dynamically; the calling thread takes part. Calls from inside a pool job run serially on the caller.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// ---- Argument unpacking. Each checks the type and that the array holds at least `need` elements, and throws a
// JS TypeError/RangeError otherwise (the *Ok flag tells the caller to return early).
struct Args {
  const Napi::CallbackInfo& info;
  bool ok = true;
  explicit Args(const Napi::CallbackInfo& i) : info(i) {}
  float* f32(size_t idx, int64_t need);
  float* f32OrNull(size_t idx, int64_t need);  // null/undefined -> nullptr
  int32_t* i32(size_t idx, int64_t need);
  int64_t i64(size_t idx);
  double f64(size_t idx);
  bool flag(size_t idx);
  void fail(const std::string& msg);
};

using Kernel = Napi::Value (*)(const Napi::CallbackInfo&);
inline void def(Napi::Env env, Napi::Object exports, const char* name, Kernel fn) {
  exports.Set(name, Napi::Function::New(env, fn, name));
}

// Per-file registration; each kernel family lives in its own source file.
void InitGemm(Napi::Env env, Napi::Object exports);
void InitAttention(Napi::Env env, Napi::Object exports);
void InitNorms(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitRouting(Napi::Env env, Napi::Object exports);
void InitOptimizer(Napi::Env env, Napi::Object exports);

}  // namespace mod

// Function-level SIMD targets for run-time dispatch (no global -march flags).
#define MOD_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi2")))
#define MOD_TARGET_AVX2 __attribute__((target("avx2,fma,bmi2")))
