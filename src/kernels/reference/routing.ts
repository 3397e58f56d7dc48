// Reference (TypeScript) kernels: routing. Plain loops; the oracle for the native addon's tests.
import type { Kernels } from '../types.js';

export const topkRows: Kernels['topkRows'] = () => {
  throw new Error('reference topkRows: not implemented yet');
};

export const gatherRows: Kernels['gatherRows'] = () => {
  throw new Error('reference gatherRows: not implemented yet');
};

export const scatterAddRows: Kernels['scatterAddRows'] = () => {
  throw new Error('reference scatterAddRows: not implemented yet');
};
