// Causal multi-head self-attention, as nanoGPT's CausalSelfAttention: c_attn (C → 3C) → fused attention → c_proj.
// Rows attend by their explicit positions, so the same module runs on a whole sequence (B, T, C) or on a routed
// subset of its tokens (B, K, C) with their original positions (Mixture-of-Depths).
import { isGradEnabled, output, temp } from '../engine/autograd.js';
import { attention } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { kernels } from '../kernels/index.js';
import type { LayerCache } from './layer-cache.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** RoPE frequency base (theta_i = base^(-2i/headSize)), as in Llama / RoFormer. */
export const ROPE_BASE = 10000;

/** Init std of the projections into the residual stream: nanoGPT's 0.02 / sqrt(2 · nLayer). */
export function residualStd(nLayer: number): number {
  return 0.02 / Math.sqrt(2 * nLayer);
}

export interface AttentionOptions {
  bias: boolean;
  /** Rotary position embeddings on queries and keys. */
  rope: boolean;
  /** Init std of the output projection. */
  projStd: number;
}

export class CausalSelfAttention extends Module {
  readonly cAttn: Linear; // (3C, C)
  readonly cProj: Linear; // (C, C)
  readonly nHead: number;
  readonly rope: boolean;

  /** c: width (divisible by nHead); projStd: init std of c_proj (residualStd(nLayer) in a GPT). */
  constructor(c: number, nHead: number, opts: AttentionOptions, rng: Rng) {
    super();
    if (c % nHead !== 0) throw new Error(`nEmbd ${c} is not divisible by nHead ${nHead}`);
    this.nHead = nHead;
    this.rope = opts.rope;
    this.cAttn = this.addModule('c_attn', new Linear(c, 3 * c, { bias: opts.bias, rng }));
    this.cProj = this.addModule('c_proj', new Linear(c, c, { bias: opts.bias, rng, std: opts.projStd }));
  }

  /** x (B, T, C), pos (B, T) → (B, T, C) */
  forward(x: Tensor, pos: Int32Array): Tensor {
    const qkv = this.cAttn.forward(x); // (B, T, 3C)
    const y = attention(qkv, pos, { nHead: this.nHead, rope: this.rope, ropeBase: ROPE_BASE }); // (B, T, C)
    return this.cProj.forward(y); // (B, T, C)
  }

  /**
   * forward(x, pos), also appending every row's key (rotated by its position with RoPE) and value to the cache of
   * its sequence: caches[b] for rows (b, ·). The same ops as forward, so the output is bit-identical. No gradient.
   */
  prefill(x: Tensor, pos: Int32Array, caches: readonly LayerCache[]): Tensor {
    const qkv = this.cAttn.forward(x); // (B, T, 3C)
    this.cacheKeysValues(qkv, pos, caches);
    const y = attention(qkv, pos, { nHead: this.nHead, rope: this.rope, ropeBase: ROPE_BASE }); // (B, T, C)
    return this.cProj.forward(y); // (B, T, C)
  }

  /**
   * One new token per sequence: x (B, C) at positions pos (B). Appends each token's key and value to caches[b],
   * then attends from its query to every row of that cache. Work O(C² + len·C) per token. No gradient.
   */
  decode(x: Tensor, pos: Int32Array, caches: readonly LayerCache[]): Tensor {
    if (isGradEnabled()) throw new Error('attention decode has no gradient: run it inside noGrad()');
    const [b, c] = [x.shape[0]!, x.shape[1]!];
    if (x.shape.length !== 2 || caches.length !== b || pos.length !== b) {
      throw new Error(`decode: x [${x.shape.join(', ')}], ${pos.length} positions and ${caches.length} caches do not agree (expected (B, C), B, B)`);
    }
    const K = kernels();
    const hs = c / this.nHead;
    const qkv = this.cAttn.forward(x); // (B, 3C)
    this.cacheKeysValues(qkv, pos, caches);
    const y = output([b, c]); // (B, C)
    const q = temp(c);
    for (let i = 0; i < b; i++) {
      q.set(qkv.data.subarray(i * 3 * c, i * 3 * c + c));
      if (this.rope) K.ropeInPlace(q, pos.subarray(i, i + 1), 1, c, 0, this.nHead, hs, ROPE_BASE);
      const cache = caches[i]!;
      K.attentionDecode(b === 1 ? y.data : y.data.subarray(i * c, (i + 1) * c), q, cache.keys, cache.values, cache.length, this.nHead, hs);
    }
    return this.cProj.forward(y); // (B, C)
  }

  /** Appends the k and v of qkv (B, N, 3C) (N rows per sequence, positions pos (B, N)) to caches[b]. */
  private cacheKeysValues(qkv: Tensor, pos: Int32Array, caches: readonly LayerCache[]): void {
    const b = caches.length;
    const c = qkv.shape[qkv.shape.length - 1]! / 3;
    const n = pos.length / b;
    if (!Number.isInteger(n) || qkv.size !== b * n * 3 * c) throw new Error(`KV cache: ${b} caches for qkv [${qkv.shape.join(', ')}] and ${pos.length} positions`);
    for (let i = 0; i < b; i++) {
      const cache = caches[i]!;
      const p = pos.subarray(i * n, (i + 1) * n);
      const first = cache.append(qkv.data.subarray(i * n * 3 * c), n, 3 * c, c, 2 * c, p);
      if (this.rope) kernels().ropeInPlace(cache.keys, cache.positions.subarray(first, first + n), n, c, first * c, this.nHead, c / this.nHead, ROPE_BASE);
    }
  }
}
