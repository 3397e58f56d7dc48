// A pre-LN transformer block, as in nanoGPT's model.py. BlockLayers holds its four sub-modules (the parameter names
// `ln_1`, `attn`, `ln_2`, `mlp`) and the residual-free update; Block is the dense block, and the Mixture-of-Depths
// RoutedBlock (src/model/mod.ts) routes the same layers.
import { add } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { CausalSelfAttention, residualStd } from '../nn/attention.js';
import type { LayerCache } from '../nn/layer-cache.js';
import { MLP } from '../nn/mlp.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import { type ModelConfig, mlpHidden } from './config.js';

export abstract class BlockLayers extends Module {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;

  constructor(config: ModelConfig, rng: Rng) {
    super();
    const { nEmbd: c, nHead, bias } = config;
    const projStd = residualStd(config.nLayer);
    this.ln1 = this.addModule('ln_1', new LayerNorm(c, bias));
    this.attn = this.addModule('attn', new CausalSelfAttention(c, nHead, { bias, rope: config.positions === 'rope', projStd }, rng));
    this.ln2 = this.addModule('ln_2', new LayerNorm(c, bias));
    this.mlp = this.addModule('mlp', new MLP(c, mlpHidden(config), { bias, projStd }, rng));
  }

  /**
   * The update a full block adds to x: attn(ln_1(x)) + mlp(ln_2(x + attn(ln_1(x)))). x (B, N, C) at positions pos
   * (B, N); with a cache, the attention also appends the keys and values of x's rows (one sequence, B = 1).
   */
  update(x: Tensor, pos: Int32Array, cache?: LayerCache): Tensor {
    const h = this.ln1.forward(x); // (B, N, C)
    const a = cache === undefined ? this.attn.forward(h, pos) : this.attn.prefill(h, pos, [cache]); // (B, N, C)
    const m = this.mlp.forward(this.ln2.forward(add(x, a))); // (B, N, C)
    return add(a, m); // (B, N, C)
  }
}

/** A dense pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(x)). */
export class Block extends BlockLayers {
  /** x (B, T, C), pos (B, T): each row's position in its sequence → (B, T, C) */
  forward(x: Tensor, pos: Int32Array): Tensor {
    x = add(x, this.attn.forward(this.ln1.forward(x), pos)); // (B, T, C)
    return add(x, this.mlp.forward(this.ln2.forward(x))); // (B, T, C)
  }

  /** forward(x, pos) that also fills caches[b] with this block's keys and values of sequence b (KV-cache decode). */
  prefill(x: Tensor, pos: Int32Array, caches: readonly LayerCache[]): Tensor {
    x = add(x, this.attn.prefill(this.ln1.forward(x), pos, caches)); // (B, T, C)
    return add(x, this.mlp.forward(this.ln2.forward(x))); // (B, T, C)
  }

  /** One token per sequence, x (B, C) at positions pos (B), attending to (and appended to) caches[b] → (B, C) */
  decode(x: Tensor, pos: Int32Array, caches: readonly LayerCache[]): Tensor {
    x = add(x, this.attn.decode(this.ln1.forward(x), pos, caches)); // (B, C)
    return add(x, this.mlp.forward(this.ln2.forward(x))); // (B, C)
  }
}
