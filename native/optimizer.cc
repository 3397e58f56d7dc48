// AdamW and Σx² for the global gradient norm (see src/kernels/types.ts).
#include <algorithm>
#include <cmath>
#include <vector>

#include "simd.h"

namespace mod {

namespace {

Napi::Value undefined(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// ---------------------------------------------------------------- AdamW
// m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;  p -= lr·((m·c1) / (sqrt(v·c2) + eps) + wd·p),
// with the bias corrections c1 = 1/(1-b1^step), c2 = 1/(1-b2^step) computed once in double, and so are
// nb1 = 1-b1, nb2 = 1-b2 (1.0f - 0.999f is off by 1.3e-5 relative).
struct AdamW {
  float lr, b1, nb1, b2, nb2, eps, wd, c1, c2;
};

void adamw_scalar(float* p, const float* g, float* m, float* v, int64_t n, const AdamW& h) {
  for (int64_t i = 0; i < n; i++) {
    float mi = h.b1 * m[i] + h.nb1 * g[i];
    float vi = h.b2 * v[i] + h.nb2 * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] -= h.lr * ((mi * h.c1) / (std::sqrt(vi * h.c2) + h.eps) + h.wd * p[i]);
  }
}

MOD_TARGET_AVX2 void adamw_avx2(float* p, const float* g, float* m, float* v, int64_t n, const AdamW& h) {
  const __m256 b1 = _mm256_set1_ps(h.b1), nb1 = _mm256_set1_ps(h.nb1), b2 = _mm256_set1_ps(h.b2),
               nb2 = _mm256_set1_ps(h.nb2), lr = _mm256_set1_ps(h.lr), eps = _mm256_set1_ps(h.eps),
               wd = _mm256_set1_ps(h.wd), c1 = _mm256_set1_ps(h.c1), c2 = _mm256_set1_ps(h.c2);
  for (int64_t i = 0; i < n; i += 8) {
    __m256i k = tail8(n - i < 8 ? n - i : 8);
    __m256 vg = _mm256_maskload_ps(g + i, k), vp = _mm256_maskload_ps(p + i, k);
    __m256 vm = _mm256_fmadd_ps(b1, _mm256_maskload_ps(m + i, k), _mm256_mul_ps(nb1, vg));
    __m256 vv = _mm256_fmadd_ps(b2, _mm256_maskload_ps(v + i, k), _mm256_mul_ps(_mm256_mul_ps(nb2, vg), vg));
    __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(vv, c2)), eps);
    __m256 upd = _mm256_fmadd_ps(wd, vp, _mm256_div_ps(_mm256_mul_ps(vm, c1), den));
    _mm256_maskstore_ps(m + i, k, vm);
    _mm256_maskstore_ps(v + i, k, vv);
    _mm256_maskstore_ps(p + i, k, _mm256_fnmadd_ps(lr, upd, vp));
  }
}

MOD_TARGET_AVX512 void adamw_avx512(float* p, const float* g, float* m, float* v, int64_t n, const AdamW& h) {
  const __m512 b1 = _mm512_set1_ps(h.b1), nb1 = _mm512_set1_ps(h.nb1), b2 = _mm512_set1_ps(h.b2),
               nb2 = _mm512_set1_ps(h.nb2), lr = _mm512_set1_ps(h.lr), eps = _mm512_set1_ps(h.eps),
               wd = _mm512_set1_ps(h.wd), c1 = _mm512_set1_ps(h.c1), c2 = _mm512_set1_ps(h.c2);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 k = tail16(n - i < 16 ? n - i : 16);
    __m512 vg = _mm512_maskz_loadu_ps(k, g + i), vp = _mm512_maskz_loadu_ps(k, p + i);
    __m512 vm = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(k, m + i), _mm512_mul_ps(nb1, vg));
    __m512 vv = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(k, v + i), _mm512_mul_ps(_mm512_mul_ps(nb2, vg), vg));
    __m512 den = _mm512_add_ps(_mm512_sqrt_ps(_mm512_mul_ps(vv, c2)), eps);
    __m512 upd = _mm512_fmadd_ps(wd, vp, _mm512_div_ps(_mm512_mul_ps(vm, c1), den));
    _mm512_mask_storeu_ps(m + i, k, vm);
    _mm512_mask_storeu_ps(v + i, k, vv);
    _mm512_mask_storeu_ps(p + i, k, _mm512_fnmadd_ps(lr, upd, vp));
  }
}

// (param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step)
Napi::Value Adamw(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(4);
  float* p = a.f32(0, n);
  const float* g = a.f32(1, n);
  float* m = a.f32(2, n);
  float* v = a.f32(3, n);
  double lr = a.f64(5), b1 = a.f64(6), b2 = a.f64(7), eps = a.f64(8), wd = a.f64(9), step = a.f64(10);
  if (!dims_ok(a, {n})) return undefined(info);
  if (!(step >= 1)) {
    a.fail("adamw: step must count from 1");
    return undefined(info);
  }
  auto f = [](double d) { return static_cast<float>(d); };
  AdamW h{f(lr), f(b1), f(1.0 - b1), f(b2), f(1.0 - b2), f(eps), f(wd), f(1.0 / (1.0 - std::pow(b1, step))),
          f(1.0 / (1.0 - std::pow(b2, step)))};
  auto fn = pick(adamw_scalar, adamw_avx2, adamw_avx512);
  parallel_for(n, kGrainMemory / 4, [&](int64_t b, int64_t e) { fn(p + b, g + b, m + b, v + b, e - b, h); });
  return undefined(info);
}

// ---------------------------------------------------------------- Σ x² in double
// Summed over fixed blocks of kBlock floats (each block in a fixed lane order), then the block sums in order:
// the result does not depend on the thread count.
constexpr int64_t kBlock = 1 << 14;

double sum_squares_scalar(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += static_cast<double>(x[i]) * x[i];
  return s;
}

MOD_TARGET_AVX2 double sum_squares_avx2(const float* x, int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  for (int64_t i = 0; i < n; i += 8) {
    __m256 v = _mm256_maskload_ps(x + i, tail8(n - i < 8 ? n - i : 8));
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  return hsum4d(_mm256_add_pd(s0, s1));
}

MOD_TARGET_AVX512 double sum_squares_avx512(const float* x, int64_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    __m512 v = _mm512_maskz_loadu_ps(tail16(n - i < 16 ? n - i : 16), x + i);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

// (x, n) -> Σ x²
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(1);
  const float* x = a.f32(0, n);
  if (!dims_ok(a, {n})) return undefined(info);
  auto fn = pick(sum_squares_scalar, sum_squares_avx2, sum_squares_avx512);
  int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(blocks));
  parallel_for(blocks, grain_for(kBlock, kGrainMemory), [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; q++) part[q] = fn(x + q * kBlock, std::min(kBlock, n - q * kBlock));
  });
  double s = 0.0;
  for (double v : part) s += v;
  return Napi::Number::New(info.Env(), s);
}

}  // namespace

void InitOptimizer(Napi::Env env, Napi::Object exports) {
  def(env, exports, "adamw", Adamw);
  def(env, exports, "sumSquares", SumSquares);
}

}  // namespace mod
