// SIMD helpers shared by every kernel file (GEMM, attention, elementwise, norms, routing, optimizer): per-level
// dispatch (pick), tail masks, horizontal sums, vectorised exp / log1p / sigmoid, and a few row primitives
// (y += x, y += a·x, out = s·x, dot).
//
// Determinism: tails are handled with masked loads/stores running the same vector code as the main loop, so an
// element's value never depends on where a thread's chunk starts; reductions run in a fixed order per row (or per
// fixed-size block), so results do not depend on the thread count either.
#pragma once
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm512_undefined_* (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "common.h"

namespace mod {

// The implementation for the current SIMD level (read once per call, before any thread starts).
template <class F>
inline F pick(F scalar, F avx2, F avx512) {
  SimdLevel l = simd_level();
  return l == kAvx512 ? avx512 : l == kAvx2 ? avx2 : scalar;
}

// Minimum work (floats touched) per thread, so that the small calls of a tiny model stay on the calling thread:
// handing a chunk to the pool costs a few µs. Measured on a 2-core EPYC (see the report of the kernels' PR).
constexpr int64_t kGrainMemory = 1 << 14;   // memory-bound ops (add, copy, scale, AdamW)
constexpr int64_t kGrainCompute = 1 << 12;  // ops with a transcendental per element (GELU, sigmoid, softmax)
// Units per chunk so that each chunk holds at least `work` floats when a unit is `size` floats.
inline int64_t grain_for(int64_t size, int64_t work) { return size >= work ? 1 : (work + size - 1) / (size < 1 ? 1 : size); }

// Fails the call unless every dimension is >= 0.
inline bool dims_ok(Args& a, std::initializer_list<int64_t> dims) {
  for (int64_t d : dims)
    if (d < 0) {
      a.fail("dimensions must be >= 0, got " + std::to_string(d));
      return false;
    }
  return a.ok;
}

// ---------------------------------------------------------------- masks and horizontal sums (16-lane ones are
// the _mm512_reduce_* intrinsics)
// Lanes [0, r) of a 16-lane vector; r <= 0 gives no lane, r >= 16 all of them.
inline __mmask16 tail16(int64_t r) {
  return r >= 16 ? __mmask16(0xFFFF) : r <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << r) - 1u);
}

// Lanes [0, r) of an 8-lane vector as a maskload/maskstore mask; r <= 0 gives no lane, r >= 8 all of them.
MOD_TARGET_AVX2 inline __m256i tail8(int64_t r) {
  r = r < 0 ? 0 : r > 8 ? 8 : r;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

MOD_TARGET_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

MOD_TARGET_AVX2 inline double hsum4d(__m256d v) {
  __m128d h = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

MOD_TARGET_AVX2 inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---------------------------------------------------------------- exp
// Cephes expf: x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact r), e^r = 1 + r + r²·P(r) with P of
// degree 5 (summed in Cephes' order: under 1 ulp for x in [-87, 0], against 1.24 ulp for 1 + r first), scaled by
// 2^n through the exponent bits. x > 88 saturates at e^88; below ln(FLT_MIN) = -87.33654 (results under FLT_MIN,
// so -inf too) gives 0; NaN stays NaN. Every caller passes x <= 0 (softmax shifts, exp(-|x|)).
namespace expc {
constexpr float kHi = 88.0f, kLo = -87.33654f, kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f,
                kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f,
                kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
}  // namespace expc

MOD_TARGET_AVX512 inline __m512 exp16(__m512 x) {
  using namespace expc;
  __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kLo), _CMP_LT_OQ);
  // max/min return their second operand when one is NaN, so NaN passes through.
  x = _mm512_min_ps(_mm512_set1_ps(kHi), _mm512_max_ps(_mm512_set1_ps(kLo), x));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kP0), r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~under), _mm512_mul_ps(y, _mm512_castsi512_ps(e)));
}

MOD_TARGET_AVX2 inline __m256 exp8(__m256 x) {
  using namespace expc;
  __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(kLo), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_set1_ps(kHi), _mm256_max_ps(_mm256_set1_ps(kLo), x));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kP0), r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

// ---------------------------------------------------------------- log1p on [0, 1]
// log(1+z) = 2·atanh(s), s = z/(2+z) in [0, 1/3]: 2s·(1 + s²/3 + s⁴/5 + ... + s¹⁴/15), truncation < 2e-9
// relative; no cancellation for tiny z (unlike log(1+z) computed as log of a rounded 1+z).
namespace log1pc {
constexpr float kC[8] = {1.0f / 15, 1.0f / 13, 1.0f / 11, 1.0f / 9, 1.0f / 7, 1.0f / 5, 1.0f / 3, 1.0f};
}

MOD_TARGET_AVX512 inline __m512 log1p16(__m512 z) {
  __m512 s = _mm512_div_ps(z, _mm512_add_ps(z, _mm512_set1_ps(2.0f)));
  __m512 s2 = _mm512_mul_ps(s, s);
  __m512 q = _mm512_set1_ps(log1pc::kC[0]);
  for (int i = 1; i < 8; i++) q = _mm512_fmadd_ps(q, s2, _mm512_set1_ps(log1pc::kC[i]));
  return _mm512_mul_ps(_mm512_add_ps(s, s), q);
}

MOD_TARGET_AVX2 inline __m256 log1p8(__m256 z) {
  __m256 s = _mm256_div_ps(z, _mm256_add_ps(z, _mm256_set1_ps(2.0f)));
  __m256 s2 = _mm256_mul_ps(s, s);
  __m256 q = _mm256_set1_ps(log1pc::kC[0]);
  for (int i = 1; i < 8; i++) q = _mm256_fmadd_ps(q, s2, _mm256_set1_ps(log1pc::kC[i]));
  return _mm256_mul_ps(_mm256_add_ps(s, s), q);
}

// ---------------------------------------------------------------- sigmoid
// sigmoid(x) = 1/(1+z) for x >= 0, z/(1+z) for x < 0, with z = exp(-|x|) in (0, 1]: never overflows.
inline float sigmoid_scalar(float x) {
  float z = std::exp(-std::fabs(x));
  return x >= 0.0f ? 1.0f / (1.0f + z) : z / (1.0f + z);
}

MOD_TARGET_AVX512 inline __m512 sigmoid16(__m512 x) {
  __m512 z = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  __m512 d = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), z));
  __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_mul_ps(d, neg, d, z);
}

MOD_TARGET_AVX2 inline __m256 abs8(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

MOD_TARGET_AVX2 inline __m256 sigmoid8(__m256 x) {
  __m256 z = exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(x)));
  __m256 d = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), z));
  __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_blendv_ps(d, _mm256_mul_ps(d, z), neg);
}

// ---------------------------------------------------------------- row primitives: y += x
inline void add_into_scalar(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}
MOD_TARGET_AVX2 inline void add_into_avx2(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
  if (i < n) {
    __m256i m = tail8(n - i);
    _mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_maskload_ps(y + i, m), _mm256_maskload_ps(x + i, m)));
  }
}
MOD_TARGET_AVX512 inline void add_into_avx512(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = tail16(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, x + i)));
  }
}

// ---------------------------------------------------------------- out = s·x (out may alias x)
inline void scale_to_scalar(float* out, const float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = s * x[i];
}
MOD_TARGET_AVX2 inline void scale_to_avx2(float* out, const float* x, float s, int64_t n) {
  __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(vs, _mm256_loadu_ps(x + i)));
  if (i < n) {
    __m256i m = tail8(n - i);
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(vs, _mm256_maskload_ps(x + i, m)));
  }
}
MOD_TARGET_AVX512 inline void scale_to_avx512(float* out, const float* x, float s, int64_t n) {
  __m512 vs = _mm512_set1_ps(s);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_mul_ps(vs, _mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = tail16(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, x + i)));
  }
}

// ---------------------------------------------------------------- y += a·x
inline void axpy_scalar(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
MOD_TARGET_AVX2 inline void axpy_avx2(float* y, float a, const float* x, int64_t n) {
  __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  if (i < n) {
    __m256i m = tail8(n - i);
    _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
  }
}
MOD_TARGET_AVX512 inline void axpy_avx512(float* y, float a, const float* x, int64_t n) {
  __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    __mmask16 m = tail16(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// ---------------------------------------------------------------- dot(a, b)
inline float dot_scalar(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
MOD_TARGET_AVX2 inline float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s0);
  }
  return hsum8(_mm256_add_ps(s0, s1));
}
MOD_TARGET_AVX512 inline float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

}  // namespace mod
