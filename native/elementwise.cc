// Elementwise kernels, embedding and losses (see src/kernels/types.ts for the semantics of each).
// Each kernel: a plain scalar function, AVX2+FMA and AVX-512 versions beside it, chosen by pick() (simd.h) per call.
#include <cmath>
#include <cstring>
#include <limits>

#include "simd.h"

namespace mod {

namespace {

Napi::Value undefined(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// Elements in the typed array at argument idx (already checked to be one).
int64_t length_of(const Napi::CallbackInfo& info, size_t idx) {
  return static_cast<int64_t>(info[idx].As<Napi::TypedArray>().ElementLength());
}

// ---------------------------------------------------------------- add: out = a + b
void add_scalar(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
MOD_TARGET_AVX2 void add_avx2(float* out, const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  if (i < n) {
    __m256i m = tail8(n - i);
    _mm256_maskstore_ps(out + i, m, _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
  }
}
MOD_TARGET_AVX512 void add_avx512(float* out, const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
  if (i < n) {
    __mmask16 m = tail16(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

// ---------------------------------------------------------------- GELU (tanh approximation)
// 0.5·x·(1 + tanh(u)) = x·sigmoid(2u),  u = sqrt(2/π)·(x + 0.044715·x³): no cancellation for negative x.
// d/dx = s + x·s·(1-s)·2u',  s = sigmoid(2u),  s·(1-s) = z/(1+z)² with z = exp(-|2u|).
constexpr float kGelu2Scale = 2.0f * 0.7978845608028654f;  // 2·sqrt(2/π)
constexpr float kGeluCube = 0.044715f;
// The gradient clamps x to ±30, where gelu' is already exactly 1 or 0 in float, so that x² never overflows into
// a 0·inf = NaN (NaN inputs still give NaN).
constexpr float kGeluClamp = 30.0f;

void gelu_forward_scalar(float* out, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i];
    out[i] = x * sigmoid_scalar(kGelu2Scale * x * (1.0f + kGeluCube * x * x));
  }
}
void gelu_backward_scalar(float* dinp, const float* dout, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float x = inp[i] < -kGeluClamp ? -kGeluClamp : inp[i] > kGeluClamp ? kGeluClamp : inp[i];
    float x2 = x * x;
    float v = kGelu2Scale * x * (1.0f + kGeluCube * x2);
    float z = std::exp(-std::fabs(v)), inv = 1.0f / (1.0f + z);
    float s = v >= 0.0f ? inv : z * inv;
    float dv = kGelu2Scale * (1.0f + 3.0f * kGeluCube * x2);
    dinp[i] += (s + x * dv * z * inv * inv) * dout[i];
  }
}

MOD_TARGET_AVX2 __m256 gelu_arg8(__m256 x, __m256 x2) {  // 2u
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(kGelu2Scale), x),
                       _mm256_fmadd_ps(_mm256_set1_ps(kGeluCube), x2, _mm256_set1_ps(1.0f)));
}
MOD_TARGET_AVX2 __m256 gelu_grad8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(kGeluClamp), _mm256_max_ps(_mm256_set1_ps(-kGeluClamp), x));  // NaN passes
  __m256 x2 = _mm256_mul_ps(x, x), v = gelu_arg8(x, x2);
  __m256 z = exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(v)));
  __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), z));
  __m256 s = _mm256_blendv_ps(inv, _mm256_mul_ps(z, inv), _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
  __m256 dv = _mm256_mul_ps(_mm256_set1_ps(kGelu2Scale), _mm256_fmadd_ps(_mm256_set1_ps(3.0f * kGeluCube), x2, _mm256_set1_ps(1.0f)));
  return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(x, dv), z), _mm256_mul_ps(inv, inv), s);
}
MOD_TARGET_AVX2 void gelu_forward_avx2(float* out, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    __m256 x = _mm256_maskload_ps(inp + i, m);
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(x, sigmoid8(gelu_arg8(x, _mm256_mul_ps(x, x)))));
  }
}
MOD_TARGET_AVX2 void gelu_backward_avx2(float* dinp, const float* dout, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    __m256 g = gelu_grad8(_mm256_maskload_ps(inp + i, m));
    _mm256_maskstore_ps(dinp + i, m, _mm256_fmadd_ps(g, _mm256_maskload_ps(dout + i, m), _mm256_maskload_ps(dinp + i, m)));
  }
}

MOD_TARGET_AVX512 __m512 gelu_arg16(__m512 x, __m512 x2) {  // 2u
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(kGelu2Scale), x),
                       _mm512_fmadd_ps(_mm512_set1_ps(kGeluCube), x2, _mm512_set1_ps(1.0f)));
}
MOD_TARGET_AVX512 __m512 gelu_grad16(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(kGeluClamp), _mm512_max_ps(_mm512_set1_ps(-kGeluClamp), x));  // NaN passes
  __m512 x2 = _mm512_mul_ps(x, x), v = gelu_arg16(x, x2);
  __m512 z = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(v)));
  __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), z));
  __m512 s = _mm512_mask_mul_ps(inv, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), z, inv);
  __m512 dv = _mm512_mul_ps(_mm512_set1_ps(kGelu2Scale), _mm512_fmadd_ps(_mm512_set1_ps(3.0f * kGeluCube), x2, _mm512_set1_ps(1.0f)));
  return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(x, dv), z), _mm512_mul_ps(inv, inv), s);
}
MOD_TARGET_AVX512 void gelu_forward_avx512(float* out, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(x, sigmoid16(gelu_arg16(x, _mm512_mul_ps(x, x)))));
  }
}
MOD_TARGET_AVX512 void gelu_backward_avx512(float* dinp, const float* dout, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    __m512 g = gelu_grad16(_mm512_maskz_loadu_ps(m, inp + i));
    _mm512_mask_storeu_ps(dinp + i, m, _mm512_fmadd_ps(g, _mm512_maskz_loadu_ps(m, dout + i), _mm512_maskz_loadu_ps(m, dinp + i)));
  }
}

// ---------------------------------------------------------------- sigmoid
void sigmoid_forward_scalar(float* out, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = sigmoid_scalar(inp[i]);
}
MOD_TARGET_AVX2 void sigmoid_forward_avx2(float* out, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    _mm256_maskstore_ps(out + i, m, sigmoid8(_mm256_maskload_ps(inp + i, m)));
  }
}
MOD_TARGET_AVX512 void sigmoid_forward_avx512(float* out, const float* inp, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    _mm512_mask_storeu_ps(out + i, m, sigmoid16(_mm512_maskz_loadu_ps(m, inp + i)));
  }
}

// dinp += out·(1 - out)·dout
void sigmoid_backward_scalar(float* dinp, const float* dout, const float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) dinp[i] += out[i] * (1.0f - out[i]) * dout[i];
}
MOD_TARGET_AVX2 void sigmoid_backward_avx2(float* dinp, const float* dout, const float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    __m256 s = _mm256_maskload_ps(out + i, m);
    __m256 g = _mm256_mul_ps(_mm256_mul_ps(s, _mm256_sub_ps(one, s)), _mm256_maskload_ps(dout + i, m));
    _mm256_maskstore_ps(dinp + i, m, _mm256_add_ps(_mm256_maskload_ps(dinp + i, m), g));
  }
}
MOD_TARGET_AVX512 void sigmoid_backward_avx512(float* dinp, const float* dout, const float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    __m512 s = _mm512_maskz_loadu_ps(m, out + i);
    __m512 g = _mm512_mul_ps(_mm512_mul_ps(s, _mm512_sub_ps(one, s)), _mm512_maskz_loadu_ps(m, dout + i));
    _mm512_mask_storeu_ps(dinp + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dinp + i), g));
  }
}

// ---------------------------------------------------------------- softmax of one row, for cross-entropy
// probs = exp(x - max) / Σ, Σ = Σ exp(x - max); log-sum-exp(x) = log Σ + max, kept in two parts so that a small
// loss log Σ - (x[t] - max) does not cancel.
struct Lse {
  double log_sum;
  float max;
};

Lse softmax_row_scalar(float* probs, const float* x, int64_t v) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < v; j++) mx = x[j] > mx ? x[j] : mx;
  float sum = 0.0f;
  for (int64_t j = 0; j < v; j++) {
    probs[j] = std::exp(x[j] - mx);
    sum += probs[j];
  }
  scale_to_scalar(probs, probs, 1.0f / sum, v);
  return {std::log(static_cast<double>(sum)), mx};
}
MOD_TARGET_AVX2 Lse softmax_row_avx2(float* probs, const float* x, int64_t v) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 vmax = ninf;
  for (int64_t j = 0; j < v; j += 8) {
    __m256i m = tail8(v - j < 8 ? v - j : 8);
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + j, m), _mm256_castsi256_ps(m)));
  }
  float mx = hmax8(vmax);
  __m256 vm = _mm256_set1_ps(mx), vsum = _mm256_setzero_ps();
  for (int64_t j = 0; j < v; j += 8) {
    __m256i m = tail8(v - j < 8 ? v - j : 8);
    __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vm)), _mm256_castsi256_ps(m));
    _mm256_maskstore_ps(probs + j, m, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum8(vsum);
  scale_to_avx2(probs, probs, 1.0f / sum, v);
  return {std::log(static_cast<double>(sum)), mx};
}
MOD_TARGET_AVX512 Lse softmax_row_avx512(float* probs, const float* x, int64_t v) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 vmax = ninf;
  for (int64_t j = 0; j < v; j += 16) {
    __mmask16 m = tail16(v - j < 16 ? v - j : 16);
    vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(ninf, m, x + j));
  }
  float mx = _mm512_reduce_max_ps(vmax);
  __m512 vm = _mm512_set1_ps(mx), vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < v; j += 16) {
    __mmask16 m = tail16(v - j < 16 ? v - j : 16);
    __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vm)));
    _mm512_mask_storeu_ps(probs + j, m, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  float sum = _mm512_reduce_add_ps(vsum);
  scale_to_avx512(probs, probs, 1.0f / sum, v);
  return {std::log(static_cast<double>(sum)), mx};
}

// ---------------------------------------------------------------- BCE with logits
// loss = max(x, 0) - x·t + log1p(exp(-|x|));  dlogits += (sigmoid(x) - t)·dloss
void bce_forward_scalar(float* losses, const float* x, const float* t, int64_t n) {
  for (int64_t i = 0; i < n; i++) losses[i] = std::fmax(x[i], 0.0f) - x[i] * t[i] + std::log1p(std::exp(-std::fabs(x[i])));
}
MOD_TARGET_AVX2 void bce_forward_avx2(float* losses, const float* x, const float* t, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    __m256 vx = _mm256_maskload_ps(x + i, m);
    __m256 sp = log1p8(exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(vx))));
    __m256 l = _mm256_add_ps(_mm256_fnmadd_ps(vx, _mm256_maskload_ps(t + i, m), _mm256_max_ps(vx, _mm256_setzero_ps())), sp);
    _mm256_maskstore_ps(losses + i, m, l);
  }
}
MOD_TARGET_AVX512 void bce_forward_avx512(float* losses, const float* x, const float* t, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    __m512 vx = _mm512_maskz_loadu_ps(m, x + i);
    __m512 sp = log1p16(exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(vx))));
    __m512 l = _mm512_add_ps(_mm512_fnmadd_ps(vx, _mm512_maskz_loadu_ps(m, t + i), _mm512_max_ps(vx, _mm512_setzero_ps())), sp);
    _mm512_mask_storeu_ps(losses + i, m, l);
  }
}

void bce_backward_scalar(float* dx, const float* dl, const float* x, const float* t, int64_t n) {
  for (int64_t i = 0; i < n; i++) dx[i] += (sigmoid_scalar(x[i]) - t[i]) * dl[i];
}
MOD_TARGET_AVX2 void bce_backward_avx2(float* dx, const float* dl, const float* x, const float* t, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256i m = tail8(n - i < 8 ? n - i : 8);
    __m256 g = _mm256_sub_ps(sigmoid8(_mm256_maskload_ps(x + i, m)), _mm256_maskload_ps(t + i, m));
    _mm256_maskstore_ps(dx + i, m, _mm256_fmadd_ps(g, _mm256_maskload_ps(dl + i, m), _mm256_maskload_ps(dx + i, m)));
  }
}
MOD_TARGET_AVX512 void bce_backward_avx512(float* dx, const float* dl, const float* x, const float* t, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail16(n - i < 16 ? n - i : 16);
    __m512 g = _mm512_sub_ps(sigmoid16(_mm512_maskz_loadu_ps(m, x + i)), _mm512_maskz_loadu_ps(m, t + i));
    _mm512_mask_storeu_ps(dx + i, m, _mm512_fmadd_ps(g, _mm512_maskz_loadu_ps(m, dl + i), _mm512_maskz_loadu_ps(m, dx + i)));
  }
}

// ---------------------------------------------------------------- bindings
using Map1 = void (*)(float*, const float*, int64_t);
using Map2 = void (*)(float*, const float*, const float*, int64_t);

// (out, a, n) -> fn(out, a, n) over chunks of [0, n).
Napi::Value run_map1(const Napi::CallbackInfo& info, Map1 fn, int64_t grain) {
  Args a(info);
  int64_t n = a.i64(2);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  if (!dims_ok(a, {n})) return undefined(info);
  parallel_for(n, grain, [&](int64_t b, int64_t e) { fn(out + b, x + b, e - b); });
  return undefined(info);
}

// (out, a, b, n) -> fn(out, a, b, n) over chunks of [0, n).
Napi::Value run_map2(const Napi::CallbackInfo& info, Map2 fn, int64_t grain) {
  Args a(info);
  int64_t n = a.i64(3);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  const float* y = a.f32(2, n);
  if (!dims_ok(a, {n})) return undefined(info);
  parallel_for(n, grain, [&](int64_t b, int64_t e) { fn(out + b, x + b, y + b, e - b); });
  return undefined(info);
}

Napi::Value Add(const Napi::CallbackInfo& info) { return run_map2(info, pick(add_scalar, add_avx2, add_avx512), kGrainMemory); }

Napi::Value Accumulate(const Napi::CallbackInfo& info) {
  return run_map1(info, pick(add_into_scalar, add_into_avx2, add_into_avx512), kGrainMemory);
}

Napi::Value ScaleInPlace(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(2);
  float* x = a.f32(0, n);
  float s = static_cast<float>(a.f64(1));
  if (!dims_ok(a, {n})) return undefined(info);
  auto fn = pick(scale_to_scalar, scale_to_avx2, scale_to_avx512);
  parallel_for(n, kGrainMemory, [&](int64_t b, int64_t e) { fn(x + b, x + b, s, e - b); });
  return undefined(info);
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  return run_map1(info, pick(gelu_forward_scalar, gelu_forward_avx2, gelu_forward_avx512), kGrainCompute);
}
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  return run_map2(info, pick(gelu_backward_scalar, gelu_backward_avx2, gelu_backward_avx512), kGrainCompute);
}
Napi::Value SigmoidForward(const Napi::CallbackInfo& info) {
  return run_map1(info, pick(sigmoid_forward_scalar, sigmoid_forward_avx2, sigmoid_forward_avx512), kGrainCompute);
}
Napi::Value SigmoidBackward(const Napi::CallbackInfo& info) {
  return run_map2(info, pick(sigmoid_backward_scalar, sigmoid_backward_avx2, sigmoid_backward_avx512), kGrainMemory);
}

// out (R,C)[i,:] = s[i]·x[i,:]
Napi::Value RowScaleForward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t rows = a.i64(3), cols = a.i64(4);
  float* out = a.f32(0, rows * cols);
  const float* x = a.f32(1, rows * cols);
  const float* s = a.f32(2, rows);
  if (!dims_ok(a, {rows, cols})) return undefined(info);
  auto fn = pick(scale_to_scalar, scale_to_avx2, scale_to_avx512);
  parallel_for(rows, grain_for(cols, kGrainMemory), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) fn(out + i * cols, x + i * cols, s[i], cols);
  });
  return undefined(info);
}

// dx[i,:] += s[i]·dout[i,:];  ds[i] += dot(dout[i,:], x[i,:]);  either may be null.
Napi::Value RowScaleBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t rows = a.i64(5), cols = a.i64(6);
  float* dx = a.f32OrNull(0, rows * cols);
  float* ds = a.f32OrNull(1, rows);
  const float* dout = a.f32(2, rows * cols);
  const float* x = a.f32(3, rows * cols);
  const float* s = a.f32(4, rows);
  if (!dims_ok(a, {rows, cols})) return undefined(info);
  auto axpy = pick(axpy_scalar, axpy_avx2, axpy_avx512);
  auto dot = pick(dot_scalar, dot_avx2, dot_avx512);
  parallel_for(rows, grain_for(cols, kGrainMemory), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      if (dx) axpy(dx + i * cols, s[i], dout + i * cols, cols);
      if (ds) ds[i] += dot(dout + i * cols, x + i * cols, cols);
    }
  });
  return undefined(info);
}

// Fails unless every id is a row of a (rows, c) table.
bool ids_ok(Args& a, const int32_t* ids, int64_t n, int64_t rows, const char* what) {
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= rows) {
      a.fail(std::string(what) + ": id " + std::to_string(ids[i]) + " at " + std::to_string(i) + " is outside [0, " +
             std::to_string(rows) + ")");
      return false;
    }
  return true;
}

// out (N,C)[i,:] = table (V,C)[ids[i],:]
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(3), c = a.i64(4);
  float* out = a.f32(0, n * c);
  const int32_t* ids = a.i32(1, n);
  const float* table = a.f32(2, 0);
  if (!dims_ok(a, {n, c}) || n == 0 || c == 0) return undefined(info);
  if (!ids_ok(a, ids, n, length_of(info, 2) / c, "embeddingForward")) return undefined(info);
  parallel_for(n, grain_for(c, kGrainMemory), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) std::memcpy(out + i * c, table + ids[i] * c, sizeof(float) * c);
  });
  return undefined(info);
}

// dtable[ids[i],:] += dout[i,:]. Repeated ids collide, so threads split the columns, never the rows; each element
// then sums its rows in order 0..N-1 whatever the thread count.
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(3), c = a.i64(4);
  float* dtable = a.f32(0, 0);
  const float* dout = a.f32(1, n * c);
  const int32_t* ids = a.i32(2, n);
  if (!dims_ok(a, {n, c}) || n == 0 || c == 0) return undefined(info);
  if (!ids_ok(a, ids, n, length_of(info, 0) / c, "embeddingBackward")) return undefined(info);
  auto add = pick(add_into_scalar, add_into_avx2, add_into_avx512);
  int64_t groups = (c + 15) / 16;
  parallel_for(groups, grain_for(16 * n, kGrainMemory), [&](int64_t gb, int64_t ge) {
    int64_t c0 = gb * 16, c1 = ge * 16 < c ? ge * 16 : c;
    for (int64_t i = 0; i < n; i++) add(dtable + ids[i] * c + c0, dout + i * c + c0, c1 - c0);
  });
  return undefined(info);
}

bool targets_ok(Args& a, const int32_t* targets, int64_t n, int64_t v) {
  for (int64_t i = 0; i < n; i++)
    if (targets[i] >= v) {
      a.fail("crossEntropy: target " + std::to_string(targets[i]) + " at row " + std::to_string(i) + " is not < " +
             std::to_string(v));
      return false;
    }
  return true;
}

// losses (N) = lse(logits[i,:]) - logits[i, t] (0 when t < 0);  probs (N,V) = softmax(logits)
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(4), v = a.i64(5);
  float* losses = a.f32(0, n);
  float* probs = a.f32(1, n * v);
  const float* logits = a.f32(2, n * v);
  const int32_t* targets = a.i32(3, n);
  if (!dims_ok(a, {n, v}) || !targets_ok(a, targets, n, v)) return undefined(info);
  auto row = pick(softmax_row_scalar, softmax_row_avx2, softmax_row_avx512);
  parallel_for(n, grain_for(v, kGrainCompute), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      Lse lse = row(probs + i * v, logits + i * v, v);
      int32_t t = targets[i];
      losses[i] = t < 0 ? 0.0f : static_cast<float>(lse.log_sum - (static_cast<double>(logits[i * v + t]) - lse.max));
    }
  });
  return undefined(info);
}

// dlogits[i,:] += (probs[i,:] - onehot(t))·dlosses[i]; rows with t < 0 get nothing.
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(4), v = a.i64(5);
  float* dlogits = a.f32(0, n * v);
  const float* dlosses = a.f32(1, n);
  const float* probs = a.f32(2, n * v);
  const int32_t* targets = a.i32(3, n);
  if (!dims_ok(a, {n, v}) || !targets_ok(a, targets, n, v)) return undefined(info);
  auto axpy = pick(axpy_scalar, axpy_avx2, axpy_avx512);
  parallel_for(n, grain_for(v, kGrainMemory), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      int32_t t = targets[i];
      if (t < 0) continue;
      float* dl = dlogits + i * v;
      float before = dl[t];
      axpy(dl, dlosses[i], probs + i * v, v);
      dl[t] = before + (probs[i * v + t] - 1.0f) * dlosses[i];  // the one-hot element, in one rounding
    }
  });
  return undefined(info);
}

Napi::Value BceWithLogitsForward(const Napi::CallbackInfo& info) {
  return run_map2(info, pick(bce_forward_scalar, bce_forward_avx2, bce_forward_avx512), kGrainCompute);
}

Napi::Value BceWithLogitsBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(4);
  float* dx = a.f32(0, n);
  const float* dl = a.f32(1, n);
  const float* x = a.f32(2, n);
  const float* t = a.f32(3, n);
  if (!dims_ok(a, {n})) return undefined(info);
  auto fn = pick(bce_backward_scalar, bce_backward_avx2, bce_backward_avx512);
  parallel_for(n, kGrainCompute, [&](int64_t b, int64_t e) { fn(dx + b, dl + b, x + b, t + b, e - b); });
  return undefined(info);
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  def(env, exports, "add", Add);
  def(env, exports, "accumulate", Accumulate);
  def(env, exports, "scaleInPlace", ScaleInPlace);
  def(env, exports, "geluForward", GeluForward);
  def(env, exports, "geluBackward", GeluBackward);
  def(env, exports, "sigmoidForward", SigmoidForward);
  def(env, exports, "sigmoidBackward", SigmoidBackward);
  def(env, exports, "rowScaleForward", RowScaleForward);
  def(env, exports, "rowScaleBackward", RowScaleBackward);
  def(env, exports, "embeddingForward", EmbeddingForward);
  def(env, exports, "embeddingBackward", EmbeddingBackward);
  def(env, exports, "crossEntropyForward", CrossEntropyForward);
  def(env, exports, "crossEntropyBackward", CrossEntropyBackward);
  def(env, exports, "bceWithLogitsForward", BceWithLogitsForward);
  def(env, exports, "bceWithLogitsBackward", BceWithLogitsBackward);
}

}  // namespace mod
