// sgemm for other native kernels (and the dev harness): the engine's matmul without the JS binding.
#pragma once
#include <cstdint>

namespace mod {

// C (M,N) = op(A) (M,K) · op(B) (K,N)  [+ C when accumulate], float32.
// Element (i,p) of op(A) is a[i*ars + p*acs]; element (p,j) of op(B) is b[p*brs + j*bcs]; C's rows are ldc apart.
// One stride of each pair must be 1: A stored (M,K) is {ars = K, acs = 1}, stored (K,M) (transA) is {1, M};
// likewise B (K,N) is {N, 1}, stored (N,K) (transB) is {1, K}. Runs on the thread pool (serially when called from
// inside a pool job) at the current simd_level().
struct Gemm {
  float* c;
  int64_t ldc;
  const float* a;
  int64_t ars, acs;
  const float* b;
  int64_t brs, bcs;
  int64_t m, n, k;
  bool accumulate;
};

void sgemm(const Gemm& g);

}  // namespace mod
