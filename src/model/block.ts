// A pre-LN transformer block, as in nanoGPT's model.py: the unit that a Mixture-of-Depths model routes
// (src/model/mod.ts extends it).
import { add } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { CausalSelfAttention } from '../nn/attention.js';
import { MLP } from '../nn/mlp.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import type { LayerCache } from '../sample/kv-cache.js';
import type { ModelConfig } from './config.js';

/** A pre-LN transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)). */
export class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: MLP;

  constructor(config: ModelConfig, rng: Rng) {
    super();
    this.ln1 = this.addModule('ln_1', new LayerNorm(config.nEmbd, config.bias));
    this.attn = this.addModule('attn', new CausalSelfAttention(config, rng));
    this.ln2 = this.addModule('ln_2', new LayerNorm(config.nEmbd, config.bias));
    this.mlp = this.addModule('mlp', new MLP(config, rng));
  }

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
