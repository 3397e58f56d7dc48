// Reference (TypeScript) kernels: AdamW and the squared norm for gradient clipping. The oracle for the native
// addon's tests.
import type { Kernels } from '../types.js';

export const adamw: Kernels['adamw'] = (param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step) => {
  if (!(step >= 1)) throw new RangeError(`adamw: step ${step} must count from 1`);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const p = param[i]!;
    param[i] = p - lr * (mi / bc1 / (Math.sqrt(vi / bc2) + eps) + weightDecay * p);
  }
};

export const sumSquares: Kernels['sumSquares'] = (x, n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
  return s;
};
