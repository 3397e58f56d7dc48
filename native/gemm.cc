// Matrix multiply (sgemm) and the bias kernels.
//
// C (M,N) = op(A) (M,K) · op(B) (K,N)  [+ C when accumulating], row-major float32, as in src/kernels/types.ts.
//
// GEMM follows the BLIS/Goto scheme:
//   for jc in N step NC:                 B block (KC,NC) packed once per (jc, pc), lives in L3/L2
//     for pc in K step KC:
//       pack B into NR-wide micro-panels, zero-padded
//       for ic in M step MC:             A block (MC,KC) packed into MR-tall micro-panels, lives in L2
//         for jr in NC step NR:          one B micro-panel (KC,NR) stays in L1 across the ir loop
//           for ir in MC step MR:
//             micro-kernel: C tile (MR,NR) += A panel (MR,KC) · B panel (KC,NR), accumulators in registers
// Edge tiles use micro-kernels instantiated for fewer rows / vectors, with masked stores for the last vector.
// Threads (docs/threads.md): on a quiet machine each thread takes one rectangle of C and runs the serial algorithm on
// it. Under contention C is cut into ~4 tiles per thread that the threads claim from an atomic counter; each thread
// packs B's column block once per product into a thread_local buffer and packs its tile's rows of A. Products called
// from JS then run speculatively: tiles are computed into per-thread buffers and committed by whoever finishes first,
// so the caller recomputes a preempted worker's tile instead of waiting for it (gemm_speculative).
// M == 1 or N == 1 (decode steps, the MoD router's 1-wide projection) go to GEMV loops without packing.
//
// SIMD paths: AVX-512 (14x32 tile: 28 zmm accumulators + 2 B vectors), AVX2+FMA (6x16 tile: 12 ymm accumulators),
// and plain C++ (4x8), chosen by pick() (simd.h) on every call. Every C element is summed over K in the
// same order whatever the thread count or tile position, so results do not depend on the number of threads.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <chrono>
#include <thread>
#include <utility>

#include "gemm_api.h"
#include "simd.h"

namespace mod {

namespace {

// ------------------------------------------------------------------------------------------------ buffers

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A 64-byte-aligned scratch buffer that only grows, one per thread and role: no malloc per call.
class Scratch {
 public:
  float* get(int64_t floats) {
    if (floats > cap_) {
      int64_t bytes = ((floats * 4 + 4095) / 4096) * 4096;
      buf_.reset(static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(bytes))));
      cap_ = bytes / 4;
    }
    return buf_.get();
  }

 private:
  std::unique_ptr<float, FreeDeleter> buf_;
  int64_t cap_ = 0;
};

thread_local Scratch t_pack_a;
thread_local Scratch t_pack_b;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// ------------------------------------------------------------------------------------------------ generic packing

// dst[p*MR + i] = A(i0+i, p0+p) for i < mr, zero for mr <= i < MR.
void pack_a_plain(float* dst, const Gemm& g, int MR, int64_t i0, int mr, int64_t p0, int64_t kc) {
  const float* a = g.a + i0 * g.ars + p0 * g.acs;
  for (int64_t p = 0; p < kc; p++) {
    for (int i = 0; i < mr; i++) dst[p * MR + i] = a[i * g.ars + p * g.acs];
    for (int i = mr; i < MR; i++) dst[p * MR + i] = 0.0f;
  }
}

// dst[p*NR + j] = B(p0+p, j0+j) for j < nr, zero for nr <= j < NR.
void pack_b_plain(float* dst, const Gemm& g, int NR, int64_t p0, int64_t kc, int64_t j0, int nr) {
  const float* b = g.b + p0 * g.brs + j0 * g.bcs;
  for (int64_t p = 0; p < kc; p++) {
    for (int j = 0; j < nr; j++) dst[p * NR + j] = b[p * g.brs + j * g.bcs];
    for (int j = nr; j < NR; j++) dst[p * NR + j] = 0.0f;
  }
}

// Stores a finished tile: C = acc (overwrite) or C += acc, rows < mr, columns < nr.
template <int MR, int NR>
void store_tile_plain(const float (&acc)[MR][NR], float* c, int64_t ldc, int mr, int nr, bool load_c) {
  for (int i = 0; i < mr; i++) {
    for (int j = 0; j < nr; j++) c[i * ldc + j] = load_c ? c[i * ldc + j] + acc[i][j] : acc[i][j];
  }
}

// ------------------------------------------------------------------------------------------------ scalar path

// 4x8: the 32 accumulators fit the 16 SSE registers the baseline compiler targets (4x16 spills and runs 8x slower).
struct ScalarArch {
  static constexpr int MR = 4, NR = 8;
  static constexpr int64_t MC = 128, KC = 256, NC = 2048;
  static void pack_a(float* dst, const Gemm& g, int64_t i0, int mr, int64_t p0, int64_t kc) {
    pack_a_plain(dst, g, MR, i0, mr, p0, kc);
  }
  static void pack_b(float* dst, const Gemm& g, int64_t p0, int64_t kc, int64_t j0, int nr) {
    pack_b_plain(dst, g, NR, p0, kc, j0, nr);
  }
  static void kernel(int64_t kc, const float* pa, const float* pb, float* c, int64_t ldc, int mr, int nr, bool load_c) {
    float acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; p++) {
      for (int i = 0; i < MR; i++) {
        float av = pa[p * MR + i];
        for (int j = 0; j < NR; j++) acc[i][j] += av * pb[p * NR + j];
      }
    }
    store_tile_plain<MR, NR>(acc, c, ldc, mr, nr, load_c);
  }
};

// ------------------------------------------------------------------------------------------------ driver

// Packs B's rows [pc, pc+kc) x columns [jc, jc+nc) into NR-column micro-panels at pb.
template <class Arch>
void pack_b_block(float* pb, const Gemm& g, int64_t pc, int64_t kc, int64_t jc, int64_t nc) {
  for (int64_t jr = 0; jr < nc; jr += Arch::NR) {
    Arch::pack_b(pb + jr * kc, g, pc, kc, jc + jr, static_cast<int>(std::min<int64_t>(Arch::NR, nc - jr)));
  }
}

// C rows [i0, i1) x columns [jc, jc+nc) += A's rows · B's packed panel pb, over K's block [pc, pc+kc): each MC block of
// A's rows is packed into pa, then the micro-kernel runs over it panel by panel (the two inner loops of the blocked
// algorithm). load_c: add to C (a later K block, or an accumulating product) rather than overwrite it.
template <class Arch>
void macro_kernel(const Gemm& g, float* pa, const float* pb, int64_t i0, int64_t i1, int64_t jc, int64_t nc, int64_t pc, int64_t kc, bool load_c) {
  constexpr int MR = Arch::MR, NR = Arch::NR;
  for (int64_t ic = i0; ic < i1; ic += Arch::MC) {
    const int64_t mc = std::min<int64_t>(Arch::MC, i1 - ic);
    for (int64_t ir = 0; ir < mc; ir += MR) {
      Arch::pack_a(pa + ir * kc, g, ic + ir, static_cast<int>(std::min<int64_t>(MR, mc - ir)), pc, kc);
    }
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
      for (int64_t ir = 0; ir < mc; ir += MR) {
        const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
        Arch::kernel(kc, pa + ir * kc, pb + jr * kc, g.c + (ic + ir) * g.ldc + jc + jr, g.ldc, mr, nr, load_c);
      }
    }
  }
}

// The serial blocked algorithm on the whole of g (one thread's rectangle).
template <class Arch>
void gemm_serial(const Gemm& g) {
  constexpr int MR = Arch::MR, NR = Arch::NR;
  const int64_t kc_max = std::min<int64_t>(Arch::KC, g.k);
  const int64_t mc_max = std::min<int64_t>(Arch::MC, round_up(g.m, MR));
  const int64_t nc_max = std::min<int64_t>(Arch::NC, round_up(g.n, NR));
  float* pa = t_pack_a.get(mc_max * kc_max);
  float* pb = t_pack_b.get(nc_max * kc_max);
  for (int64_t jc = 0; jc < g.n; jc += Arch::NC) {
    const int64_t nc = std::min<int64_t>(Arch::NC, g.n - jc);
    for (int64_t pc = 0; pc < g.k; pc += Arch::KC) {
      const int64_t kc = std::min<int64_t>(Arch::KC, g.k - pc);
      const bool load_c = g.accumulate || pc > 0;
      pack_b_block<Arch>(pb, g, pc, kc, jc, nc);
      macro_kernel<Arch>(g, pa, pb, 0, g.m, jc, nc, pc, kc, load_c);
    }
  }
}

// Below this many multiply-adds one thread does the whole product (waking the pool costs more than it saves).
constexpr int64_t kParallelMinFma = int64_t(1) << 18;
// Under contention a product below this (~0.3 ms on one core) runs on the caller alone: a worker preempted for a
// scheduler time slice (milliseconds) would delay it more than a second thread could gain.
// (Speculative tiles, which never wait for a preempted worker, did not help below it either: 256³ beside a busy loop
// ran at 0.93x of 1 thread with them, 0.98x alone.)
constexpr int64_t kContendedMinFma = int64_t(1) << 25;
// Each tile holds at least this many multiply-adds (~10 µs on one core), so claiming it (one atomic add, well
// under 0.1 µs) and packing its rows of A stay small beside it.
constexpr int64_t kMinTileFma = int64_t(1) << 19;
// Tiles per thread while the pool reports contention (pool_contended): a preempted thread then holds up one tile,
// ~1/(4·threads) of the product. On a quiet machine each thread gets one rectangle, as the fastest static split:
// more, smaller tiles repack A per column block and B per thread, which costs 5-8 % at 512-1024³ on 2 threads.
constexpr int64_t kTilesPerThread = 4;
// Packing one element costs about as much as this many multiply-adds in the micro-kernel (a 16x16 transpose moves
// ~4 floats per cycle; the micro-kernel does 32 multiply-adds per cycle).
constexpr int64_t kPackCostFma = 8;
// Floats of packed B a thread keeps (all of K for one column block): 4 MB.
constexpr int64_t kPackedBFloats = int64_t(1) << 20;

// The thread's packed B: all K rows of one column block of one product, packed as gemm_serial packs them; the block
// is named by the address of its first column in B and its width.
struct PackedB {
  Scratch buf;
  uint64_t product = 0;  // 0: nothing cached
  const float* b0 = nullptr;
  int64_t width = 0;
};
thread_local PackedB t_packed_b;
std::atomic<uint64_t> g_product{0};

// The tile grid of C: nrb row blocks of whole MR-row panels by ncb column blocks of whole NR-column panels. Panels
// are shared out as evenly as they divide (block i of n over p panels holds panels [p·i/n, p·(i+1)/n)), so only
// C's last panel is padded, whatever the grid.
struct TileGrid {
  int64_t mp, np, nrb, ncb;  // row and column panels; row and column blocks
  int64_t tiles() const { return nrb * ncb; }
};

// Rows (or columns) [first, end) of block i of n over p panels of width w, clipped to the matrix size.
inline std::pair<int64_t, int64_t> block_range(int64_t i, int64_t n, int64_t p, int64_t w, int64_t size) {
  return {std::min(size, p * i / n * w), std::min(size, p * (i + 1) / n * w)};
}

// Quiet machine: one rectangle per thread, tm x tn = nt, the grid that minimises the largest rectangle's cost: its
// padded panels times K, plus packing its rows of A (once per NC block of its columns) and its columns of B.
// Splitting N when N is small would make each thread pack all of A for a few columns, so narrow products split M.
template <class Arch>
TileGrid rectangle_grid(const Gemm& g, int64_t nt) {
  constexpr int64_t MR = Arch::MR, NR = Arch::NR;
  const int64_t mp = (g.m + MR - 1) / MR, np = (g.n + NR - 1) / NR;
  nt = std::min(nt, mp * np);
  TileGrid best{mp, np, 1, 1};
  int64_t best_cost = INT64_MAX;
  for (int64_t tm = 1; tm <= nt; tm++) {
    const int64_t tn = nt / tm;
    if (nt % tm != 0 || tm > mp || tn > np) continue;
    const int64_t rows = (mp + tm - 1) / tm * MR, cols = (np + tn - 1) / tn * NR;
    const int64_t cost = rows * cols + kPackCostFma * (rows * ((cols + Arch::NC - 1) / Arch::NC) + cols);
    if (cost < best_cost) best_cost = cost, best = TileGrid{mp, np, tm, tn};
  }
  return best;
}

// Contention: about kTilesPerThread tiles per thread, never below kMinTileFma each. Row blocks of up to MC rows keep
// each B micro-panel in L1 across MC/MR micro-kernel calls, as in the serial algorithm; so rows stay near MC and
// columns are split first, down to blocks of 4 panels (each tile packs its rows of A, ~8/cols of its work); then
// rows, down to one panel; then columns again, down to one panel (many threads, small products). A column block is
// also capped so that a thread's packed B (all of K) fits kPackedBFloats.
template <class Arch>
TileGrid contended_grid(const Gemm& g, int64_t nt) {
  constexpr int64_t MR = Arch::MR, NR = Arch::NR;
  const int64_t target = std::max<int64_t>(1, std::min<int64_t>(nt * kTilesPerThread, g.m * g.n * g.k / kMinTileFma));
  const int64_t mp = (g.m + MR - 1) / MR, np = (g.n + NR - 1) / NR;
  const int64_t maxPanels = std::max<int64_t>(1, std::min<int64_t>(Arch::NC, kPackedBFloats / g.k) / NR);
  const int64_t nrb0 = (g.m + Arch::MC - 1) / Arch::MC, ncbBudget = (np + maxPanels - 1) / maxPanels;
  TileGrid t{mp, np, 1, 1};
  t.ncb = std::min(np, std::max(ncbBudget, std::min((target + nrb0 - 1) / nrb0, std::max<int64_t>(1, np / 4))));
  t.nrb = std::min(mp, std::max(nrb0, (target + t.ncb - 1) / t.ncb));
  if (t.tiles() < target && t.ncb < np) t.ncb = std::min(np, (target + t.nrb - 1) / t.nrb);  // rows are single panels
  return t;
}

// The grid for nt threads: rectangles while the pool runs at full speed; small tiles while it is contended, or has
// more threads than cores (threads then take turns on a core, and small tiles balance them).
template <class Arch>
TileGrid tile_grid(const Gemm& g, int nt) {
  return pool_speculate() || nt > usable_cores() ? contended_grid<Arch>(g, nt) : rectangle_grid<Arch>(g, nt);
}

// C rows [i0, i1) x columns [j0, j1), over all of K, for columns of at most kPackedBFloats / K floats of packed B
// (gemm_tile cuts wider tiles). B's columns are packed the first time this thread meets them in this product and
// reused for the thread's next tiles of the same columns.
template <class Arch>
void gemm_columns(const Gemm& g, uint64_t product, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  constexpr int MR = Arch::MR, NR = Arch::NR;
  const int64_t nc = j1 - j0, ncp = round_up(nc, NR);
  PackedB& cache = t_packed_b;
  const float* b0 = g.b + j0 * g.bcs;
  const bool fresh = cache.product != product || cache.b0 != b0 || cache.width != nc;
  float* pb = cache.buf.get(g.k * ncp);
  cache.product = product;
  cache.b0 = b0;
  cache.width = nc;
  float* pa = t_pack_a.get(std::min<int64_t>(Arch::MC, round_up(i1 - i0, MR)) * std::min<int64_t>(Arch::KC, g.k));
  for (int64_t pc = 0; pc < g.k; pc += Arch::KC) {
    const int64_t kc = std::min<int64_t>(Arch::KC, g.k - pc);
    const bool load_c = g.accumulate || pc > 0;
    float* pbk = pb + pc * ncp;
    if (fresh) pack_b_block<Arch>(pbk, g, pc, kc, j0, nc);
    macro_kernel<Arch>(g, pa, pbk, i0, i1, j0, nc, pc, kc, load_c);
  }
}

// Rows [i0, i1) x columns [j0, j1) of g as a product of its own.
inline Gemm sub_problem(const Gemm& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  Gemm s = g;
  s.c = g.c + i0 * g.ldc + j0;
  s.a = g.a + i0 * g.ars;
  s.b = g.b + j0 * g.bcs;
  s.m = i1 - i0;
  s.n = j1 - j0;
  return s;
}

// One tile: its columns in runs of at most kPackedBFloats / K (at least one NR panel), so packed B stays bounded.
template <class Arch>
void gemm_tile(const Gemm& g, uint64_t product, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int64_t step = std::max<int64_t>(Arch::NR, std::min<int64_t>(Arch::NC, kPackedBFloats / g.k) / Arch::NR * Arch::NR);
  for (int64_t jc = j0; jc < j1; jc += step) gemm_columns<Arch>(g, product, i0, i1, jc, std::min(j1, jc + step));
}

// Tile `tile` of grid t: rows [i0, i1) x columns [j0, j1) of C.
template <class Arch>
std::array<int64_t, 4> tile_bounds(const Gemm& g, const TileGrid& t, int64_t tile) {
  const auto [i0, i1] = block_range(tile % t.nrb, t.nrb, t.mp, Arch::MR, g.m);
  const auto [j0, j1] = block_range(tile / t.nrb, t.ncb, t.np, Arch::NR, g.n);
  return {i0, i1, j0, j1};
}

// ---- speculative tiles (the small-tile grid, for products called from JS)
// A preempted worker holding a tile would make the caller wait for it a scheduler time slice (milliseconds, longer
// than the whole product). Instead each tile is computed into the thread's own buffer and committed to C by whoever
// finishes it first: the caller, once no tile is left to claim, recomputes tiles whose holders have not finished
// within 1.5 times its own mean tile time, and returns as soon as every tile is committed. A worker that resumes later
// finds its tile committed (or its job gone) and drops its result. The job lives in a slot of a static ring, never
// on the caller's stack, and keeps references to its three typed arrays until the slot is reused, so a late worker
// never reads freed memory. Every C element is still summed over K in the same order, so the result is the same.
constexpr int kSpecSlots = 16;
constexpr uint64_t kPending = 0, kCommitting = 1, kDone = 2;  // tile state: id << 2 | one of these

struct SpecSlot {
  std::atomic<uint64_t> id{0};  // the job in this slot; 0 while it is being set up
  std::atomic<int> inside{0};   // threads inside one of its tiles (the slot is not rewritten while > 0)
  Gemm g{};
  TileGrid t{};
  uint64_t product = 0;
  void (*run)(SpecSlot&, uint64_t id, int64_t tile) = nullptr;
  std::unique_ptr<std::atomic<uint64_t>[]> state;  // one per tile
  int64_t capacity = 0;
  napi_env env = nullptr;
  std::array<napi_ref, 3> pins{};  // c, a, b: kept alive until the slot is reused
};

SpecSlot* spec_slots() {
  static SpecSlot* slots = new SpecSlot[kSpecSlots];  // never destroyed: late workers may still look at them
  return slots;
}

thread_local Scratch t_tile_c;

// Counts for tests and diagnostics (gemmStats): speculative products, tiles the caller recomputed, results dropped
// because the tile was already committed. And a test hook (setSpeculativeDelay): workers sleep this many µs after
// claiming a speculative tile, as if preempted, so that the caller must recompute it.
std::atomic<uint64_t> g_spec_jobs{0}, g_spec_recomputed{0}, g_spec_dropped{0};
std::atomic<int64_t> g_spec_delay_us{0};
thread_local bool t_spec_caller = false;

// Computes tile `tile` of the slot's job into this thread's buffer and commits it unless someone already has.
template <class Arch>
void spec_tile(SpecSlot& s, uint64_t id, int64_t tile) {
  std::atomic<uint64_t>& st = s.state[tile];
  uint64_t pending = id << 2 | kPending;
  if (st.load(std::memory_order_acquire) != pending) return;
  const int64_t delay = g_spec_delay_us.load(std::memory_order_relaxed);
  if (delay > 0 && !t_spec_caller) std::this_thread::sleep_for(std::chrono::microseconds(delay));
  const auto [i0, i1, j0, j1] = tile_bounds<Arch>(s.g, s.t, tile);
  const int64_t rows = i1 - i0, cols = j1 - j0;
  float* buf = t_tile_c.get(std::max<int64_t>(1, rows * cols));
  Gemm sub = sub_problem(s.g, i0, i1, j0, j1);
  if (s.g.accumulate) {
    for (int64_t i = 0; i < rows; i++) std::memcpy(buf + i * cols, sub.c + i * sub.ldc, cols * sizeof(float));
  }
  float* c = sub.c;
  const int64_t ldc = sub.ldc;
  sub.c = buf;
  sub.ldc = cols;
  if (rows > 0 && cols > 0) gemm_tile<Arch>(sub, s.product, 0, rows, 0, cols);
  if (!st.compare_exchange_strong(pending, id << 2 | kCommitting, std::memory_order_acq_rel)) {
    g_spec_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  for (int64_t i = 0; i < rows; i++) std::memcpy(c + i * ldc, buf + i * cols, cols * sizeof(float));
  st.store(id << 2 | kDone, std::memory_order_release);
}

// The pool's handler for chunk `tile` of speculative job `id`, on any thread, possibly after the job is over.
void spec_handler(uint64_t id, uint64_t tile) {
  SpecSlot& s = spec_slots()[id % kSpecSlots];
  s.inside.fetch_add(1, std::memory_order_seq_cst);
  if (s.id.load(std::memory_order_seq_cst) == id) s.run(s, id, static_cast<int64_t>(tile));
  s.inside.fetch_sub(1, std::memory_order_release);
}

// The caller's end of job `id`: waits for the tiles other threads hold, recomputing those not committed within
// 1.5 times its own mean tile time (their holder is most likely preempted), until every tile is committed.
void spec_finish(SpecSlot& s, uint64_t id, uint64_t tile_ticks) {
  const uint64_t patience = tile_ticks > 0 ? tile_ticks + tile_ticks / 2 : 200000;
  const uint64_t start = cycle_count(), done = id << 2 | kDone;
  const int64_t tiles = s.t.tiles();
  for (int64_t spins = 0;; spins++) {
    bool all = true;
    for (int64_t tile = 0; tile < tiles; tile++) {
      const uint64_t v = s.state[tile].load(std::memory_order_acquire);
      if (v == done) continue;
      all = false;
      if (v == (id << 2 | kPending) && cycle_count() - start > patience) {
        g_spec_recomputed.fetch_add(1, std::memory_order_relaxed);
        s.run(s, id, tile);
      }
    }
    if (all) return;
    if (spins < 2000) _mm_pause();
    else std::this_thread::yield();
  }
}

// Releases the slot's references to its last job's arrays (on the JS thread that made them).
void unpin(SpecSlot& s) {
  for (napi_ref& r : s.pins) {
    if (r != nullptr && s.env != nullptr) napi_delete_reference(s.env, r);
    r = nullptr;
  }
  s.env = nullptr;
}

// The JS call whose typed arrays a speculative product pins (Matmul sets it around sgemm; null for other callers).
const Napi::CallbackInfo* g_js_call = nullptr;

// Sets up a slot for g on grid t and runs it speculatively; false if the pool chose to run it serially.
template <class Arch>
bool gemm_speculative(const Gemm& g, const TileGrid& t, uint64_t product) {
  const uint64_t id = next_speculative_id();
  SpecSlot& s = spec_slots()[id % kSpecSlots];
  s.id.store(0, std::memory_order_seq_cst);
  while (s.inside.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();  // a late worker of its last job
  unpin(s);
  s.env = g_js_call->Env();
  for (size_t i = 0; i < s.pins.size(); i++) napi_create_reference(s.env, (*g_js_call)[i], 1, &s.pins[i]);
  s.g = g;
  s.t = t;
  s.product = product;
  s.run = spec_tile<Arch>;
  if (s.capacity < t.tiles()) {
    s.state.reset(new std::atomic<uint64_t>[t.tiles()]);
    s.capacity = t.tiles();
  }
  for (int64_t tile = 0; tile < t.tiles(); tile++) s.state[tile].store(id << 2 | kPending, std::memory_order_relaxed);
  s.id.store(id, std::memory_order_seq_cst);
  t_spec_caller = true;
  const bool ran = parallel_speculative(id, t.tiles(), [&s](uint64_t job, uint64_t tile_ticks) { spec_finish(s, job, tile_ticks); });
  t_spec_caller = false;
  if (ran) g_spec_jobs.fetch_add(1, std::memory_order_relaxed);
  return ran;
}

// Cuts C into tiles (tile_grid) that the threads claim one at a time, column block by column block, so a thread
// that is preempted delays only its current tile (or, for a product called from JS, none: gemm_speculative). Every
// C element is still summed over K in KC blocks in order, so the result does not depend on the grid or the thread
// count.
template <class Arch>
void gemm_threads(const Gemm& g, int nt) {
  const TileGrid t = tile_grid<Arch>(g, nt);
  if (t.tiles() <= 1) {
    gemm_serial<Arch>(g);
    return;
  }
  const uint64_t product = g_product.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool rectangles = t.tiles() <= nt;  // one per thread: each runs the serial algorithm on its rectangle
  if (!rectangles && g_js_call != nullptr) {
    if (!gemm_speculative<Arch>(g, t, product)) gemm_serial<Arch>(g);
    return;
  }
  parallel_chunks(t.tiles(), [&](int64_t tile) {
    const auto [i0, i1, j0, j1] = tile_bounds<Arch>(g, t, tile);
    if (i0 >= i1 || j0 >= j1) return;
    if (rectangles) gemm_serial<Arch>(sub_problem(g, i0, i1, j0, j1));
    else gemm_tile<Arch>(g, product, i0, i1, j0, j1);
  });
}

// Small products, and products below kContendedMinFma while the pool is contended, run on the caller alone.
template <class Arch>
void gemm_parallel(const Gemm& g) {
  const int nt = num_threads();
  const int64_t fma = g.m * g.n * g.k;
  if (nt <= 1 || in_parallel_job() || fma < kParallelMinFma || (fma < kContendedMinFma && pool_contended())) {
    gemm_serial<Arch>(g);
    return;
  }
  gemm_threads<Arch>(g, nt);
}

// ------------------------------------------------------------------------------------------------ GEMV

// y (N) = x (K) · op(B) (K,N)  [+ y].  B is stored (K,N) (rows of length N, stride ldb) or, when transB, (N,K).
// Serves M == 1 (y is C's row) and N == 1 (y is C's column: C^T = b^T · A^T).
struct Gemv {
  float* y;
  const float* x;
  const float* b;
  int64_t n, k, ldb;
  bool trans_b;
  bool accumulate;
};

void gemv_plain(const Gemv& v, int64_t j0, int64_t j1) {
  if (v.trans_b) {
    for (int64_t j = j0; j < j1; j++) {
      const float* row = v.b + j * v.ldb;
      float s = 0.0f;
      for (int64_t p = 0; p < v.k; p++) s += v.x[p] * row[p];
      v.y[j] = v.accumulate ? v.y[j] + s : s;
    }
    return;
  }
  if (!v.accumulate) std::fill(v.y + j0, v.y + j1, 0.0f);
  for (int64_t p = 0; p < v.k; p++) {
    const float xp = v.x[p];
    const float* row = v.b + p * v.ldb;
    for (int64_t j = j0; j < j1; j++) v.y[j] += xp * row[j];
  }
}

// ------------------------------------------------------------------------------------------------ AVX2 path

struct Avx2Arch {
  static constexpr int MR = 6, NR = 16;
  static constexpr int64_t MC = 120, KC = 256, NC = 2048;
  MOD_TARGET_AVX2 static void pack_a(float* dst, const Gemm& g, int64_t i0, int mr, int64_t p0, int64_t kc) {
    pack_a_plain(dst, g, MR, i0, mr, p0, kc);
  }
  MOD_TARGET_AVX2 static void pack_b(float* dst, const Gemm& g, int64_t p0, int64_t kc, int64_t j0, int nr) {
    if (g.bcs == 1 && nr == NR) {
      const float* b = g.b + p0 * g.brs + j0;
      for (int64_t p = 0; p < kc; p++) {
        _mm256_store_ps(dst + p * NR, _mm256_loadu_ps(b + p * g.brs));
        _mm256_store_ps(dst + p * NR + 8, _mm256_loadu_ps(b + p * g.brs + 8));
      }
      return;
    }
    pack_b_plain(dst, g, NR, p0, kc, j0, nr);
  }
  MOD_TARGET_AVX2 static void kernel(int64_t kc, const float* pa, const float* pb, float* c, int64_t ldc, int mr, int nr,
                                     bool load_c) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t p = 0; p < kc; p++) {
      const __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        const __m256 a = _mm256_broadcast_ss(pa + i);
        acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
      }
      pa += MR;
      pb += NR;
    }
    if (mr == MR && nr == NR) {
#pragma GCC unroll 6
      for (int i = 0; i < MR; i++) {
        float* ci = c + i * ldc;
        if (load_c) {
          acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
          acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
        }
        _mm256_storeu_ps(ci, acc[i][0]);
        _mm256_storeu_ps(ci + 8, acc[i][1]);
      }
      return;
    }
    alignas(32) float tile[MR][NR];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      _mm256_store_ps(tile[i], acc[i][0]);
      _mm256_store_ps(tile[i] + 8, acc[i][1]);
    }
    store_tile_plain<MR, NR>(tile, c, ldc, mr, nr, load_c);
  }
};

MOD_TARGET_AVX2 void gemv_avx2(const Gemv& v, int64_t j0, int64_t j1) {
  if (v.trans_b) {
    for (int64_t j = j0; j < j1; j++) {
      const float* row = v.b + j * v.ldb;
      __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
      int64_t p = 0;
      for (; p + 16 <= v.k; p += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(v.x + p), _mm256_loadu_ps(row + p), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(v.x + p + 8), _mm256_loadu_ps(row + p + 8), s1);
      }
      float s = hsum8(_mm256_add_ps(s0, s1));
      for (; p < v.k; p++) s += v.x[p] * row[p];
      v.y[j] = v.accumulate ? v.y[j] + s : s;
    }
    return;
  }
  // y[j0:j1] in chunks of 64 held in 8 ymm accumulators across the whole K loop.
  int64_t j = j0;
  for (; j + 64 <= j1; j += 64) {
    __m256 acc[8];
    for (int t = 0; t < 8; t++) acc[t] = v.accumulate ? _mm256_loadu_ps(v.y + j + 8 * t) : _mm256_setzero_ps();
    for (int64_t p = 0; p < v.k; p++) {
      const __m256 xp = _mm256_broadcast_ss(v.x + p);
      const float* row = v.b + p * v.ldb + j;
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) acc[t] = _mm256_fmadd_ps(xp, _mm256_loadu_ps(row + 8 * t), acc[t]);
    }
    for (int t = 0; t < 8; t++) _mm256_storeu_ps(v.y + j + 8 * t, acc[t]);
  }
  if (j < j1) gemv_plain(v, j, j1);
}

// ------------------------------------------------------------------------------------------------ AVX-512 path

// In-register transpose of a 16x16 block: r[i] holds row i on entry, column i on exit.
MOD_TARGET_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
  }
}

// Packs a block whose source rows are contiguous along p: src(row r, p) = src[r*ld + p], rows < rows_valid, into
// dst[p*dst_ld + r] (r < 16, rows beyond rows_valid are zero), storing `store_mask` lanes of each dst row.
MOD_TARGET_AVX512 void pack_transpose16(float* dst, int64_t dst_ld, __mmask16 store_mask, const float* src, int64_t ld,
                                         int rows_valid, int64_t kc) {
  for (int64_t p = 0; p < kc; p += 16) {
    const int64_t kb = std::min<int64_t>(16, kc - p);
    const __mmask16 lm = tail16(kb);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows_valid ? _mm512_maskz_loadu_ps(lm, src + i * ld + p) : _mm512_setzero_ps();
    transpose16(r);
    for (int t = 0; t < kb; t++) _mm512_mask_storeu_ps(dst + (p + t) * dst_ld, store_mask, r[t]);
  }
}

// The micro-kernel for an R x (16*NV) tile out of MR x NR packed panels. nlast = valid columns in the last vector.
template <int MR, int NR, int R, int NV>
MOD_TARGET_AVX512 void ukernel512(int64_t kc, const float* __restrict pa, const float* __restrict pb, float* c,
                                  int64_t ldc, int nlast, bool load_c) {
  __m512 acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; i++) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
  }
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc; p++) {
    __m512 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(pb + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      const __m512 a = _mm512_set1_ps(pa[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
    }
    pa += MR;
    pb += NR;
  }
  const __mmask16 ml = tail16(nlast);
#pragma GCC unroll 16
  for (int i = 0; i < R; i++) {
    float* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV - 1; v++) {
      if (load_c) acc[i][v] = _mm512_add_ps(acc[i][v], _mm512_loadu_ps(ci + 16 * v));
      _mm512_storeu_ps(ci + 16 * v, acc[i][v]);
    }
    float* cl = ci + 16 * (NV - 1);
    if (load_c) acc[i][NV - 1] = _mm512_add_ps(acc[i][NV - 1], _mm512_maskz_loadu_ps(ml, cl));
    _mm512_mask_storeu_ps(cl, ml, acc[i][NV - 1]);
  }
}

using Ukernel = void (*)(int64_t, const float*, const float*, float*, int64_t, int, bool);

template <int MR, int NR, int R, int... V>
constexpr std::array<Ukernel, sizeof...(V)> ukernel_row(std::integer_sequence<int, V...>) {
  return {&ukernel512<MR, NR, R, V + 1>...};
}
template <int MR, int NR, int... R>
constexpr std::array<std::array<Ukernel, NR / 16>, MR> ukernel_table(std::integer_sequence<int, R...>) {
  return {ukernel_row<MR, NR, R + 1>(std::make_integer_sequence<int, NR / 16>())...};
}

template <int MR_, int NR_, int64_t MC_, int64_t KC_, int64_t NC_>
struct Avx512Arch {
  static constexpr int MR = MR_, NR = NR_;
  static constexpr int64_t MC = MC_, KC = KC_, NC = NC_;
  static_assert(MR <= 16 && NR % 16 == 0, "tile shape");

  MOD_TARGET_AVX512 static void pack_a(float* dst, const Gemm& g, int64_t i0, int mr, int64_t p0, int64_t kc) {
    const float* a = g.a + i0 * g.ars + p0 * g.acs;
    if (g.acs == 1) {  // A row-major (M,K): transpose MR rows into the panel
      pack_transpose16(dst, MR, tail16(MR), a, g.ars, mr, kc);
    } else if (g.ars == 1) {  // A stored (K,M): each p is a contiguous run of mr floats
      const __mmask16 lm = tail16(mr), sm = tail16(MR);
      for (int64_t p = 0; p < kc; p++) _mm512_mask_storeu_ps(dst + p * MR, sm, _mm512_maskz_loadu_ps(lm, a + p * g.acs));
    } else {
      pack_a_plain(dst, g, MR, i0, mr, p0, kc);
    }
  }

  MOD_TARGET_AVX512 static void pack_b(float* dst, const Gemm& g, int64_t p0, int64_t kc, int64_t j0, int nr) {
    const float* b = g.b + p0 * g.brs + j0 * g.bcs;
    if (g.bcs == 1) {  // B row-major (K,N): each p is a contiguous run of nr floats
      for (int64_t p = 0; p < kc; p++) {
        for (int v = 0; v < NR / 16; v++) {
          _mm512_store_ps(dst + p * NR + 16 * v, _mm512_maskz_loadu_ps(tail16(nr - 16 * v), b + p * g.brs + 16 * v));
        }
      }
    } else if (g.brs == 1) {  // B stored (N,K): transpose 16 rows at a time
      for (int v = 0; v < NR / 16; v++) {
        const int rows = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(16, nr - 16 * v)));
        pack_transpose16(dst + 16 * v, NR, 0xFFFF, b + 16 * v * g.bcs, g.bcs, rows, kc);
      }
    } else {
      pack_b_plain(dst, g, NR, p0, kc, j0, nr);
    }
  }

  static void kernel(int64_t kc, const float* pa, const float* pb, float* c, int64_t ldc, int mr, int nr, bool load_c) {
    static constexpr auto table = ukernel_table<MR, NR>(std::make_integer_sequence<int, MR>());
    const int nv = (nr + 15) / 16;
    table[mr - 1][nv - 1](kc, pa, pb, c, ldc, nr - 16 * (nv - 1), load_c);
  }
};

using Avx512Default = Avx512Arch<14, 32, 280, 256, 4096>;

MOD_TARGET_AVX512 void gemv_avx512(const Gemv& v, int64_t j0, int64_t j1) {
  if (v.trans_b) {
    // Four rows of B at a time, each dotted with x.
    int64_t j = j0;
    for (; j < j1; j += 4) {
      const int rows = static_cast<int>(std::min<int64_t>(4, j1 - j));
      __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t p = 0; p < v.k; p += 16) {
        const __mmask16 lm = tail16(v.k - p);
        const __m512 xv = _mm512_maskz_loadu_ps(lm, v.x + p);
        for (int r = 0; r < rows; r++) s[r] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(lm, v.b + (j + r) * v.ldb + p), s[r]);
      }
      for (int r = 0; r < rows; r++) {
        const float d = _mm512_reduce_add_ps(s[r]);
        v.y[j + r] = v.accumulate ? v.y[j + r] + d : d;
      }
    }
    return;
  }
  // y[j0:j1] in chunks of up to 128 held in 8 zmm accumulators across the whole K loop.
  for (int64_t j = j0; j < j1; j += 128) {
    const int64_t w = std::min<int64_t>(128, j1 - j);
    __mmask16 m[8];
    __m512 acc[8];
    for (int t = 0; t < 8; t++) {
      m[t] = tail16(std::max<int64_t>(0, w - 16 * t));
      acc[t] = v.accumulate ? _mm512_maskz_loadu_ps(m[t], v.y + j + 16 * t) : _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < v.k; p++) {
      const __m512 xp = _mm512_set1_ps(v.x[p]);
      const float* row = v.b + p * v.ldb + j;
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) acc[t] = _mm512_fmadd_ps(xp, _mm512_maskz_loadu_ps(m[t], row + 16 * t), acc[t]);
    }
    for (int t = 0; t < 8; t++) _mm512_mask_storeu_ps(v.y + j + 16 * t, m[t], acc[t]);
  }
}

// ------------------------------------------------------------------------------------------------ dispatch

void gemv(const Gemv& v) {
  auto fn = pick(gemv_plain, gemv_avx2, gemv_avx512);
  // GEMV is memory-bound; a second core helps once B no longer fits in L2.
  const int64_t grain = std::max<int64_t>(64, (int64_t(1) << 17) / std::max<int64_t>(1, v.k));
  if (v.n * v.k < (int64_t(1) << 18)) {
    fn(v, 0, v.n);
    return;
  }
  parallel_for((v.n + 15) / 16, (grain + 15) / 16, [&](int64_t b, int64_t e) { fn(v, b * 16, std::min(v.n, e * 16)); });
}

}  // namespace

// C = op(A) · op(B) [+ C]; the entry point of every matmul.
void sgemm(const Gemm& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {
    if (!g.accumulate) {
      for (int64_t i = 0; i < g.m; i++) std::fill(g.c + i * g.ldc, g.c + i * g.ldc + g.n, 0.0f);
    }
    return;
  }
  if (g.m == 1 && g.acs == 1) {  // y (N) = a (K) · op(B)
    return gemv({g.c, g.a, g.b, g.n, g.k, g.bcs == 1 ? g.brs : g.bcs, g.bcs != 1, g.accumulate});
  }
  if (g.n == 1 && g.ldc == 1 && g.brs == 1) {  // C^T (M) = b (K) · op(A)^T
    return gemv({g.c, g.b, g.a, g.m, g.k, g.acs == 1 ? g.ars : g.acs, g.acs == 1, g.accumulate});
  }
  pick(gemm_parallel<ScalarArch>, gemm_parallel<Avx2Arch>, gemm_parallel<Avx512Default>)(g);
}

namespace {

// ------------------------------------------------------------------------------------------------ bias

void add_bias_plain(float* out, const float* bias, int64_t r0, int64_t r1, int64_t c) {
  for (int64_t i = r0; i < r1; i++) {
    for (int64_t j = 0; j < c; j++) out[i * c + j] += bias[j];
  }
}

// Column sums of dout[:, c0:c1] into dbias; rows in the outer loop so dout is read sequentially.
void bias_backward_plain(float* dbias, const float* dout, int64_t n, int64_t c, int64_t c0, int64_t c1) {
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = c0; j < c1; j++) dbias[j] += dout[i * c + j];
  }
}

MOD_TARGET_AVX2 void add_bias_avx2(float* out, const float* bias, int64_t r0, int64_t r1, int64_t c) {
  for (int64_t i = r0; i < r1; i++) {
    float* o = out + i * c;
    int64_t j = 0;
    for (; j + 8 <= c; j += 8) _mm256_storeu_ps(o + j, _mm256_add_ps(_mm256_loadu_ps(o + j), _mm256_loadu_ps(bias + j)));
    for (; j < c; j++) o[j] += bias[j];
  }
}

MOD_TARGET_AVX2 void bias_backward_avx2(float* dbias, const float* dout, int64_t n, int64_t c, int64_t c0, int64_t c1) {
  int64_t j = c0;
  for (; j + 32 <= c1; j += 32) {
    __m256 s[4];
    for (int t = 0; t < 4; t++) s[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i++) {
      for (int t = 0; t < 4; t++) s[t] = _mm256_add_ps(s[t], _mm256_loadu_ps(dout + i * c + j + 8 * t));
    }
    for (int t = 0; t < 4; t++) _mm256_storeu_ps(dbias + j + 8 * t, _mm256_add_ps(_mm256_loadu_ps(dbias + j + 8 * t), s[t]));
  }
  if (j < c1) bias_backward_plain(dbias, dout, n, c, j, c1);
}

MOD_TARGET_AVX512 void add_bias_avx512(float* out, const float* bias, int64_t r0, int64_t r1, int64_t c) {
  for (int64_t i = r0; i < r1; i++) {
    float* o = out + i * c;
    for (int64_t j = 0; j < c; j += 16) {
      const __mmask16 m = tail16(c - j);
      _mm512_mask_storeu_ps(o + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o + j), _mm512_maskz_loadu_ps(m, bias + j)));
    }
  }
}

// Column blocks of 64 held in 4 zmm accumulators down all n rows.
MOD_TARGET_AVX512 void bias_backward_avx512(float* dbias, const float* dout, int64_t n, int64_t c, int64_t c0, int64_t c1) {
  for (int64_t j = c0; j < c1; j += 64) {
    __mmask16 m[4];
    __m512 s[4];
    for (int t = 0; t < 4; t++) {
      m[t] = tail16(std::max<int64_t>(0, c1 - j - 16 * t));
      s[t] = _mm512_setzero_ps();
    }
    for (int64_t i = 0; i < n; i++) {
#pragma GCC unroll 4
      for (int t = 0; t < 4; t++) s[t] = _mm512_add_ps(s[t], _mm512_maskz_loadu_ps(m[t], dout + i * c + j + 16 * t));
    }
    for (int t = 0; t < 4; t++) {
      float* d = dbias + j + 16 * t;
      _mm512_mask_storeu_ps(d, m[t], _mm512_add_ps(_mm512_maskz_loadu_ps(m[t], d), s[t]));
    }
  }
}

constexpr int64_t kBiasParallelMin = int64_t(1) << 18;  // floats; below this one thread is faster

void add_bias(float* out, const float* bias, int64_t n, int64_t c) {
  auto fn = pick(add_bias_plain, add_bias_avx2, add_bias_avx512);
  if (n * c < kBiasParallelMin) return fn(out, bias, 0, n, c);
  parallel_for(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, c)), [&](int64_t b, int64_t e) { fn(out, bias, b, e, c); });
}

void bias_backward(float* dbias, const float* dout, int64_t n, int64_t c) {
  auto fn = pick(bias_backward_plain, bias_backward_avx2, bias_backward_avx512);
  if (n * c < kBiasParallelMin || c < 128) return fn(dbias, dout, n, c, 0, c);
  // Split columns in multiples of 64 so each thread owns whole accumulator blocks of dbias.
  parallel_for((c + 63) / 64, 1, [&](int64_t b, int64_t e) { fn(dbias, dout, n, c, b * 64, std::min(c, e * 64)); });
}

// ------------------------------------------------------------------------------------------------ bindings

// matmul(c, a, b, m, n, k, transA, transB, accumulate)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t m = a.i64(3), n = a.i64(4), k = a.i64(5);
  const bool ta = a.flag(6), tb = a.flag(7), acc = a.flag(8);
  if (a.ok && (m < 0 || n < 0 || k < 0)) a.fail("matmul: negative dimension");
  float* c = a.f32(0, m * n);
  const float* pa = a.f32(1, m * k);
  const float* pb = a.f32(2, k * n);
  if (!a.ok) return info.Env().Undefined();
  Gemm g{c, n, pa, ta ? 1 : k, ta ? m : 1, pb, tb ? 1 : n, tb ? k : 1, m, n, k, acc};
  g_js_call = &info;  // lets a speculative product pin c, a and b (gemm_speculative)
  sgemm(g);
  g_js_call = nullptr;
  return info.Env().Undefined();
}

// addBias(out, bias, n, c)
Napi::Value AddBias(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t n = a.i64(2), c = a.i64(3);
  if (a.ok && (n < 0 || c < 0)) a.fail("addBias: negative dimension");
  float* out = a.f32(0, n * c);
  const float* bias = a.f32(1, c);
  if (a.ok) add_bias(out, bias, n, c);
  return info.Env().Undefined();
}

// biasBackward(dbias, dout, n, c)
Napi::Value BiasBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t n = a.i64(2), c = a.i64(3);
  if (a.ok && (n < 0 || c < 0)) a.fail("biasBackward: negative dimension");
  float* dbias = a.f32(0, c);
  const float* dout = a.f32(1, n * c);
  if (a.ok) bias_backward(dbias, dout, n, c);
  return info.Env().Undefined();
}

// gemmStats() -> { speculative, recomputed, dropped }: counts since the addon loaded.
Napi::Value GemmStats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("speculative", static_cast<double>(g_spec_jobs.load()));
  o.Set("recomputed", static_cast<double>(g_spec_recomputed.load()));
  o.Set("dropped", static_cast<double>(g_spec_dropped.load()));
  return o;
}

// setSpeculativeDelay(microseconds): tests only (see g_spec_delay_us).
Napi::Value SetSpeculativeDelay(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t us = a.i64(0);
  if (a.ok) g_spec_delay_us.store(std::max<int64_t>(0, us));
  return info.Env().Undefined();
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
  def(env, exports, "gemmStats", GemmStats);
  def(env, exports, "setSpeculativeDelay", SetSpeculativeDelay);
  set_speculative_handler(spec_handler);
  // At the environment's teardown its references go with it: forget them once no late worker can read the arrays.
  napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        for (int i = 0; i < kSpecSlots; i++) {
          SpecSlot& s = spec_slots()[i];
          if (s.env != static_cast<napi_env>(arg)) continue;
          s.id.store(0, std::memory_order_seq_cst);
          while (s.inside.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
          s.pins.fill(nullptr);
          s.env = nullptr;
        }
      },
      env);
  def(env, exports, "matmul", Matmul);
  def(env, exports, "addBias", AddBias);
  def(env, exports, "biasBackward", BiasBackward);
}

}  // namespace mod
