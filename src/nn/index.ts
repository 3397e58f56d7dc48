// Neural-network modules over the engine's ops.
export { Module } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Embedding } from './embedding.js';
export { LayerNorm, RMSNorm } from './norm.js';
export { CausalSelfAttention, ROPE_BASE, residualStd, type AttentionOptions } from './attention.js';
export { LayerCache } from './layer-cache.js';
export { MLP } from './mlp.js';
