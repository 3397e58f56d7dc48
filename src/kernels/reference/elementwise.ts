// Reference (TypeScript) kernels: elementwise. Plain loops; the oracle for the native addon's tests.
import type { Kernels } from '../types.js';

export const add: Kernels['add'] = () => {
  throw new Error('reference add: not implemented yet');
};

export const accumulate: Kernels['accumulate'] = () => {
  throw new Error('reference accumulate: not implemented yet');
};

export const scaleInPlace: Kernels['scaleInPlace'] = () => {
  throw new Error('reference scaleInPlace: not implemented yet');
};

export const geluForward: Kernels['geluForward'] = () => {
  throw new Error('reference geluForward: not implemented yet');
};

export const geluBackward: Kernels['geluBackward'] = () => {
  throw new Error('reference geluBackward: not implemented yet');
};

export const sigmoidForward: Kernels['sigmoidForward'] = () => {
  throw new Error('reference sigmoidForward: not implemented yet');
};

export const sigmoidBackward: Kernels['sigmoidBackward'] = () => {
  throw new Error('reference sigmoidBackward: not implemented yet');
};

export const rowScaleForward: Kernels['rowScaleForward'] = () => {
  throw new Error('reference rowScaleForward: not implemented yet');
};

export const rowScaleBackward: Kernels['rowScaleBackward'] = () => {
  throw new Error('reference rowScaleBackward: not implemented yet');
};

export const embeddingForward: Kernels['embeddingForward'] = () => {
  throw new Error('reference embeddingForward: not implemented yet');
};

export const embeddingBackward: Kernels['embeddingBackward'] = () => {
  throw new Error('reference embeddingBackward: not implemented yet');
};

export const crossEntropyForward: Kernels['crossEntropyForward'] = () => {
  throw new Error('reference crossEntropyForward: not implemented yet');
};

export const crossEntropyBackward: Kernels['crossEntropyBackward'] = () => {
  throw new Error('reference crossEntropyBackward: not implemented yet');
};

export const bceWithLogitsForward: Kernels['bceWithLogitsForward'] = () => {
  throw new Error('reference bceWithLogitsForward: not implemented yet');
};

export const bceWithLogitsBackward: Kernels['bceWithLogitsBackward'] = () => {
  throw new Error('reference bceWithLogitsBackward: not implemented yet');
};
