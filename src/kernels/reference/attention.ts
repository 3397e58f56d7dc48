// Reference (TypeScript) kernels: attention. Plain loops; the oracle for the native addon's tests.
import type { Kernels } from '../types.js';

export const attentionCacheSize: Kernels['attentionCacheSize'] = () => {
  throw new Error('reference attentionCacheSize: not implemented yet');
};

export const attentionForward: Kernels['attentionForward'] = () => {
  throw new Error('reference attentionForward: not implemented yet');
};

export const attentionBackward: Kernels['attentionBackward'] = () => {
  throw new Error('reference attentionBackward: not implemented yet');
};

export const ropeInPlace: Kernels['ropeInPlace'] = () => {
  throw new Error('reference ropeInPlace: not implemented yet');
};

export const attentionDecode: Kernels['attentionDecode'] = () => {
  throw new Error('reference attentionDecode: not implemented yet');
};
