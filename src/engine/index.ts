// The tensor engine: tensors, tape autograd, differentiable ops, the buffer pool, the seeded RNG.
export { Tensor, sizeOf, type TensorOptions } from './tensor.js';
export {
  backward,
  graphStats,
  gradOf,
  isGradEnabled,
  noGrad,
  releaseGraph,
  tapeNodes,
  temp,
  tempInts,
  topoOrder,
  zeroGrad,
  type GraphStats,
  type Node,
} from './autograd.js';
export * from './ops.js';
export { Rng, type RngState } from './rng.js';
export type { PoolStats } from './pool.js';
