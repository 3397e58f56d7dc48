// Reference (TypeScript) kernels: optimizer. Plain loops; the oracle for the native addon's tests.
import type { Kernels } from '../types.js';

export const adamw: Kernels['adamw'] = () => {
  throw new Error('reference adamw: not implemented yet');
};

export const sumSquares: Kernels['sumSquares'] = () => {
  throw new Error('reference sumSquares: not implemented yet');
};
