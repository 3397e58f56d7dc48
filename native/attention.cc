// Fused multi-head causal attention: forward, backward, RoPE, and the one-token KV-cache decode step.
//
// Visibility: row i of sequence b sees row j iff pos[b,j] <= pos[b,i] (rows with equal positions see each other).
// hi_i = 1 + the last visible row; when a sequence's positions are non-decreasing (the usual case, including a
// routed subset sorted by position) row i sees exactly rows [0, hi_i) and no mask is needed; otherwise masked
// scores in [0, hi_i) are set to -inf before the softmax.
//
// Work is split over (b, head) pairs (parallel_for), or, in the forward, over query blocks of every pair when the
// pairs cannot keep the threads evenly busy (split_queries). Each pair packs its head into thread-local scratch:
//   Qs (T,hs) = rot(q)/sqrt(hs), K (T,hs) = rot(k), Kt = Kᵀ (hs,T), and in the backward also Vt = Vᵀ (hs,T),
// then walks query blocks of kBlockRows rows. Each block is a handful of small GEMMs on a register-blocked
// micro-kernel (MR rows x up to NV vectors; broadcast A, vector B) that stops at the causal boundary of each
// MR-row panel:
//   forward   S = Qs·Kt;  P = softmax(S) (row-wise, masked);  O = P·V
//   backward  S = Qs·Kt;  P = exp(S - lse);  dP = dO·Vt;  dS = P ⊙ (dP - rowsum(P ⊙ dP));
//             dQs = dS·K (complete for the block);  dK += dSᵀ·Qs;  dV += Pᵀ·dO (straight into dqkv)
// and adds dQ = rotᵀ(dQs)/sqrt(hs) and dK = rotᵀ(dK) (the transpose of the rotation) into dqkv.
//
// Cache layout (this backend only): the log-sum-exp of each score row, lse (B, nHead, T), i.e. flash-attention
// style: the backward recomputes P (one extra hs-deep GEMM) instead of storing B·nHead·T² probabilities, which
// would dominate a model's activation memory at T = 1024.
//
// RoPE: cos/sin of (pos, pair) are computed in double and stored as float (the same formula as the reference),
// in a process-wide table per (headSize, ropeBase) that grows to cover the positions seen; calls with a few rows
// (the decode step) or scattered positions compute their rows' angles directly.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "simd.h"

namespace mod {

namespace {

constexpr int kBlockRows = 64;  // query rows per block: S and dS blocks of (64, T) stay in L2 for T <= 1024
constexpr int kMR = 6;          // micro-kernel rows
// The forward cuts (sequence, head) pairs into query blocks (split_queries) only from this sequence length, and only
// below this many pairs per thread.
constexpr int64_t kSplitMinT = 512;
constexpr int64_t kPairsPerThread = 4;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// ------------------------------------------------------------------------------------------------ small GEMM
// C (m, n) = A · B, or C += A · B when accumulate. A(r, k) = a[r·sr + k·sk] (so Aᵀ is just swapped strides),
// B(k, c) = b[k·ldb + c], C(r, c) = c[r·ldc + c]. Optional per-row ranges let causal products skip zero work:
// a panel of rows computes columns [0, max rowN) and sums over k in [min rowKBeg, max rowKEnd). Entries a panel
// computes beyond a row's own rowN are junk the caller never reads; the A entries a panel sums over beyond a
// row's own k range must be zero.
struct Gemm {
  int64_t m, n, k;
  const float* a;
  int64_t sr, sk;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  const int* rowN = nullptr;
  const int* rowKBeg = nullptr;
  const int* rowKEnd = nullptr;
  bool accumulate = false;
};

struct Range {
  int64_t n, kb, ke;
};

Range panel_range(const Gemm& g, int64_t i0, int64_t mr) {
  Range r{g.rowN ? 0 : g.n, g.rowKBeg ? g.k : 0, g.rowKEnd ? 0 : g.k};
  for (int64_t i = i0; i < i0 + mr; i++) {
    if (g.rowN) r.n = std::max<int64_t>(r.n, g.rowN[i]);
    if (g.rowKBeg) r.kb = std::min<int64_t>(r.kb, g.rowKBeg[i]);
    if (g.rowKEnd) r.ke = std::max<int64_t>(r.ke, g.rowKEnd[i]);
  }
  return r;
}

// One tile: rows [i0, i0+MR), columns [j0, j0+nc), k in [kb, ke).
using TileFn = void (*)(const Gemm&, int64_t i0, int64_t j0, int64_t kb, int64_t ke, int nc);

// Drives the tiles of one SIMD level: tiles[(mr-1)·2·nvMax + (nv-1)·2 + full] with `width` floats per vector.
void gemm_tiled(const Gemm& g, int width, int nvMax, const TileFn* tiles) {
  for (int64_t i0 = 0; i0 < g.m; i0 += kMR) {
    int64_t mr = std::min<int64_t>(kMR, g.m - i0);
    Range r = panel_range(g, i0, mr);
    for (int64_t j0 = 0; j0 < r.n; j0 += int64_t(width) * nvMax) {
      int nc = static_cast<int>(std::min<int64_t>(int64_t(width) * nvMax, r.n - j0));
      int nv = (nc + width - 1) / width;
      int full = nc == nv * width ? 1 : 0;
      tiles[(mr - 1) * 2 * nvMax + (nv - 1) * 2 + full](g, i0, j0, r.kb, r.ke, nc);
    }
  }
}

// ------------------------------------------------------------------------------------------------ scalar path
// Per-row exact ranges (no panels).
void gemm_scalar(const Gemm& g) {
  for (int64_t i = 0; i < g.m; i++) {
    int64_t n = g.rowN ? g.rowN[i] : g.n;
    int64_t kb = g.rowKBeg ? g.rowKBeg[i] : 0, ke = g.rowKEnd ? g.rowKEnd[i] : g.k;
    float* c = g.c + i * g.ldc;
    if (!g.accumulate) std::fill(c, c + n, 0.0f);
    for (int64_t k = kb; k < ke; k++) {
      float a = g.a[i * g.sr + k * g.sk];
      const float* b = g.b + k * g.ldb;
      for (int64_t j = 0; j < n; j++) c[j] += a * b[j];
    }
  }
}

// s[0..n) = softmax(s[0..n)); returns the log-sum-exp. n >= 1.
float softmax_row_scalar(float* s, int64_t n) {
  float m = kNegInf;
  for (int64_t j = 0; j < n; j++) m = std::max(m, s[j]);
  float sum = 0.0f;
  for (int64_t j = 0; j < n; j++) {
    s[j] = std::exp(s[j] - m);
    sum += s[j];
  }
  float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; j++) s[j] *= inv;
  return m + std::log(sum);
}

// s = exp(s - lse): the probabilities again, from the forward's log-sum-exp.
void exp_row_scalar(float* s, int64_t n, float lse) {
  for (int64_t j = 0; j < n; j++) s[j] = std::exp(s[j] - lse);
}

// ds = p ⊙ (ds - Σ p·ds): softmax backward in place (ds holds dP on entry).
void dsoftmax_row_scalar(float* ds, const float* p, int64_t n) {
  float d = 0.0f;
  for (int64_t j = 0; j < n; j++) d += p[j] * ds[j];
  for (int64_t j = 0; j < n; j++) ds[j] = p[j] * (ds[j] - d);
}

// dst = s · rot(src): pairs (x0, x1) → (x0·c − x1·sn, x0·sn + x1·c), cs = (c, sn) per pair; cs = null: no rotation.
void rotate_scalar(float* dst, const float* src, const float* cs, int64_t hs, float s) {
  if (!cs) {
    for (int64_t e = 0; e < hs; e++) dst[e] = s * src[e];
    return;
  }
  for (int64_t e = 0; e < hs; e += 2) {
    float x0 = src[e], x1 = src[e + 1], c = cs[e], sn = cs[e + 1];
    dst[e] = s * (x0 * c - x1 * sn);
    dst[e + 1] = s * (x0 * sn + x1 * c);
  }
}

// dst += s · rotᵀ(g): the gradient w.r.t. the unrotated vector, (d0, d1) → (d0·c + d1·sn, d1·c − d0·sn).
void add_unrotated_scalar(float* dst, const float* g, const float* cs, int64_t hs, float s) {
  if (!cs) {
    for (int64_t e = 0; e < hs; e++) dst[e] += s * g[e];
    return;
  }
  for (int64_t e = 0; e < hs; e += 2) {
    float d0 = g[e], d1 = g[e + 1], c = cs[e], sn = cs[e + 1];
    dst[e] += s * (d0 * c + d1 * sn);
    dst[e + 1] += s * (d1 * c - d0 * sn);
  }
}

// dst (cols, rows) = src (rows, cols)ᵀ, with row strides ldd and lds.
void transpose_scalar(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}

// ------------------------------------------------------------------------------------------------ AVX2 path
// The last of NV vectors holds nc - (NV-1)·8 columns; FULL says it is whole.
template <int MR, int NV, bool FULL>
MOD_TARGET_AVX2 void tile256(const Gemm& g, int64_t i0, int64_t j0, int64_t kb, int64_t ke, int nc) {
  const __m256i tail = tail8(nc - (NV - 1) * 8);
  __m256 acc[MR][NV];
  float* c = g.c + i0 * g.ldc + j0;
  #pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      float* cp = c + r * g.ldc + v * 8;
      bool masked = !FULL && v == NV - 1;
      acc[r][v] = !g.accumulate ? _mm256_setzero_ps() : masked ? _mm256_maskload_ps(cp, tail) : _mm256_loadu_ps(cp);
    }
  const float* a = g.a + i0 * g.sr;
  const float* b = g.b + j0;
  const int64_t sr = g.sr, sk = g.sk, ldb = g.ldb;
  for (int64_t k = kb; k < ke; k++) {
    const float* bk = b + k * ldb;
    __m256 bv[NV];
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++)
      bv[v] = (!FULL && v == NV - 1) ? _mm256_maskload_ps(bk + v * 8, tail) : _mm256_loadu_ps(bk + v * 8);
    const float* ak = a + k * sk;
    #pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      __m256 av = _mm256_broadcast_ss(ak + r * sr);
      #pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      float* cp = c + r * g.ldc + v * 8;
      if (!FULL && v == NV - 1)
        _mm256_maskstore_ps(cp, tail, acc[r][v]);
      else
        _mm256_storeu_ps(cp, acc[r][v]);
    }
}

#define MOD_TILES256(MR) tile256<MR, 1, false>, tile256<MR, 1, true>, tile256<MR, 2, false>, tile256<MR, 2, true>
const TileFn kTiles256[] = {MOD_TILES256(1), MOD_TILES256(2), MOD_TILES256(3),
                            MOD_TILES256(4), MOD_TILES256(5), MOD_TILES256(6)};
#undef MOD_TILES256

void gemm_avx2(const Gemm& g) { gemm_tiled(g, 8, 2, kTiles256); }

MOD_TARGET_AVX2 float softmax_row_avx2(float* s, int64_t n) {
  int64_t j = 0;
  __m256 mv = _mm256_set1_ps(kNegInf);
  for (; j + 8 <= n; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(s + j));
  float m = hmax8(mv);
  for (; j < n; j++) m = std::max(m, s[j]);
  const __m256 mb = _mm256_set1_ps(m);
  __m256 sv = _mm256_setzero_ps();
  for (j = 0; j + 8 <= n; j += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), mb));
    _mm256_storeu_ps(s + j, e);
    sv = _mm256_add_ps(sv, e);
  }
  if (j < n) {
    __m256i t = tail8(n - j);
    __m256 e = _mm256_and_ps(_mm256_castsi256_ps(t), exp8(_mm256_sub_ps(_mm256_maskload_ps(s + j, t), mb)));
    _mm256_maskstore_ps(s + j, t, e);
    sv = _mm256_add_ps(sv, e);
  }
  float sum = hsum8(sv);
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), inv));
  for (; j < n; j++) s[j] *= 1.0f / sum;
  return m + std::log(sum);
}

MOD_TARGET_AVX2 void exp_row_avx2(float* s, int64_t n, float lse) {
  const __m256 l = _mm256_set1_ps(lse);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(s + j, exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), l)));
  if (j < n) {
    __m256i t = tail8(n - j);
    _mm256_maskstore_ps(s + j, t, exp8(_mm256_sub_ps(_mm256_maskload_ps(s + j, t), l)));
  }
}

MOD_TARGET_AVX2 void dsoftmax_row_avx2(float* ds, const float* p, int64_t n) {
  int64_t j = 0;
  __m256 dv = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) dv = _mm256_fmadd_ps(_mm256_loadu_ps(p + j), _mm256_loadu_ps(ds + j), dv);
  float d = hsum8(dv);
  for (; j < n; j++) d += p[j] * ds[j];
  const __m256 db = _mm256_set1_ps(d);
  for (j = 0; j + 8 <= n; j += 8)
    _mm256_storeu_ps(ds + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), _mm256_sub_ps(_mm256_loadu_ps(ds + j), db)));
  for (; j < n; j++) ds[j] = p[j] * (ds[j] - d);
}

MOD_TARGET_AVX2 inline __m256 rotate8(__m256 x, const float* cs, int64_t e, __m256i mk, bool full) {
  if (!cs) return x;
  __m256 t = full ? _mm256_loadu_ps(cs + e) : _mm256_maskload_ps(cs + e, mk);  // (c, sn) pairs
  __m256 sw = _mm256_permute_ps(x, 0xB1);                                        // (x1, x0) pairs
  return _mm256_fmaddsub_ps(x, _mm256_moveldup_ps(t), _mm256_mul_ps(sw, _mm256_movehdup_ps(t)));
}

MOD_TARGET_AVX2 inline __m256 unrotate8(__m256 x, const float* cs, int64_t e, __m256i mk, bool full) {
  if (!cs) return x;
  __m256 t = full ? _mm256_loadu_ps(cs + e) : _mm256_maskload_ps(cs + e, mk);
  __m256 sw = _mm256_permute_ps(x, 0xB1);
  return _mm256_fmsubadd_ps(x, _mm256_moveldup_ps(t), _mm256_mul_ps(sw, _mm256_movehdup_ps(t)));
}

// vmaskmov is slow on some CPUs (AMD), so only the tail is masked.
MOD_TARGET_AVX2 void rotate_avx2(float* dst, const float* src, const float* cs, int64_t hs, float s) {
  const __m256 sv = _mm256_set1_ps(s);
  const __m256i all = tail8(8);
  int64_t e = 0;
  for (; e + 8 <= hs; e += 8) _mm256_storeu_ps(dst + e, _mm256_mul_ps(rotate8(_mm256_loadu_ps(src + e), cs, e, all, true), sv));
  if (e < hs) {
    __m256i mk = tail8(hs - e);
    _mm256_maskstore_ps(dst + e, mk, _mm256_mul_ps(rotate8(_mm256_maskload_ps(src + e, mk), cs, e, mk, false), sv));
  }
}

MOD_TARGET_AVX2 void add_unrotated_avx2(float* dst, const float* g, const float* cs, int64_t hs, float s) {
  const __m256 sv = _mm256_set1_ps(s);
  const __m256i all = tail8(8);
  int64_t e = 0;
  for (; e + 8 <= hs; e += 8) {
    __m256 x = unrotate8(_mm256_loadu_ps(g + e), cs, e, all, true);
    _mm256_storeu_ps(dst + e, _mm256_fmadd_ps(x, sv, _mm256_loadu_ps(dst + e)));
  }
  if (e < hs) {
    __m256i mk = tail8(hs - e);
    __m256 x = unrotate8(_mm256_maskload_ps(g + e, mk), cs, e, mk, false);
    _mm256_maskstore_ps(dst + e, mk, _mm256_fmadd_ps(x, sv, _mm256_maskload_ps(dst + e, mk)));
  }
}

// 8x8 blocks in registers (unpack, shuffle, permute2f128), scalar edges. Also used at the AVX-512 level.
MOD_TARGET_AVX2 void transpose_avx2(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  int64_t r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t c0 = 0;
    for (; c0 + 8 <= cols; c0 += 8) {
      const float* s = src + r0 * lds + c0;
      __m256 t[8], u[8];
      for (int i = 0; i < 8; i += 2) {
        __m256 a = _mm256_loadu_ps(s + i * lds), b = _mm256_loadu_ps(s + (i + 1) * lds);
        t[i] = _mm256_unpacklo_ps(a, b);
        t[i + 1] = _mm256_unpackhi_ps(a, b);
      }
      for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
      }
      float* d = dst + c0 * ldd + r0;
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(d + i * ldd, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(d + (i + 4) * ldd, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
      }
    }
    transpose_scalar(dst + c0 * ldd + r0, ldd, src + r0 * lds + c0, lds, 8, cols - c0);
  }
  transpose_scalar(dst + r0, ldd, src + r0 * lds, lds, rows - r0, cols);
}

// ------------------------------------------------------------------------------------------------ AVX-512 path
// Masked loads and stores cost no more than plain ones here, so one tile kind per shape suffices.
template <int MR, int NV>
MOD_TARGET_AVX512 void tile512(const Gemm& g, int64_t i0, int64_t j0, int64_t kb, int64_t ke, int nc) {
  const __mmask16 tail = tail16(nc - (NV - 1) * 16);
  __m512 acc[MR][NV];
  float* c = g.c + i0 * g.ldc + j0;
  #pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      __mmask16 mk = v == NV - 1 ? tail : 0xFFFF;
      acc[r][v] = g.accumulate ? _mm512_maskz_loadu_ps(mk, c + r * g.ldc + v * 16) : _mm512_setzero_ps();
    }
  const float* a = g.a + i0 * g.sr;
  const float* b = g.b + j0;
  const int64_t sr = g.sr, sk = g.sk, ldb = g.ldb;
  for (int64_t k = kb; k < ke; k++) {
    const float* bk = b + k * ldb;
    __m512 bv[NV];
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(tail, bk + v * 16) : _mm512_loadu_ps(bk + v * 16);
    const float* ak = a + k * sk;
    #pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      __m512 av = _mm512_set1_ps(ak[r * sr]);
      #pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(c + r * g.ldc + v * 16, v == NV - 1 ? tail : 0xFFFF, acc[r][v]);
}

#define MOD_TILES512(MR)                                                                                          \
  tile512<MR, 1>, tile512<MR, 1>, tile512<MR, 2>, tile512<MR, 2>, tile512<MR, 3>, tile512<MR, 3>, tile512<MR, 4>, \
      tile512<MR, 4>
const TileFn kTiles512[] = {MOD_TILES512(1), MOD_TILES512(2), MOD_TILES512(3),
                            MOD_TILES512(4), MOD_TILES512(5), MOD_TILES512(6)};
#undef MOD_TILES512

void gemm_avx512(const Gemm& g) { gemm_tiled(g, 16, 4, kTiles512); }

MOD_TARGET_AVX512 float softmax_row_avx512(float* s, int64_t n) {
  int64_t j = 0;
  __m512 mv = _mm512_set1_ps(kNegInf);
  for (; j + 16 <= n; j += 16) mv = _mm512_max_ps(mv, _mm512_loadu_ps(s + j));
  if (j < n) mv = _mm512_max_ps(mv, _mm512_mask_loadu_ps(_mm512_set1_ps(kNegInf), tail16(n - j), s + j));
  float m = _mm512_reduce_max_ps(mv);
  const __m512 mb = _mm512_set1_ps(m);
  __m512 sv = _mm512_setzero_ps();
  for (j = 0; j < n; j += 16) {
    __mmask16 mk = tail16(n - j);
    __m512 e = _mm512_maskz_mov_ps(mk, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, s + j), mb)));
    _mm512_mask_storeu_ps(s + j, mk, e);
    sv = _mm512_add_ps(sv, e);
  }
  float sum = _mm512_reduce_add_ps(sv);
  const __m512 inv = _mm512_set1_ps(1.0f / sum);
  for (j = 0; j < n; j += 16) {
    __mmask16 mk = tail16(n - j);
    _mm512_mask_storeu_ps(s + j, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, s + j), inv));
  }
  return m + std::log(sum);
}

MOD_TARGET_AVX512 void exp_row_avx512(float* s, int64_t n, float lse) {
  const __m512 l = _mm512_set1_ps(lse);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 mk = tail16(n - j);
    _mm512_mask_storeu_ps(s + j, mk, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, s + j), l)));
  }
}

MOD_TARGET_AVX512 void dsoftmax_row_avx512(float* ds, const float* p, int64_t n) {
  __m512 dv = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 mk = tail16(n - j);
    dv = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, p + j), _mm512_maskz_loadu_ps(mk, ds + j), dv);
  }
  const __m512 db = _mm512_set1_ps(_mm512_reduce_add_ps(dv));
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 mk = tail16(n - j);
    __m512 r = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, p + j), _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, ds + j), db));
    _mm512_mask_storeu_ps(ds + j, mk, r);
  }
}

MOD_TARGET_AVX512 void rotate_avx512(float* dst, const float* src, const float* cs, int64_t hs, float s) {
  const __m512 sv = _mm512_set1_ps(s);
  for (int64_t e = 0; e < hs; e += 16) {
    __mmask16 mk = tail16(hs - e);
    __m512 x = _mm512_maskz_loadu_ps(mk, src + e);
    if (cs) {
      __m512 t = _mm512_maskz_loadu_ps(mk, cs + e);  // (c, sn) pairs
      __m512 sw = _mm512_permute_ps(x, 0xB1);        // (x1, x0) pairs
      x = _mm512_fmaddsub_ps(x, _mm512_moveldup_ps(t), _mm512_mul_ps(sw, _mm512_movehdup_ps(t)));
    }
    _mm512_mask_storeu_ps(dst + e, mk, _mm512_mul_ps(x, sv));
  }
}

MOD_TARGET_AVX512 void add_unrotated_avx512(float* dst, const float* g, const float* cs, int64_t hs, float s) {
  const __m512 sv = _mm512_set1_ps(s);
  for (int64_t e = 0; e < hs; e += 16) {
    __mmask16 mk = tail16(hs - e);
    __m512 x = _mm512_maskz_loadu_ps(mk, g + e);
    if (cs) {
      __m512 t = _mm512_maskz_loadu_ps(mk, cs + e);
      __m512 sw = _mm512_permute_ps(x, 0xB1);
      x = _mm512_fmsubadd_ps(x, _mm512_moveldup_ps(t), _mm512_mul_ps(sw, _mm512_movehdup_ps(t)));
    }
    _mm512_mask_storeu_ps(dst + e, mk, _mm512_fmadd_ps(x, sv, _mm512_maskz_loadu_ps(mk, dst + e)));
  }
}

// ------------------------------------------------------------------------------------------------ dispatch
struct Ops {
  void (*gemm)(const Gemm&);
  float (*softmax_row)(float* s, int64_t n);
  void (*exp_row)(float* s, int64_t n, float lse);
  void (*dsoftmax_row)(float* ds, const float* p, int64_t n);
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*rotate)(float* dst, const float* src, const float* cs, int64_t hs, float s);
  void (*add_unrotated)(float* dst, const float* g, const float* cs, int64_t hs, float s);
  void (*transpose)(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
};

const Ops kScalarOps{gemm_scalar, softmax_row_scalar,   exp_row_scalar,       dsoftmax_row_scalar,
                     dot_scalar,  rotate_scalar,        add_unrotated_scalar, transpose_scalar};
const Ops kAvx2Ops{gemm_avx2, softmax_row_avx2, exp_row_avx2,       dsoftmax_row_avx2,
                   dot_avx2,  rotate_avx2,      add_unrotated_avx2, transpose_avx2};
const Ops kAvx512Ops{gemm_avx512, softmax_row_avx512, exp_row_avx512,       dsoftmax_row_avx512,
                     dot_avx512,  rotate_avx512,      add_unrotated_avx512, transpose_avx2};

// The kernels of the current SIMD level, chosen once per call like every other kernel file (pick, simd.h).
const Ops& ops() { return *pick(&kScalarOps, &kAvx2Ops, &kAvx512Ops); }

// ------------------------------------------------------------------------------------------------ RoPE tables
// cs[2i] = cos(p·θ_i), cs[2i+1] = sin(p·θ_i), θ_i = base^(-2i/hs), for p in [lo, hi].
struct RopeTable {
  int64_t hs;
  double base;
  int64_t lo, hi;
  std::vector<float> cs;
};

constexpr int64_t kMaxRopeSpan = 1 << 16;  // positions per cached table (at most 16 MB for hs = 64)
constexpr int64_t kDirectRopeRows = 16;    // fewer rows (the decode step) compute their angles directly

// A table pays off when its positions are not much more numerous than the rows that use them.
bool use_rope_table(int64_t rows, int64_t span) {
  return rows > kDirectRopeRows && span <= std::max<int64_t>(4 * rows, 4096);
}

void fill_trig(float* cs, int64_t p, int64_t hs, double base) {
  for (int64_t i = 0; i < hs / 2; i++) {
    double a = static_cast<double>(p) * std::pow(base, -(2.0 * static_cast<double>(i)) / static_cast<double>(hs));
    cs[2 * i] = static_cast<float>(std::cos(a));
    cs[2 * i + 1] = static_cast<float>(std::sin(a));
  }
}

// A table covering [lo, hi], reusing or widening the process-wide one when it has the same (hs, base).
std::shared_ptr<const RopeTable> rope_table(int64_t hs, double base, int64_t lo, int64_t hi) {
  static std::mutex mu;
  static std::shared_ptr<const RopeTable> cached;
  std::lock_guard<std::mutex> lk(mu);
  if (cached && cached->hs == hs && cached->base == base) {
    if (cached->lo <= lo && hi <= cached->hi) return cached;
    int64_t ulo = std::min(lo, cached->lo), uhi = std::max(hi, cached->hi);
    if (uhi - ulo < kMaxRopeSpan) lo = ulo, hi = uhi;
  }
  auto t = std::make_shared<RopeTable>();
  t->hs = hs, t->base = base, t->lo = lo, t->hi = hi;
  t->cs.resize(static_cast<size_t>((hi - lo + 1) * hs));
  for (int64_t p = lo; p <= hi; p++) fill_trig(t->cs.data() + (p - lo) * hs, p, hs, base);
  cached = t;
  return t;
}

// The (cos, sin) pairs of each of n rows, by position.
class RopeRows {
 public:
  RopeRows(const int32_t* pos, int64_t n, int64_t hs, double base) : rows_(static_cast<size_t>(n)) {
    if (n == 0) return;
    int64_t lo = *std::min_element(pos, pos + n), hi = *std::max_element(pos, pos + n);
    if (use_rope_table(n, hi - lo + 1)) {
      table_ = rope_table(hs, base, lo, hi);
      for (int64_t r = 0; r < n; r++) rows_[r] = table_->cs.data() + (pos[r] - table_->lo) * hs;
      return;
    }
    own_.resize(static_cast<size_t>(n * hs));
    for (int64_t r = 0; r < n; r++) {
      fill_trig(own_.data() + r * hs, pos[r], hs, base);
      rows_[r] = own_.data() + r * hs;
    }
  }
  const float* operator[](int64_t r) const { return rows_[r]; }

 private:
  std::shared_ptr<const RopeTable> table_;
  std::vector<float> own_;
  std::vector<const float*> rows_;
};

// ------------------------------------------------------------------------------------------------ attention
struct Dims {
  int64_t B, T, H, hs, C;
  bool rope;
  double base;
};

// hi (B,T): 1 + the last row each row sees; sorted (B): positions non-decreasing (then no mask is needed).
struct Visibility {
  std::vector<int> hi;
  std::vector<char> sorted;
};

Visibility visibility(const int32_t* pos, const Dims& d) {
  Visibility v{std::vector<int>(static_cast<size_t>(d.B * d.T)), std::vector<char>(static_cast<size_t>(d.B))};
  for (int64_t b = 0; b < d.B; b++) {
    const int32_t* p = pos + b * d.T;
    int* hi = v.hi.data() + b * d.T;
    v.sorted[b] = std::is_sorted(p, p + d.T);
    if (v.sorted[b]) {
      int64_t j = 0;
      for (int64_t i = 0; i < d.T; i++) {
        while (j < d.T && p[j] <= p[i]) j++;
        hi[i] = static_cast<int>(j);
      }
    } else {
      for (int64_t i = 0; i < d.T; i++) {
        int64_t j = d.T - 1;
        while (p[j] > p[i]) j--;
        hi[i] = static_cast<int>(j + 1);
      }
    }
  }
  return v;
}

// Thread-local scratch, carved into 64-byte aligned pieces.
class Arena {
 public:
  void reset(size_t floats) {
    if (buf_.size() < floats + 16) buf_.resize(floats + 16);
    size_t mis = (reinterpret_cast<uintptr_t>(buf_.data()) / sizeof(float)) % 16;
    used_ = mis ? 16 - mis : 0;
  }
  float* take(size_t n) {
    float* p = buf_.data() + used_;
    used_ += (n + 15) / 16 * 16;
    return p;
  }
  static size_t size(size_t n) { return (n + 15) / 16 * 16; }

 private:
  std::vector<float> buf_;
  size_t used_ = 0;
};

thread_local Arena t_arena;
thread_local std::vector<float> t_packed_heads;  // the caller's Qs and Kt of every head, for forward_split
uint64_t g_split_forwards = 0;                    // forwards cut into query blocks (attentionStats, for tests)
thread_local std::vector<int> t_ints;

struct Head {
  const Dims& d;
  int64_t b, h;
  const int32_t* pos;  // (T) of sequence b
  const int* hi;       // (T)
  bool sorted;
  const RopeRows* rope;  // null without RoPE
  int64_t ldT;           // T rounded up to 16

  const float* trig(int64_t t) const { return rope ? (*rope)[b * d.T + t] : nullptr; }
  const float* qkv_row(const float* qkv, int64_t t, int part) const { return qkv + (b * d.T + t) * 3 * d.C + part * d.C + h * d.hs; }

  // Qs (T,hs) = rot(q)/sqrt(hs); K (T,hs) = rot(k); Kt (hs,ldT) = Kᵀ.
  void pack_qk(const Ops& o, const float* qkv, float* qs, float* k, float* kt) const {
    const float scale = 1.0f / std::sqrt(static_cast<float>(d.hs));
    for (int64_t t = 0; t < d.T; t++) {
      o.rotate(qs + t * d.hs, qkv_row(qkv, t, 0), trig(t), d.hs, scale);
      o.rotate(k + t * d.hs, qkv_row(qkv, t, 1), trig(t), d.hs, 1.0f);
    }
    o.transpose(kt, ldT, k, d.hs, d.T, d.hs);
  }

  // Masked entries of score rows [i0, i0+nb) to -inf (only when positions are not sorted).
  void mask_rows(float* s, int64_t i0, int64_t nb) const {
    if (sorted) return;
    for (int64_t r = 0; r < nb; r++)
      for (int64_t j = 0; j < hi[i0 + r]; j++)
        if (pos[j] > pos[i0 + r]) s[r * ldT + j] = kNegInf;
  }

  // S (nb, ldT) = Qs[i0..i0+nb) · Kt over each row's visible columns; qsBlock points at Qs row i0.
  void scores(const Ops& o, float* s, const float* qsBlock, const float* kt, int64_t i0, int64_t nb, int64_t blockHi) const {
    Gemm g{nb, blockHi, d.hs, qsBlock, d.hs, 1, kt, ldT, s, ldT};
    g.rowN = hi + i0;
    o.gemm(g);
    mask_rows(s, i0, nb);
  }
};

// lo[j] = the first row of the block [i0, i0+nb) that sees key j: earlier rows add nothing to dK, dV of key j.
void first_rows(const Head& hd, int64_t i0, int64_t nb, int64_t blockHi, int* lo) {
  std::fill(lo, lo + blockHi, static_cast<int>(nb));
  for (int64_t r = 0; r < nb; r++) lo[hd.hi[i0 + r] - 1] = std::min(lo[hd.hi[i0 + r] - 1], static_cast<int>(r));
  for (int64_t j = blockHi - 2; j >= 0; j--) lo[j] = std::min(lo[j], lo[j + 1]);
}

int64_t block_hi(const Head& hd, int64_t i0, int64_t nb) { return *std::max_element(hd.hi + i0, hd.hi + i0 + nb); }

// Query rows [i0, i0+nb) of one head: S = Qs·Kt, lse and P = softmax(S) row by row, O = P·V. qsBlock points at Qs
// row i0.
void forward_rows(const Ops& o, const Head& hd, float* s, const float* qsBlock, const float* kt, float* out, float* lse, const float* qkv, int64_t i0, int64_t nb) {
  const Dims& d = hd.d;
  const int64_t blockHi = block_hi(hd, i0, nb);
  hd.scores(o, s, qsBlock, kt, i0, nb, blockHi);
  for (int64_t r = 0; r < nb; r++) {
    float* row = s + r * hd.ldT;
    int64_t n = hd.hi[i0 + r];
    lse[i0 + r] = o.softmax_row(row, n);
    std::fill(row + n, row + blockHi, 0.0f);
  }
  Gemm pv{nb, d.hs, blockHi, s, hd.ldT, 1, hd.qkv_row(qkv, 0, 2), 3 * d.C, out + (hd.b * d.T + i0) * d.C + hd.h * d.hs, d.C};
  pv.rowKEnd = hd.hi + i0;
  o.gemm(pv);
}

void forward_head(const Ops& o, const Head& hd, float* out, float* lse, const float* qkv) {
  const Dims& d = hd.d;
  Arena& ar = t_arena;
  ar.reset(2 * Arena::size(d.T * d.hs) + Arena::size(d.hs * hd.ldT) + Arena::size(kBlockRows * hd.ldT));
  float* qs = ar.take(d.T * d.hs);
  float* k = ar.take(d.T * d.hs);
  float* kt = ar.take(d.hs * hd.ldT);
  float* s = ar.take(kBlockRows * hd.ldT);
  hd.pack_qk(o, qkv, qs, k, kt);
  for (int64_t i0 = 0; i0 < d.T; i0 += kBlockRows) {
    forward_rows(o, hd, s, qs + i0 * d.hs, kt, out, lse, qkv, i0, std::min<int64_t>(kBlockRows, d.T - i0));
  }
}

void backward_head(const Ops& o, const Head& hd, float* dqkv, const float* dout, const float* lse, const float* qkv) {
  const Dims& d = hd.d;
  const int64_t T = d.T, hs = d.hs, ldT = hd.ldT, C = d.C;
  Arena& ar = t_arena;
  ar.reset(3 * Arena::size(T * hs) + 2 * Arena::size(hs * ldT) + Arena::size(kBlockRows * hs) +
           2 * Arena::size(kBlockRows * ldT));
  float* qs = ar.take(T * hs);
  float* k = ar.take(T * hs);
  float* kt = ar.take(hs * ldT);
  float* vt = ar.take(hs * ldT);
  float* dk = ar.take(T * hs);
  float* dq = ar.take(kBlockRows * hs);
  float* p = ar.take(kBlockRows * ldT);
  float* ds = ar.take(kBlockRows * ldT);
  t_ints.resize(static_cast<size_t>(T));
  int* lo = t_ints.data();
  hd.pack_qk(o, qkv, qs, k, kt);
  o.transpose(vt, ldT, hd.qkv_row(qkv, 0, 2), 3 * C, T, hs);
  std::fill(dk, dk + T * hs, 0.0f);
  const float* dO = dout + hd.b * T * C + hd.h * hs;  // (T, hs) with row stride C
  float* dqkvHead = dqkv + hd.b * T * 3 * C + hd.h * hs;  // q part of (T, 3C); k at +C, v at +2C
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  for (int64_t i0 = 0; i0 < T; i0 += kBlockRows) {
    int64_t nb = std::min<int64_t>(kBlockRows, T - i0), blockHi = block_hi(hd, i0, nb);
    const int* hi = hd.hi + i0;
    hd.scores(o, p, qs + i0 * d.hs, kt, i0, nb, blockHi);
    Gemm dp{nb, blockHi, hs, dO + i0 * C, C, 1, vt, ldT, ds, ldT};
    dp.rowN = hi;
    o.gemm(dp);
    for (int64_t r = 0; r < nb; r++) {
      float *pr = p + r * ldT, *dsr = ds + r * ldT;
      o.exp_row(pr, hi[r], lse[i0 + r]);
      o.dsoftmax_row(dsr, pr, hi[r]);
      std::fill(pr + hi[r], pr + blockHi, 0.0f);
      std::fill(dsr + hi[r], dsr + blockHi, 0.0f);
    }
    Gemm gq{nb, hs, blockHi, ds, ldT, 1, k, hs, dq, hs};
    gq.rowKEnd = hi;
    o.gemm(gq);
    for (int64_t r = 0; r < nb; r++) o.add_unrotated(dqkvHead + (i0 + r) * 3 * C, dq + r * hs, hd.trig(i0 + r), hs, scale);
    first_rows(hd, i0, nb, blockHi, lo);
    Gemm gk{blockHi, hs, nb, ds, 1, ldT, qs + i0 * hs, hs, dk, hs};
    gk.rowKBeg = lo;
    gk.accumulate = true;
    o.gemm(gk);
    Gemm gv{blockHi, hs, nb, p, 1, ldT, dO + i0 * C, C, dqkvHead + 2 * C, 3 * C};  // dV straight into dqkv
    gv.rowKBeg = lo;
    gv.accumulate = true;
    o.gemm(gv);
  }
  for (int64_t t = 0; t < T; t++) o.add_unrotated(dqkvHead + t * 3 * C + C, dk + t * hs, hd.trig(t), hs, 1.0f);
}

// T rounded up to 16: the row stride of the score blocks and of Kt.
int64_t padded_t(const Dims& d) { return (d.T + 15) / 16 * 16; }

// Runs fn(head) for every (b, head) pair in parallel; small problems stay on the calling thread.
template <typename Fn>
void for_each_head(const Dims& d, const int32_t* pos, const Visibility& vis, const RopeRows* rope, Fn fn) {
  int64_t work = std::max<int64_t>(1, d.T * d.T * d.hs);
  int64_t grain = std::max<int64_t>(1, (1 << 15) / work);
  int64_t ldT = padded_t(d);
  parallel_for(d.B * d.H, grain, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; bh++) {
      int64_t b = bh / d.H, h = bh % d.H;
      Head hd{d, b, h, pos + b * d.T, vis.hi.data() + b * d.T, vis.sorted[b] != 0, rope, ldT};
      fn(hd);
    }
  });
}

// Runs fn(head, block) for every query block of every (b, head) pair in parallel, the last (costliest: it sees the
// most keys) blocks of each pair first.
template <typename Fn>
void for_each_head_block(const Dims& d, const int32_t* pos, const Visibility& vis, const RopeRows* rope, int64_t blocks, Fn fn) {
  const int64_t ldT = padded_t(d);
  parallel_for(d.B * d.H * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; u++) {
      const int64_t bh = u / blocks, block = blocks - 1 - u % blocks, b = bh / d.H, h = bh % d.H;
      Head hd{d, b, h, pos + b * d.T, vis.hi.data() + b * d.T, vis.sorted[b] != 0, rope, ldT};
      fn(hd, block);
    }
  });
}

// True when the (sequence, head) pairs cannot keep the threads evenly busy and each is long enough to cut: fewer
// pairs than threads, or a few per thread that do not divide evenly. The cut costs an extra packing pass (~5 %):
// measured on 2 threads, one head at T = 512 ran 1.17-1.26x faster cut, three pairs at T = 256 0.79x.
bool split_queries(const Dims& d) {
  const int64_t pairs = d.B * d.H, nt = num_threads();
  if (nt <= 1 || d.T < kSplitMinT) return false;
  return pairs < nt || (pairs % nt != 0 && pairs < kPairsPerThread * nt);
}

// The forward cut into query blocks (split_queries): every head's Qs and Kt are packed first, one pair per chunk,
// into buffers the blocks share (packing them per block made the forward 20-40 % slower at T = 512-1024), then the
// blocks run in parallel, each exactly as forward_head runs it.
void forward_split(const Ops& o, const Dims& d, const int32_t* pos, const Visibility& vis, const RopeRows* rope, float* out, float* cache, const float* qkv) {
  const int64_t ldT = padded_t(d), qsSize = d.T * d.hs, headSize = qsSize + d.hs * ldT;
  std::vector<float>& packed = t_packed_heads;
  packed.resize(static_cast<size_t>(d.B * d.H * headSize));
  for_each_head(d, pos, vis, rope, [&](const Head& hd) {
    float* qs = packed.data() + (hd.b * d.H + hd.h) * headSize;
    Arena& ar = t_arena;
    ar.reset(Arena::size(qsSize));
    hd.pack_qk(o, qkv, qs, ar.take(qsSize), qs + qsSize);
  });
  const int64_t blocks = (d.T + kBlockRows - 1) / kBlockRows;
  for_each_head_block(d, pos, vis, rope, blocks, [&](const Head& hd, int64_t block) {
    const float* qs = packed.data() + (hd.b * d.H + hd.h) * headSize;
    const int64_t i0 = block * kBlockRows;
    Arena& ar = t_arena;
    ar.reset(Arena::size(kBlockRows * ldT));
    forward_rows(o, hd, ar.take(kBlockRows * ldT), qs + i0 * d.hs, qs + qsSize, out, cache + (hd.b * d.H + hd.h) * d.T, qkv, i0,
                 std::min<int64_t>(kBlockRows, d.T - i0));
  });
}

// ------------------------------------------------------------------------------------------------ bindings
// Reads the flattened AttentionDims (b, t, nHead, headSize, rope, ropeBase) starting at argument i.
bool read_dims(Args& a, size_t i, Dims& d) {
  d.B = a.i64(i), d.T = a.i64(i + 1), d.H = a.i64(i + 2), d.hs = a.i64(i + 3);
  d.rope = a.flag(i + 4), d.base = a.f64(i + 5);
  d.C = d.H * d.hs;
  if (!a.ok) return false;
  if (d.B < 0 || d.T < 0 || d.H < 1 || d.hs < 1 || d.T > (1 << 30)) a.fail("attention: invalid dims");
  else if (d.hs > 1024) a.fail("attention: headSize must be <= 1024");
  else if (d.rope && d.hs % 2 != 0) a.fail("attention: RoPE needs an even headSize");
  return a.ok;
}

int64_t cache_size(const Dims& d) { return d.B * d.H * d.T; }

// attentionStats() -> { splitForwards }: forwards cut into query blocks since the addon loaded.
Napi::Value AttentionStats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("splitForwards", static_cast<double>(g_split_forwards));
  return o;
}

Napi::Value AttentionCacheSize(const Napi::CallbackInfo& info) {
  Args a(info);
  Dims d{};
  if (!read_dims(a, 0, d)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(cache_size(d)));
}

// attentionForward(out, cache, qkv, pos, b, t, nHead, headSize, rope, ropeBase)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Dims d{};
  if (!read_dims(a, 4, d)) return info.Env().Undefined();
  float* out = a.f32(0, d.B * d.T * d.C);
  float* cache = a.f32(1, cache_size(d));
  const float* qkv = a.f32(2, d.B * d.T * 3 * d.C);
  const int32_t* pos = a.i32(3, d.B * d.T);
  if (!a.ok || d.B * d.T == 0) return info.Env().Undefined();
  Visibility vis = visibility(pos, d);
  std::unique_ptr<RopeRows> rope;
  if (d.rope) rope = std::make_unique<RopeRows>(pos, d.B * d.T, d.hs, d.base);
  const Ops& o = ops();
  if (split_queries(d)) {
    g_split_forwards++;
    forward_split(o, d, pos, vis, rope.get(), out, cache, qkv);
    return info.Env().Undefined();
  }
  for_each_head(d, pos, vis, rope.get(), [&](const Head& hd) {
    forward_head(o, hd, out, cache + (hd.b * d.H + hd.h) * d.T, qkv);
  });
  return info.Env().Undefined();
}

// attentionBackward(dqkv, dout, cache, qkv, pos, b, t, nHead, headSize, rope, ropeBase)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Dims d{};
  if (!read_dims(a, 5, d)) return info.Env().Undefined();
  float* dqkv = a.f32(0, d.B * d.T * 3 * d.C);
  const float* dout = a.f32(1, d.B * d.T * d.C);
  const float* cache = a.f32(2, cache_size(d));
  const float* qkv = a.f32(3, d.B * d.T * 3 * d.C);
  const int32_t* pos = a.i32(4, d.B * d.T);
  if (!a.ok || d.B * d.T == 0) return info.Env().Undefined();
  Visibility vis = visibility(pos, d);
  std::unique_ptr<RopeRows> rope;
  if (d.rope) rope = std::make_unique<RopeRows>(pos, d.B * d.T, d.hs, d.base);
  const Ops& o = ops();
  for_each_head(d, pos, vis, rope.get(), [&](const Head& hd) {
    backward_head(o, hd, dqkv, dout, cache + (hd.b * d.H + hd.h) * d.T, qkv);
  });
  return info.Env().Undefined();
}

// ropeInPlace(x, pos, n, rowStride, offset, nHead, headSize, ropeBase)
Napi::Value RopeInPlace(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(2), stride = a.i64(3), offset = a.i64(4), H = a.i64(5), hs = a.i64(6);
  double base = a.f64(7);
  if (!a.ok) return info.Env().Undefined();
  if (n < 0 || stride < 0 || offset < 0 || H < 1 || hs < 1 || hs % 2 != 0) {
    a.fail("ropeInPlace: invalid sizes (RoPE needs an even headSize)");
    return info.Env().Undefined();
  }
  float* x = a.f32(0, n > 0 ? (n - 1) * stride + offset + H * hs : 0);
  const int32_t* pos = a.i32(1, n);
  if (!a.ok || n == 0) return info.Env().Undefined();
  RopeRows rope(pos, n, hs, base);
  const Ops& o = ops();
  std::vector<float> tmp(static_cast<size_t>(hs));
  for (int64_t r = 0; r < n; r++)
    for (int64_t h = 0; h < H; h++) {
      float* v = x + r * stride + offset + h * hs;
      o.rotate(tmp.data(), v, rope[r], hs, 1.0f);
      std::memcpy(v, tmp.data(), static_cast<size_t>(hs) * sizeof(float));
    }
  return info.Env().Undefined();
}

// attentionDecode(out, q, keys, values, len, nHead, headSize)
Napi::Value AttentionDecode(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t len = a.i64(4), H = a.i64(5), hs = a.i64(6);
  if (!a.ok) return info.Env().Undefined();
  if (len < 0 || H < 1 || hs < 1) {
    a.fail("attentionDecode: invalid sizes");
    return info.Env().Undefined();
  }
  const int64_t C = H * hs;
  float* out = a.f32(0, C);
  const float* q = a.f32(1, C);
  const float* keys = a.f32(2, len * C);
  const float* values = a.f32(3, len * C);
  if (!a.ok) return info.Env().Undefined();
  const Ops& o = ops();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, len * hs));
  parallel_for(H, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> s(static_cast<size_t>(std::max<int64_t>(len, 1)));
    for (int64_t h = begin; h < end; h++) {
      if (len == 0) {
        std::fill(out + h * hs, out + (h + 1) * hs, 0.0f);
        continue;
      }
      for (int64_t j = 0; j < len; j++) s[j] = scale * o.dot(q + h * hs, keys + j * C + h * hs, hs);
      o.softmax_row(s.data(), len);
      o.gemm(Gemm{1, hs, len, s.data(), 0, 1, values + h * hs, C, out + h * hs, hs});
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  def(env, exports, "attentionCacheSize", AttentionCacheSize);
  def(env, exports, "attentionStats", AttentionStats);
  def(env, exports, "attentionForward", AttentionForward);
  def(env, exports, "attentionBackward", AttentionBackward);
  def(env, exports, "ropeInPlace", RopeInPlace);
  def(env, exports, "attentionDecode", AttentionDecode);
}

}  // namespace mod
