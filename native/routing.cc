// Mixture-of-Depths routing: per-row top-k, gather and scatter-add of rows (see src/kernels/types.ts).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "simd.h"

namespace mod {

namespace {

Napi::Value undefined(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// NaN ranks as -inf: a NaN score never displaces a real one (same rule as the reference).
inline float rank_key(float s) { return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s; }

// idx (K) = the K positions of scores (T) that come first in the order (higher score, then lower position), in
// ascending position. With thr = the K-th largest key, that is every position with key > thr plus the first
// (K - #greater) positions with key == thr, so one scan in position order yields them already sorted.
// `keys` and `tmp` are scratch of T floats.
void topk_row(int32_t* idx, const float* scores, int64_t t, int64_t k, float* keys, float* tmp) {
  if (k == 0) return;
  for (int64_t j = 0; j < t; j++) keys[j] = rank_key(scores[j]);
  std::memcpy(tmp, keys, sizeof(float) * t);
  std::nth_element(tmp, tmp + (k - 1), tmp + t, std::greater<float>());
  float thr = tmp[k - 1];
  int64_t greater = 0;
  for (int64_t j = 0; j < t; j++) greater += keys[j] > thr;
  int64_t equal_left = k - greater, o = 0;
  for (int64_t j = 0; j < t; j++) {
    if (keys[j] > thr || (keys[j] == thr && equal_left-- > 0)) idx[o++] = static_cast<int32_t>(j);
  }
}

// (idx, scores, b, t, k)
Napi::Value TopkRows(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t b = a.i64(2), t = a.i64(3), k = a.i64(4);
  int32_t* idx = a.i32(0, b * k);
  const float* scores = a.f32(1, b * t);
  if (!dims_ok(a, {b, t, k})) return undefined(info);
  if (k > t) {
    a.fail("topkRows: k = " + std::to_string(k) + " must be in [0, " + std::to_string(t) + "]");
    return undefined(info);
  }
  parallel_for(b, grain_for(t, 1 << 13), [&](int64_t rb, int64_t re) {
    std::vector<float> scratch(2 * t);
    for (int64_t r = rb; r < re; r++) topk_row(idx + r * k, scores + r * t, t, k, scratch.data(), scratch.data() + t);
  });
  return undefined(info);
}

bool idx_ok(Args& a, const int32_t* idx, int64_t count, int64_t t, const char* what) {
  for (int64_t i = 0; i < count; i++)
    if (idx[i] < 0 || idx[i] >= t) {
      a.fail(std::string(what) + ": index " + std::to_string(idx[i]) + " at " + std::to_string(i) + " is outside [0, " +
             std::to_string(t) + ")");
      return false;
    }
  return true;
}

// (out, x, idx, b, t, k, c): out (B,K,C)[r,j,:] = x (B,T,C)[r, idx[r,j], :]
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t b = a.i64(3), t = a.i64(4), k = a.i64(5), c = a.i64(6);
  float* out = a.f32(0, b * k * c);
  const float* x = a.f32(1, b * t * c);
  const int32_t* idx = a.i32(2, b * k);
  if (!dims_ok(a, {b, t, k, c}) || !idx_ok(a, idx, b * k, t, "gatherRows")) return undefined(info);
  parallel_for(b * k, grain_for(c, kGrainMemory), [&](int64_t rb, int64_t re) {
    for (int64_t q = rb; q < re; q++) {
      int64_t r = q / (k < 1 ? 1 : k);
      std::memcpy(out + q * c, x + (r * t + idx[q]) * c, sizeof(float) * c);
    }
  });
  return undefined(info);
}

// (out, src, idx, b, t, k, c): out (B,T,C)[r, idx[r,j], :] += src (B,K,C)[r,j,:]
// Indices of a row may repeat, so a work unit is (row r, a 128-column slice) and adds its K sources in order j.
Napi::Value ScatterAddRows(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t b = a.i64(3), t = a.i64(4), k = a.i64(5), c = a.i64(6);
  float* out = a.f32(0, b * t * c);
  const float* src = a.f32(1, b * k * c);
  const int32_t* idx = a.i32(2, b * k);
  if (!dims_ok(a, {b, t, k, c}) || !idx_ok(a, idx, b * k, t, "scatterAddRows")) return undefined(info);
  if (c == 0 || k == 0) return undefined(info);
  constexpr int64_t kSlice = 128;
  int64_t slices = (c + kSlice - 1) / kSlice;
  auto add = pick(add_into_scalar, add_into_avx2, add_into_avx512);
  parallel_for(b * slices, grain_for(k * kSlice, kGrainMemory), [&](int64_t ub, int64_t ue) {
    for (int64_t u = ub; u < ue; u++) {
      int64_t r = u / slices, c0 = (u % slices) * kSlice, w = std::min(kSlice, c - c0);
      for (int64_t j = 0; j < k; j++) add(out + (r * t + idx[r * k + j]) * c + c0, src + ((r * k + j) * c) + c0, w);
    }
  });
  return undefined(info);
}

}  // namespace

void InitRouting(Napi::Env env, Napi::Object exports) {
  def(env, exports, "topkRows", TopkRows);
  def(env, exports, "gatherRows", GatherRows);
  def(env, exports, "scatterAddRows", ScatterAddRows);
}

}  // namespace mod
