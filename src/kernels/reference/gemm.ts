// Reference (TypeScript) kernels: gemm. Plain loops; the oracle for the native addon's tests.
// matmul sums each output row in float64 (a Float64Array row, i-k-j order) and rounds to float32 once at the end,
// so it is at least as accurate as any float32 kernel it is compared with.
import type { Kernels } from '../types.js';

export const matmul: Kernels['matmul'] = (c, a, b, m, n, k, transA, transB, accumulate) => {
  // op(a)[i,p] = a[i*ars + p*acs];  op(b)[p,j] = b[p*brs + j*bcs]
  const ars = transA ? 1 : k;
  const acs = transA ? m : 1;
  const brs = transB ? 1 : n;
  const bcs = transB ? k : 1;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = a[i * ars + p * acs]!;
      const bp = p * brs;
      for (let j = 0; j < n; j++) row[j]! += aip * b[bp + j * bcs]!;
    }
    const ci = i * n;
    for (let j = 0; j < n; j++) c[ci + j] = accumulate ? c[ci + j]! + row[j]! : row[j]!;
  }
};

export const addBias: Kernels['addBias'] = (out, bias, n, c) => {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) out[i * c + j]! += bias[j]!;
  }
};

export const biasBackward: Kernels['biasBackward'] = (dbias, dout, n, c) => {
  for (let j = 0; j < c; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += dout[i * c + j]!;
    dbias[j]! += s;
  }
};
