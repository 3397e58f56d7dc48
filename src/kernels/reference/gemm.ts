// Reference (TypeScript) kernels: gemm. Plain loops; the oracle for the native addon's tests.
import type { Kernels } from '../types.js';

export const matmul: Kernels['matmul'] = () => {
  throw new Error('reference matmul: not implemented yet');
};

export const addBias: Kernels['addBias'] = () => {
  throw new Error('reference addBias: not implemented yet');
};

export const biasBackward: Kernels['biasBackward'] = () => {
  throw new Error('reference biasBackward: not implemented yet');
};
