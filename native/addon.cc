// Addon entry: runtime info (threads, SIMD level) plus every kernel family's registration.
#include "common.h"

#include <cstdlib>
#include <cstring>

namespace mod {

static SimdLevel detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kAvx2;
#endif
  return kScalar;
}

static SimdLevel g_detected = detect();
static SimdLevel g_level = [] {
  const char* s = std::getenv("MOD_SIMD");
  SimdLevel want = kAvx512;
  if (s && std::strcmp(s, "scalar") == 0) want = kScalar;
  if (s && std::strcmp(s, "avx2") == 0) want = kAvx2;
  return want < g_detected ? want : g_detected;
}();

SimdLevel simd_level() { return g_level; }
SimdLevel simd_detected() { return g_detected; }
void set_simd_level(SimdLevel level) { g_level = level < g_detected ? level : g_detected; }

void Args::fail(const std::string& msg) {
  if (ok) Napi::TypeError::New(info.Env(), msg).ThrowAsJavaScriptException();
  ok = false;
}

float* Args::f32(size_t idx, int64_t need) {
  Napi::Value v = info[idx];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail("argument " + std::to_string(idx) + " must be a Float32Array");
    return nullptr;
  }
  auto a = v.As<Napi::Float32Array>();
  if (need > 0 && static_cast<int64_t>(a.ElementLength()) < need) {
    fail("argument " + std::to_string(idx) + " holds " + std::to_string(a.ElementLength()) + " floats, needs " +
         std::to_string(need));
    return nullptr;
  }
  return a.Data();
}

float* Args::f32OrNull(size_t idx, int64_t need) {
  Napi::Value v = info[idx];
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return f32(idx, need);
}

int32_t* Args::i32(size_t idx, int64_t need) {
  Napi::Value v = info[idx];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    fail("argument " + std::to_string(idx) + " must be an Int32Array");
    return nullptr;
  }
  auto a = v.As<Napi::Int32Array>();
  if (need > 0 && static_cast<int64_t>(a.ElementLength()) < need) {
    fail("argument " + std::to_string(idx) + " holds " + std::to_string(a.ElementLength()) + " ints, needs " +
         std::to_string(need));
    return nullptr;
  }
  return a.Data();
}

int64_t Args::i64(size_t idx) {
  Napi::Value v = info[idx];
  if (!v.IsNumber()) {
    fail("argument " + std::to_string(idx) + " must be a number");
    return 0;
  }
  return v.As<Napi::Number>().Int64Value();
}

double Args::f64(size_t idx) {
  Napi::Value v = info[idx];
  if (!v.IsNumber()) {
    fail("argument " + std::to_string(idx) + " must be a number");
    return 0;
  }
  return v.As<Napi::Number>().DoubleValue();
}

bool Args::flag(size_t idx) { return info[idx].ToBoolean().Value(); }

static const char* level_name(SimdLevel l) { return l == kAvx512 ? "avx512" : l == kAvx2 ? "avx2" : "scalar"; }

static Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }
static Napi::Value GetCores(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), usable_cores()); }
static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t n = a.i64(0);
  if (a.ok) set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}
static Napi::Value SetContended(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t mode = a.i64(0);
  if (a.ok) force_contended(mode < 0 ? -1 : mode > 0 ? 1 : 0);
  return info.Env().Undefined();
}
static Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  const std::array<uint64_t, 4> s = pool_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("windows", static_cast<double>(s[0]));
  o.Set("contendedWindows", static_cast<double>(s[1]));
  o.Set("serialJobs", static_cast<double>(s[2]));
  o.Set("backoffs", static_cast<double>(s[3]));
  return o;
}
static Napi::Value GetSimd(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), level_name(simd_level())); }
static Napi::Value GetSimdDetected(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), level_name(simd_detected()));
}
static Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  std::string s = info[0].ToString().Utf8Value();
  set_simd_level(s == "scalar" ? kScalar : s == "avx2" ? kAvx2 : kAvx512);
  return Napi::String::New(info.Env(), level_name(simd_level()));
}

}  // namespace mod

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace mod;
  def(env, exports, "getThreads", GetThreads);
  def(env, exports, "setThreads", SetThreads);
  def(env, exports, "getCores", GetCores);
  def(env, exports, "setContended", SetContended);
  def(env, exports, "poolStats", PoolStats);
  def(env, exports, "getSimd", GetSimd);
  def(env, exports, "getSimdDetected", GetSimdDetected);
  def(env, exports, "setSimd", SetSimd);
  InitGemm(env, exports);
  InitAttention(env, exports);
  InitNorms(env, exports);
  InitElementwise(env, exports);
  InitRouting(env, exports);
  InitOptimizer(env, exports);
  return exports;
}

NODE_API_MODULE(mod_native, Init)
