// The GPT, in the reading order of nanoGPT's model.py: pre-LN blocks, learned or rotary positions, optional
// biases, optionally tied input/output embeddings. Parameter names follow nanoGPT / HF GPT-2
// (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ..., `lm_head.weight`). With a `mod` config
// section, every `every`-th block is a Mixture-of-Depths routed block (src/model/mod.ts); otherwise it is dense.
// A MoD model's training loss adds the causal rule's BCE (auxWeight · Σ routed blocks); KV-cache decoding (prefill,
// decodeStep) always routes by the causal rule, and setRouting('causal') makes the full forward do the same.
import { isGradEnabled, tempInts } from '../engine/autograd.js';
import { add, crossEntropy, linear, scale, selectTime, sequencePositions } from '../engine/ops.js';
import { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import type { KVCache } from '../sample/kv-cache.js';
import { Block } from './block.js';
import { isRouted, type ModelConfig } from './config.js';
import { RoutedBlock, type RoutingMode } from './mod.js';

export { Block } from './block.js';

export interface GPTOutput {
  logits: Tensor; // (B, T, V)
  /** Mean cross-entropy over the targets >= 0, when targets are given. */
  loss?: Tensor;
  /** Σ over routed blocks of the causal rule's BCE against top-k membership (MoD, top-k routing, grad enabled). */
  causalLoss?: Tensor;
  /** What training minimises: loss + auxWeight · causalLoss (= loss when there is no causal term). */
  trainingLoss?: Tensor;
}

export class GPT extends Module {
  readonly config: ModelConfig;
  readonly wte: Embedding; // (V, C)
  readonly wpe: Embedding | null; // (blockSize, C), learned positions only
  readonly h: Block[];
  readonly routingRng: Rng;
  readonly lnF: LayerNorm;
  readonly lmHead: Linear | null; // (V, C), null when tied to wte

  constructor(config: ModelConfig, rng: Rng) {
    super();
    this.config = config;
    const { vocabSize: v, blockSize, nEmbd: c } = config;
    this.wte = this.addModule('transformer.wte', new Embedding(v, c, rng));
    this.wpe = config.positions === 'learned' ? this.addModule('transformer.wpe', new Embedding(blockSize, c, rng)) : null;
    // Scores of `random` routing (the paper's stochastic baseline); its state is checkpointed with the model's.
    this.routingRng = new Rng(config.mod?.routing === 'random' ? rng.nextU32() : 0);
    // The causal predictors' init stream, seeded from the init stream's state without drawing from it: the model's
    // init is the same with or without predictors.
    const predictorRng = new Rng((rng.getState().s[0] ^ 0x5bd1e995) >>> 0);
    this.h = [];
    for (let i = 0; i < config.nLayer; i++) {
      const block = isRouted(config, i) ? new RoutedBlock(config, config.mod!, rng, this.routingRng, predictorRng) : new Block(config, rng);
      this.h.push(this.addModule(`transformer.h.${i}`, block));
    }
    this.lnF = this.addModule('transformer.ln_f', new LayerNorm(c, config.bias));
    this.lmHead = config.tiedEmbeddings ? null : this.addModule('lm_head', new Linear(c, v, { bias: false, rng }));
  }

  /** ids (B, T) → the final hidden states (B, T, C), after ln_f. */
  hidden(ids: Int32Array, b: number, t: number): Tensor {
    if (t > this.config.blockSize) throw new Error(`sequence length ${t} exceeds blockSize ${this.config.blockSize}`);
    if (ids.length !== b * t) throw new Error(`${ids.length} token ids for B·T = ${b}·${t}`);
    const pos = sequencePositions(b, t); // (B, T)
    let x = this.wte.forward(ids, [b, t]); // (B, T, C)
    if (this.wpe !== null) x = add(x, this.wpe.forward(pos, [b, t])); // (B, T, C)
    for (const block of this.h) x = block.forward(x, pos); // (B, T, C)
    return this.lnF.forward(x); // (B, T, C)
  }

  /** Hidden states (..., C) → logits (..., V), through lm_head or the tied token embedding. */
  head(x: Tensor): Tensor {
    // wte.weight (V, C) is already laid out as a linear layer's (out, in) weight.
    return this.lmHead !== null ? this.lmHead.forward(x) : linear(x, this.wte.weight, null);
  }

  /** ids (B, T) and optional targets (B, T) (< 0 = ignored) → logits (B, T, V) and the mean loss. */
  forward(ids: Int32Array, b: number, t: number, targets?: Int32Array): GPTOutput {
    const logits = this.head(this.hidden(ids, b, t)); // (B, T, V)
    if (targets === undefined) return { logits };
    const loss = crossEntropy(logits, targets);
    const terms = this.routedBlocks().flatMap((blk) => (blk.causalLoss === null ? [] : [blk.causalLoss]));
    if (terms.length === 0) return { logits, loss, trainingLoss: loss };
    const causalLoss = terms.reduce((a, l) => add(a, l));
    return { logits, loss, causalLoss, trainingLoss: add(loss, scale(causalLoss, this.config.mod!.auxWeight)) };
  }

  /** The Mixture-of-Depths blocks, in layer order. */
  routedBlocks(): RoutedBlock[] {
    return this.h.filter((blk): blk is RoutedBlock => blk instanceof RoutedBlock);
  }

  /** How the full forward routes: top-k (training, the default) or the causal rule (sampling, evaluation). */
  setRouting(mode: RoutingMode): void {
    for (const blk of this.routedBlocks()) blk.routingMode = mode;
  }

  /**
   * The parameter groups that gradient clipping treats separately: the model's, then the causal predictors' (if
   * any), so that the predictors' gradients cannot change the model's update through a shared clip norm.
   */
  clipGroups(): Tensor[][] {
    const predictor = new Set(this.routedBlocks().flatMap((blk) => blk.predictor?.parameters() ?? []));
    const model = this.parameters().filter((p) => !predictor.has(p));
    return predictor.size === 0 ? [model] : [model, [...predictor]];
  }

  /** Logits (B, V) of the last position only, for sampling (the head runs on one row per sequence). */
  lastLogits(ids: Int32Array, b: number, t: number): Tensor {
    return this.head(selectTime(this.hidden(ids, b, t), t - 1)); // (B, V)
  }

  // ---------------------------------------------------------------- KV-cache decoding (under noGrad)

  /**
   * Starts a new window: empties `cache`, runs ids (B, T) through the model exactly as lastLogits does (the same ops,
   * so the logits are bit-identical; for a MoD model under setRouting('causal')), filling every layer's cache with
   * the keys and values of positions 0..T-1 (a routed block: of the tokens its causal rule processes).
   * Returns the logits (B, V) of the last position.
   */
  prefill(ids: Int32Array, b: number, t: number, cache: KVCache): Tensor {
    this.checkDecode(cache, b);
    if (t < 1 || t > this.config.blockSize) throw new Error(`prefill: ${t} tokens; a window holds 1..${this.config.blockSize}`);
    if (ids.length !== b * t) throw new Error(`${ids.length} token ids for B·T = ${b}·${t}`);
    cache.clear();
    const pos = sequencePositions(b, t); // (B, T)
    let x = this.wte.forward(ids, [b, t]); // (B, T, C)
    if (this.wpe !== null) x = add(x, this.wpe.forward(pos, [b, t])); // (B, T, C)
    this.h.forEach((block, l) => (x = block.prefill(x, pos, cache.layers[l]!))); // (B, T, C)
    cache.nextPos.fill(t);
    return this.head(selectTime(this.lnF.forward(x), t - 1)); // (B, V)
  }

  /**
   * Feeds one token per sequence, tokens (B), at each sequence's next position, through every layer's cache; returns
   * its logits (B, V). Needs room in the cache (positions < blockSize): when it is full, start a new window.
   */
  decodeStep(tokens: Int32Array, cache: KVCache): Tensor {
    const b = tokens.length;
    this.checkDecode(cache, b);
    if (cache.full()) throw new Error(`decodeStep: the KV cache is full (blockSize ${this.config.blockSize}); prefill a cropped window`);
    const pos = tempInts(b); // (B)
    pos.set(cache.nextPos);
    let x = this.wte.forward(tokens, [b]); // (B, C)
    if (this.wpe !== null) x = add(x, this.wpe.forward(pos, [b])); // (B, C)
    this.h.forEach((block, l) => (x = block.decode(x, pos, cache.layers[l]!))); // (B, C)
    for (let i = 0; i < b; i++) cache.nextPos[i]!++;
    return this.head(this.lnF.forward(x)); // (B, V)
  }

  private checkDecode(cache: KVCache, b: number): void {
    if (isGradEnabled()) throw new Error('KV-cache decoding has no gradient: run it inside noGrad()');
    const { blockSize, nEmbd } = this.config;
    if (cache.batch !== b || cache.layers.length !== this.h.length || cache.capacity !== blockSize || cache.width !== nEmbd) {
      throw new Error(`KV cache (batch ${cache.batch}, ${cache.layers.length} layers, capacity ${cache.capacity}, width ${cache.width}) does not fit B = ${b} and this model (${this.h.length} layers, blockSize ${blockSize}, nEmbd ${nEmbd})`);
    }
  }
}
