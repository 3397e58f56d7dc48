// Causal multi-head self-attention, as nanoGPT's CausalSelfAttention: c_attn (C → 3C) → fused attention → c_proj.
// Rows attend by their explicit positions, so the same module runs on a whole sequence (B, T, C) or on a routed
// subset of its tokens (B, K, C) with their original positions (Mixture-of-Depths).
import { attention } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelConfig } from '../model/config.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** RoPE frequency base (theta_i = base^(-2i/headSize)), as in Llama / RoFormer. */
export const ROPE_BASE = 10000;

/** Init std of the projections into the residual stream: nanoGPT's 0.02 / sqrt(2 · nLayer). */
export function residualStd(nLayer: number): number {
  return 0.02 / Math.sqrt(2 * nLayer);
}

export class CausalSelfAttention extends Module {
  readonly cAttn: Linear; // (3C, C)
  readonly cProj: Linear; // (C, C)
  readonly nHead: number;
  readonly rope: boolean;

  constructor(config: ModelConfig, rng: Rng) {
    super();
    const c = config.nEmbd;
    if (c % config.nHead !== 0) throw new Error(`nEmbd ${c} is not divisible by nHead ${config.nHead}`);
    this.nHead = config.nHead;
    this.rope = config.positions === 'rope';
    this.cAttn = this.addModule('c_attn', new Linear(c, 3 * c, { bias: config.bias, rng }));
    this.cProj = this.addModule('c_proj', new Linear(c, c, { bias: config.bias, rng, std: residualStd(config.nLayer) }));
  }

  /** x (B, T, C), pos (B, T) → (B, T, C) */
  forward(x: Tensor, pos: Int32Array): Tensor {
    const qkv = this.cAttn.forward(x); // (B, T, 3C)
    const y = attention(qkv, pos, { nHead: this.nHead, rope: this.rope, ropeBase: ROPE_BASE }); // (B, T, C)
    return this.cProj.forward(y); // (B, T, C)
  }
}
