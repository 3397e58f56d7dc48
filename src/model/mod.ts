// Mixture-of-Depths routed block (Raposo et al. 2024, arXiv 2404.02258, section 3).
//
// For each sequence separately, a router r = w·x (one scalar per token) scores the T tokens; the k = routedK(c, T)
// tokens with the highest r (ties to the earlier position, exactly k) are gathered in position order and only they
// run the block's attention and MLP — attention is causal among them by their ORIGINAL positions (RoPE included).
// The block's residual-free update f = block(x̃) − x̃ is scaled by the router weight and added back:
//     x_i ← x_i + r_i · f_i   for selected i,      x_i unchanged otherwise,
// which puts the router on the gradient path. Nothing is computed for unselected tokens: cost is proportional to k.
//
// Top-k over a sequence is not causal, so decoding uses a causal rule (section 3.5, docs/causal-routing.md): a
// per-token logit z, processed iff z > causalBias (0: sigmoid(z) > 0.5). z is the router logit r itself, trained
// by an auxiliary BCE towards top-k membership (`aux`), or the output of a small MLP reading the block input
// through a stop-gradient and trained by the same BCE (`predictor`). Under causal routing (forward mode 'causal',
// prefill, decode) the processed tokens of each sequence attend only to each other, and only they enter the
// block's KV cache; a skipped token costs just its logit.
//
// forward() returns its output together with its decision (RoutedOutput), as nanoGPT's forward returns (logits,
// loss): which tokens it processed, the causal logits and the causal rule's BCE. Nothing is left in fields.
import { add, bceWithLogits, detach, gatherRows, gelu, linear, reshape, rowScale, scatterAddRows, sigmoid, topk } from '../engine/ops.js';
import { isGradEnabled, output, tempInts } from '../engine/autograd.js';
import type { Tensor } from '../engine/tensor.js';
import { Rng } from '../engine/rng.js';
import type { LayerCache } from '../nn/layer-cache.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BlockLayers } from './block.js';
import type { ModConfig, ModelConfig } from './config.js';
import { routedK } from './config.js';

/** `topk`: the training behaviour; `causal`: each token by the causal rule alone (sampling, evaluation). */
export type RoutingMode = 'topk' | 'causal';

/** Top-k routing's choice in one forward pass. */
export interface TopkRouting {
  b: number;
  t: number;
  k: number;
  /** (B, K) selected positions per sequence, ascending. */
  idx: Int32Array;
  /** (B, T) router logits r, or the random scores under `random` routing. */
  scores: Tensor;
}

/**
 * A routed block's forward result: its output and what it decided. Tensors are the forward's own (pooled) outputs,
 * valid until releaseGraph().
 */
export interface RoutedOutput {
  /** (B, T, C) */
  x: Tensor;
  mode: RoutingMode;
  /** Top-k mode: the selection and the scores it was made on; null under causal routing. */
  topk: TopkRouting | null;
  /** Per sequence, the positions this block processed, ascending. */
  processed: Int32Array[];
  /** (B, T) the causal rule's logits z on this block's input (under `aux` the router logits themselves). */
  causalLogits: Tensor;
  /** Top-k training (grad enabled, auxWeight > 0): the BCE of z against top-k membership; else null. */
  causalLoss: Tensor | null;
}

/** One decode step of a routed block: its output (B, C) and the batch rows it processed, ascending. */
export interface RoutedDecode {
  x: Tensor;
  rows: Int32Array;
}

/** The causal predictor: C → hidden → 1 with GELU, on the detached block input (nothing flows back). */
export class CausalPredictor extends Module {
  readonly fc: Linear; // (H, C)
  readonly proj: Linear; // (1, H)

  constructor(c: number, hidden: number, rng: Rng) {
    super();
    this.fc = this.addModule('fc', new Linear(c, hidden, { bias: true, rng }));
    this.proj = this.addModule('proj', new Linear(hidden, 1, { bias: true, rng }));
  }

  /** (..., C) → (..., 1) logits */
  forward(x: Tensor): Tensor {
    return this.proj.forward(gelu(this.fc.forward(x)));
  }
}

/** Seed of a predictor's init stream when a block is built without one (tests). */
const PREDICTOR_SEED = 0x5bd1e995;

export class RoutedBlock extends BlockLayers {
  readonly mod: ModConfig;
  /** (1, C): r = router · x. Absent under `random` routing. */
  readonly router: Linear | null;
  /** The causal rule's MLP under causal = 'predictor'. */
  readonly predictor: CausalPredictor | null;
  /** Draws the scores of `random` routing. */
  private readonly routingRng: Rng;
  /**
   * The causal rule's threshold: a token is processed iff z > causalBias. 0 is sigmoid(z) > 0.5, what training
   * targets; calibrateCausalBias sets it for untrained weights (benchmarks, tests).
   */
  causalBias = 0;

  /** predictorRng: the predictor's own init stream, so that the model's init does not depend on it. */
  constructor(config: ModelConfig, mod: ModConfig, rng: Rng, routingRng: Rng, predictorRng?: Rng) {
    super(config, rng);
    this.mod = mod;
    this.routingRng = routingRng;
    this.router = mod.routing === 'learned' ? this.addModule('router', new Linear(config.nEmbd, 1, { bias: false, rng })) : null;
    this.predictor = mod.causal === 'predictor'
      ? this.addModule('predictor', new CausalPredictor(config.nEmbd, mod.predictorHidden, predictorRng ?? new Rng(PREDICTOR_SEED)))
      : null;
    if (this.predictor === null && this.router === null) throw new Error(`causal='aux' needs a router, which routing='random' lacks`);
  }

  /**
   * x (B, T, C), pos (B, T) → (B, T, C) and the routing decision. Top-k: k = routedK(capacity, T) tokens per
   * sequence are processed; causal: those with z > causalBias.
   */
  forward(x: Tensor, pos: Int32Array, mode: RoutingMode = 'topk'): RoutedOutput {
    if (mode === 'causal') return this.causalForward(x, pos, null);
    const [b, t, c] = x.shape as [number, number, number];
    const k = routedK(this.mod.capacity, t);
    const scores = this.score(x, b, t); // (B, T)
    const idx = topk(scores, k); // (B, K), ascending positions, no gradient
    const causalLogits = this.predictor !== null ? this.causalLogits(x) : scores; // (B, T)
    const train = isGradEnabled() && this.mod.auxWeight > 0;
    const causalLoss = train ? bceWithLogits(causalLogits, topkTargets(idx, b, t, k)) : null;
    const processed = Array.from({ length: b }, (_, i) => idx.subarray(i * k, (i + 1) * k));
    const decision = { mode, topk: { b, t, k, idx, scores }, processed, causalLogits, causalLoss };
    if (k === 0) return { x, ...decision };

    const xs = gatherRows(x, idx, k); // (B, K, C)
    const posSel = gatherPositions(pos, idx, b, t, k); // (B, K) original positions
    const f = this.update(xs, posSel); // (B, K, C) residual-free block output
    if (this.router === null) return { x: scatterAddRows(x, f, idx), ...decision }; // random routing: no router weight
    const r = reshape(gatherRows(reshape(scores, [b, t, 1]), idx, k), [b * k]); // (B·K) router logits of the chosen
    const w = this.mod.routerWeight === 'sigmoid' ? sigmoid(r) : r;
    const scaled = reshape(rowScale(reshape(f, [b * k, c]), w), [b, k, c]); // (B, K, C)  r_i · f_i
    return { x: scatterAddRows(x, scaled, idx), ...decision }; // (B, T, C)  x + scatter(r·f)
  }

  /** The causal rule's logits z for x (..., C) → (...): the predictor's, or the router's under `aux`. */
  causalLogits(x: Tensor): Tensor {
    const lead = x.shape.slice(0, -1);
    if (this.predictor !== null) return reshape(this.predictor.forward(detach(x)), lead);
    return reshape(linear(x, this.router!.weight, null), lead);
  }

  /** The causal forward, filling caches[b] with the keys and values of exactly the processed tokens of sequence b. */
  prefill(x: Tensor, pos: Int32Array, caches: readonly LayerCache[]): RoutedOutput {
    return this.causalForward(x, pos, caches);
  }

  /**
   * One token per sequence, x (B, C) at positions pos (B): the tokens the causal rule processes attend to (and are
   * appended to) their caches and get x + w(r)·f; the others pass unchanged and are not cached.
   */
  decode(x: Tensor, pos: Int32Array, caches: readonly LayerCache[]): RoutedDecode {
    const [b, c] = x.shape as [number, number];
    const rows = this.decide(this.causalLogits(x).data, 0, b, 0); // (N) processed rows
    const n = rows.length;
    if (n === 0) return { x, rows };
    const x3 = reshape(x, [1, b, c]);
    const xs = reshape(gatherRows(x3, rows, n), [n, c]); // (N, C)
    const p = tempInts(n);
    const cs: LayerCache[] = [];
    for (let j = 0; j < n; j++) {
      p[j] = pos[rows[j]!]!;
      cs.push(caches[rows[j]!]!);
    }
    const a = this.attn.decode(this.ln1.forward(xs), p, cs); // (N, C)
    const f = add(a, this.mlp.forward(this.ln2.forward(add(xs, a)))); // (N, C)
    return { x: reshape(scatterAddRows(x3, reshape(this.weighted(xs, f), [1, n, c]), rows), [b, c]), rows }; // (B, C)
  }

  /**
   * Causal routing of x (B, T, C): per sequence, the tokens with z > causalBias (a variable number N_b) run the
   * block among themselves by their original positions, x ← x + w(r)·f; with caches, caches[b] gets their keys and
   * values. Sequences are processed one at a time on the flattened (1, B·T, C) view.
   */
  private causalForward(x: Tensor, pos: Int32Array, caches: readonly LayerCache[] | null): RoutedOutput {
    const [b, t, c] = x.shape as [number, number, number];
    const causalLogits = this.causalLogits(x); // (B, T)
    const flat = reshape(x, [1, b * t, c]);
    let out = flat;
    const processed: Int32Array[] = [];
    for (let i = 0; i < b; i++) {
      const idx = this.decide(causalLogits.data, i * t, t, i * t); // (1, N) rows of the flat view
      const n = idx.length;
      processed.push(idx.map((row) => row - i * t));
      if (n === 0) continue;
      const p = tempInts(n);
      for (let j = 0; j < n; j++) p[j] = pos[idx[j]!]!;
      const xs = gatherRows(flat, idx, n); // (1, N, C)
      const f = this.update(xs, p, caches === null ? undefined : caches[i]!); // (1, N, C)
      out = scatterAddRows(out, this.weighted(xs, f), idx); // (1, B·T, C)
    }
    return { x: reshape(out, [b, t, c]), mode: 'causal', topk: null, processed, causalLogits, causalLoss: null };
  }

  /** f (..., N, C) scaled per row by the router weight w(r), r = router · xs (the training rule); as is without router. */
  private weighted(xs: Tensor, f: Tensor): Tensor {
    if (this.router === null) return f;
    const c = f.shape[f.shape.length - 1]!;
    const n = f.size / c;
    const r = reshape(linear(xs, this.router.weight, null), [n]); // (N)
    const w = this.mod.routerWeight === 'sigmoid' ? sigmoid(r) : r;
    return reshape(rowScale(reshape(f, [n, c]), w), f.shape);
  }

  /** Indices base + j of the j in [0, n) with z[offset + j] > causalBias, ascending. (Protected: tests break it.) */
  protected decide(z: Float32Array, offset: number, n: number, base: number): Int32Array {
    let count = 0;
    for (let j = 0; j < n; j++) if (z[offset + j]! > this.causalBias) count++;
    const idx = tempInts(count);
    let at = 0;
    for (let j = 0; j < n; j++) if (z[offset + j]! > this.causalBias) idx[at++] = base + j;
    return idx;
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

/** BCE targets (B·T): 1 where position t of sequence b is among that sequence's top-k (idx (B, K)), else 0. */
export function topkTargets(idx: Int32Array, b: number, t: number, k: number): Float32Array {
  const y = new Float32Array(b * t);
  for (let i = 0; i < b; i++) for (let j = 0; j < k; j++) y[i * t + idx[i * k + j]!] = 1;
  return y;
}

/** Counts of the causal rule (z > bias) against top-k membership. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Adds the causal rule's decisions (z > bias) of a top-k forward `out` to `into`, against its top-k membership. */
export function addConfusion(into: Confusion, out: Pick<RoutedOutput, 'topk' | 'causalLogits'>, bias: number): Confusion {
  const r = out.topk;
  if (r === null) throw new Error('addConfusion needs a top-k forward; this one routed causally');
  const y = topkTargets(r.idx, r.b, r.t, r.k);
  const z = out.causalLogits.data;
  for (let i = 0; i < y.length; i++) {
    const predicted = z[i]! > bias;
    if (y[i] === 1 && predicted) into.tp++;
    else if (y[i] === 1) into.fn++;
    else if (predicted) into.fp++;
    else into.tn++;
  }
  return into;
}
