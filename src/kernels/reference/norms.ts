// Reference (TypeScript) kernels: LayerNorm and RMSNorm. Plain loops in double precision, stored to float32; the
// oracle for the native addon's tests.
import type { Kernels } from '../types.js';

const EPS = 1e-5;

export const layernormForward: Kernels['layernormForward'] = (out, mean, rstd, inp, weight, bias, n, c) => {
  for (let i = 0; i < n; i++) {
    const off = i * c;
    let m = 0;
    for (let j = 0; j < c; j++) m += inp[off + j]!;
    m /= c;
    let v = 0;
    for (let j = 0; j < c; j++) v += (inp[off + j]! - m) ** 2;
    const r = 1 / Math.sqrt(v / c + EPS);
    for (let j = 0; j < c; j++) {
      out[off + j] = (inp[off + j]! - m) * r * weight[j]! + (bias === null ? 0 : bias[j]!);
    }
    mean[i] = m;
    rstd[i] = r;
  }
};

// With xhat = (x - mean)·rstd and g = weight·dout (per row):
//   dinp += rstd · (g - mean(g) - xhat · mean(g · xhat));  dweight += dout · xhat;  dbias += dout.
export const layernormBackward: Kernels['layernormBackward'] = (dinp, dweight, dbias, dout, inp, weight, mean, rstd, n, c) => {
  for (let i = 0; i < n; i++) {
    const off = i * c;
    const m = mean[i]!;
    const r = rstd[i]!;
    let gMean = 0;
    let gxMean = 0;
    for (let j = 0; j < c; j++) {
      const g = weight[j]! * dout[off + j]!;
      gMean += g;
      gxMean += g * (inp[off + j]! - m) * r;
    }
    gMean /= c;
    gxMean /= c;
    for (let j = 0; j < c; j++) {
      const xhat = (inp[off + j]! - m) * r;
      const d = dout[off + j]!;
      dinp[off + j] = dinp[off + j]! + r * (weight[j]! * d - gMean - xhat * gxMean);
      dweight[j] = dweight[j]! + d * xhat;
      if (dbias !== null) dbias[j] = dbias[j]! + d;
    }
  }
};

export const rmsnormForward: Kernels['rmsnormForward'] = (out, rstd, inp, weight, n, c) => {
  for (let i = 0; i < n; i++) {
    const off = i * c;
    let ss = 0;
    for (let j = 0; j < c; j++) ss += inp[off + j]! ** 2;
    const r = 1 / Math.sqrt(ss / c + EPS);
    for (let j = 0; j < c; j++) out[off + j] = inp[off + j]! * r * weight[j]!;
    rstd[i] = r;
  }
};

// With xhat = x·rstd and g = weight·dout (per row):  dinp += rstd · (g - xhat · mean(g · xhat));  dweight += dout · xhat.
export const rmsnormBackward: Kernels['rmsnormBackward'] = (dinp, dweight, dout, inp, weight, rstd, n, c) => {
  for (let i = 0; i < n; i++) {
    const off = i * c;
    const r = rstd[i]!;
    let gxMean = 0;
    for (let j = 0; j < c; j++) gxMean += weight[j]! * dout[off + j]! * inp[off + j]! * r;
    gxMean /= c;
    for (let j = 0; j < c; j++) {
      const xhat = inp[off + j]! * r;
      const d = dout[off + j]!;
      dinp[off + j] = dinp[off + j]! + r * (weight[j]! * d - xhat * gxMean);
      dweight[j] = dweight[j]! + d * xhat;
    }
  }
};
