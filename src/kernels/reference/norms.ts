// Reference (TypeScript) kernels: norms. Plain loops; the oracle for the native addon's tests.
import type { Kernels } from '../types.js';

export const layernormForward: Kernels['layernormForward'] = () => {
  throw new Error('reference layernormForward: not implemented yet');
};

export const layernormBackward: Kernels['layernormBackward'] = () => {
  throw new Error('reference layernormBackward: not implemented yet');
};

export const rmsnormForward: Kernels['rmsnormForward'] = () => {
  throw new Error('reference rmsnormForward: not implemented yet');
};

export const rmsnormBackward: Kernels['rmsnormBackward'] = () => {
  throw new Error('reference rmsnormBackward: not implemented yet');
};
