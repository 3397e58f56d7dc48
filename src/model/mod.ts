// Mixture-of-Depths routed block (Raposo et al. 2024, arXiv 2404.02258, section 3).
//
// For each sequence separately, a router r = w·x (one scalar per token) scores the T tokens; the k = routedK(c, T)
// tokens with the highest r (ties to the earlier position, exactly k) are gathered in position order and only they
// run the block's attention and MLP — attention is causal among them by their ORIGINAL positions (RoPE included).
// The block's residual-free update f = block(x̃) − x̃ is scaled by the router weight and added back:
//     x_i ← x_i + r_i · f_i   for selected i,      x_i unchanged otherwise,
// which puts the router on the gradient path. Nothing is computed for unselected tokens: cost is proportional to k.
import { add, gatherRows, linear, reshape, rowScale, scatterAddRows, sigmoid, topk } from '../engine/ops.js';
import { output, tempInts } from '../engine/autograd.js';
import type { Tensor } from '../engine/tensor.js';
import type { Rng } from '../engine/rng.js';
import { Linear } from '../nn/linear.js';
import type { ModConfig, ModelConfig } from './config.js';
import { routedK } from './config.js';
import type { LayerCache } from '../sample/kv-cache.js';
import { Block } from './block.js';

/** What a routed block decided in its last forward (for inspection, heat-maps and auxiliary losses). */
export interface Routing {
  b: number;
  t: number;
  k: number;
  /** (B, K) selected positions per sequence, ascending. */
  idx: Int32Array;
  /** (B, T) router logits r, or the random scores under `random` routing. */
  scores: Tensor;
}

export class RoutedBlock extends Block {
  readonly mod: ModConfig;
  /** (1, C): r = router · x. Absent under `random` routing. */
  readonly router: Linear | null;
  /** Draws the scores of `random` routing. */
  private readonly routingRng: Rng;
  /** The last forward's routing decision. */
  last: Routing | null = null;

  constructor(config: ModelConfig, mod: ModConfig, rng: Rng, routingRng: Rng) {
    super(config, rng);
    this.mod = mod;
    this.routingRng = routingRng;
    this.router = mod.routing === 'learned' ? this.addModule('router', new Linear(config.nEmbd, 1, { bias: false, rng })) : null;
  }

  /** x (B, T, C), pos (B, T) → (B, T, C); only k = routedK(capacity, T) tokens per sequence are processed. */
  override forward(x: Tensor, pos: Int32Array): Tensor {
    const [b, t, c] = x.shape as [number, number, number];
    const k = routedK(this.mod.capacity, t);
    const scores = this.score(x, b, t); // (B, T)
    const idx = topk(scores, k); // (B, K), ascending positions, no gradient
    this.last = { b, t, k, idx, scores };
    if (k === 0) return x;

    const xs = gatherRows(x, idx, k); // (B, K, C)
    const posSel = gatherPositions(pos, idx, b, t, k); // (B, K) original positions
    const f = this.update(xs, posSel); // (B, K, C) residual-free block output
    if (this.router === null) return scatterAddRows(x, f, idx); // random routing: no router weight
    const r = reshape(gatherRows(reshape(scores, [b, t, 1]), idx, k), [b * k]); // (B·K) router logits of the chosen
    const w = this.mod.routerWeight === 'sigmoid' ? sigmoid(r) : r;
    const scaled = reshape(rowScale(reshape(f, [b * k, c]), w), [b, k, c]); // (B, K, C)  r_i · f_i
    return scatterAddRows(x, scaled, idx); // (B, T, C)  x + scatter(r·f)
  }

  /** The update a full block would add to x: attn(ln_1(x)) + mlp(ln_2(x + attn(ln_1(x)))). x (B, K, C). */
  update(x: Tensor, pos: Int32Array): Tensor {
    const a = this.attn.forward(this.ln1.forward(x), pos); // (B, K, C)
    const m = this.mlp.forward(this.ln2.forward(add(x, a))); // (B, K, C)
    return add(a, m); // (B, K, C)
  }

  /**
   * Token-by-token decoding needs a causal routing rule (top-k over a sequence is not causal); until that exists a
   * routed block refuses to decode rather than silently processing every token.
   */
  override prefill(_x: Tensor, _pos: Int32Array, _caches: readonly LayerCache[]): Tensor {
    throw new Error('KV-cache decoding of a Mixture-of-Depths block needs a causal routing rule, which this version lacks');
  }

  override decode(_x: Tensor, _pos: Int32Array, _caches: readonly LayerCache[]): Tensor {
    throw new Error('KV-cache decoding of a Mixture-of-Depths block needs a causal routing rule, which this version lacks');
  }

  /** Router logits (B, T), or uniform random scores (no gradient) under `random` routing. */
  private score(x: Tensor, b: number, t: number): Tensor {
    if (this.router !== null) return reshape(linear(x, this.router.weight, null), [b, t]); // (B, T)
    const s = output([b, t]);
    for (let i = 0; i < s.size; i++) s.data[i] = this.routingRng.next();
    return s;
  }
}

/** posSel (B, K)[b, j] = pos[b, idx[b, j]]. */
export function gatherPositions(pos: Int32Array, idx: Int32Array, b: number, t: number, k: number): Int32Array {
  const out = tempInts(b * k);
  for (let i = 0; i < b; i++) for (let j = 0; j < k; j++) out[i * k + j] = pos[i * t + idx[i * k + j]!]!;
  return out;
}
