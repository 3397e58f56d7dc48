// The GPT, in the reading order of nanoGPT's model.py: pre-LN blocks, learned or rotary positions, optional
// biases, optionally tied input/output embeddings. Parameter names follow nanoGPT / HF GPT-2
// (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ..., `lm_head.weight`). With a `mod` config
// section, every `every`-th block is a Mixture-of-Depths routed block (src/model/mod.ts); otherwise it is dense.
// A MoD model's training loss adds the causal rule's BCE (auxWeight · Σ routed blocks); KV-cache decoding (prefill,
// decodeStep) always routes by the causal rule, and forward(..., 'causal') makes the full forward do the same.
// Every forward returns what its routed blocks decided (GPTOutput.routing), so callers count and plot from it.
import { isGradEnabled, tempInts } from '../engine/autograd.js';
import { add, crossEntropy, linear, scale, selectTime, sequencePositions } from '../engine/ops.js';
import { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import { Block } from './block.js';
import { isRouted, type ModelConfig } from './config.js';
import type { KVCache } from './kv-cache.js';
import { RoutedBlock, type RoutedOutput, type RoutingMode } from './mod.js';

export { Block } from './block.js';

/** A routed block's decision in one forward pass, with its layer index. */
export interface LayerRouting extends Omit<RoutedOutput, 'x'> {
  layer: number;
}

export interface GPTOutput {
  logits: Tensor; // (B, T, V)
  /** Mean cross-entropy over the targets >= 0, when targets are given. */
  loss?: Tensor;
  /** Σ over routed blocks of the causal rule's BCE against top-k membership (MoD, top-k routing, grad enabled). */
  causalLoss?: Tensor;
  /** What training minimises: loss + auxWeight · causalLoss (= loss when there is no causal term). */
  trainingLoss?: Tensor;
  /** One entry per routed block, in layer order (empty for a dense model). */
  routing: LayerRouting[];
}

export interface HiddenOutput {
  /** (B, T, C) final hidden states, after ln_f. */
  hidden: Tensor;
  routing: LayerRouting[];
}

/** Logits of the last position of a prefill or decode step, and what each routed block decided. */
export interface StepOutput {
  logits: Tensor; // (B, V)
  /** Per routed block: the processed positions of each sequence (prefill) or the processed batch rows (decode). */
  routing: Array<{ layer: number; processed: Int32Array[] }>;
}

export class GPT extends Module {
  readonly config: ModelConfig;
  readonly wte: Embedding; // (V, C)
  readonly wpe: Embedding | null; // (blockSize, C), learned positions only
  readonly h: Array<Block | RoutedBlock>;
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

  /** ids (B, T) → the final hidden states (B, T, C), after ln_f, and the routed blocks' decisions. */
  hidden(ids: Int32Array, b: number, t: number, mode: RoutingMode = 'topk'): HiddenOutput {
    if (t > this.config.blockSize) throw new Error(`sequence length ${t} exceeds blockSize ${this.config.blockSize}`);
    if (ids.length !== b * t) throw new Error(`${ids.length} token ids for B·T = ${b}·${t}`);
    const pos = sequencePositions(b, t); // (B, T)
    let x = this.embed(ids, pos, [b, t]); // (B, T, C)
    const routing: LayerRouting[] = [];
    this.h.forEach((block, layer) => {
      if (block instanceof Block) {
        x = block.forward(x, pos); // (B, T, C)
        return;
      }
      const { x: y, ...decision } = block.forward(x, pos, mode);
      x = y; // (B, T, C)
      routing.push({ layer, ...decision });
    });
    return { hidden: this.lnF.forward(x), routing }; // (B, T, C)
  }

  /** Token ids plus learned position embeddings (if any), shape [...lead, C]. */
  private embed(ids: Int32Array, pos: Int32Array, lead: number[]): Tensor {
    const x = this.wte.forward(ids, lead);
    return this.wpe === null ? x : add(x, this.wpe.forward(pos, lead));
  }

  /** Hidden states (..., C) → logits (..., V), through lm_head or the tied token embedding. */
  head(x: Tensor): Tensor {
    // wte.weight (V, C) is already laid out as a linear layer's (out, in) weight.
    return this.lmHead !== null ? this.lmHead.forward(x) : linear(x, this.wte.weight, null);
  }

  /**
   * ids (B, T) and optional targets (B, T) (< 0 = ignored) → logits (B, T, V), the mean loss and the training loss.
   * mode: how routed blocks route, top-k (training, the default) or by their causal rule (what decoding does).
   */
  forward(ids: Int32Array, b: number, t: number, targets?: Int32Array, mode: RoutingMode = 'topk'): GPTOutput {
    const { hidden, routing } = this.hidden(ids, b, t, mode);
    const logits = this.head(hidden); // (B, T, V)
    if (targets === undefined) return { logits, routing };
    const loss = crossEntropy(logits, targets);
    const terms = routing.flatMap((r) => (r.causalLoss === null ? [] : [r.causalLoss]));
    if (terms.length === 0) return { logits, loss, trainingLoss: loss, routing };
    const causalLoss = terms.reduce((a, l) => add(a, l));
    return { logits, loss, causalLoss, trainingLoss: add(loss, scale(causalLoss, this.config.mod!.auxWeight)), routing };
  }

  /** The Mixture-of-Depths blocks, in layer order. */
  routedBlocks(): RoutedBlock[] {
    return this.h.filter((blk): blk is RoutedBlock => blk instanceof RoutedBlock);
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

  /**
   * Logits (B, V) of the last position only, for sampling (the head runs on one row per sequence). Routed blocks
   * use their causal rule, as decoding must.
   */
  lastLogits(ids: Int32Array, b: number, t: number): Tensor {
    return this.head(selectTime(this.hidden(ids, b, t, 'causal').hidden, t - 1)); // (B, V)
  }

  // ---------------------------------------------------------------- KV-cache decoding (under noGrad)

  /**
   * Starts a new window: empties `cache`, runs ids (B, T) through the model exactly as lastLogits does (the same ops,
   * so the logits are bit-identical), filling every layer's cache with the keys and values of positions 0..T-1 (a
   * routed block: of the tokens its causal rule processes). Returns the logits (B, V) of the last position.
   */
  prefill(ids: Int32Array, b: number, t: number, cache: KVCache): StepOutput {
    this.checkDecode(cache, b);
    if (t < 1 || t > this.config.blockSize) throw new Error(`prefill: ${t} tokens; a window holds 1..${this.config.blockSize}`);
    if (ids.length !== b * t) throw new Error(`${ids.length} token ids for B·T = ${b}·${t}`);
    cache.clear();
    const pos = sequencePositions(b, t); // (B, T)
    let x = this.embed(ids, pos, [b, t]); // (B, T, C)
    const routing: StepOutput['routing'] = [];
    this.h.forEach((block, layer) => {
      if (block instanceof Block) {
        x = block.prefill(x, pos, cache.layers[layer]!); // (B, T, C)
        return;
      }
      const out = block.prefill(x, pos, cache.layers[layer]!);
      x = out.x; // (B, T, C)
      routing.push({ layer, processed: out.processed });
    });
    cache.nextPos.fill(t);
    return { logits: this.head(selectTime(this.lnF.forward(x), t - 1)), routing }; // (B, V)
  }

  /**
   * Feeds one token per sequence, tokens (B), at each sequence's next position, through every layer's cache; returns
   * its logits (B, V) and, per routed block, the batch rows it processed. Needs room in the cache (positions <
   * blockSize): when it is full, start a new window.
   */
  decodeStep(tokens: Int32Array, cache: KVCache): StepOutput {
    const b = tokens.length;
    this.checkDecode(cache, b);
    if (cache.full()) throw new Error(`decodeStep: the KV cache is full (blockSize ${this.config.blockSize}); prefill a cropped window`);
    const pos = tempInts(b); // (B)
    pos.set(cache.nextPos);
    let x = this.embed(tokens, pos, [b]); // (B, C)
    const routing: StepOutput['routing'] = [];
    this.h.forEach((block, layer) => {
      if (block instanceof Block) {
        x = block.decode(x, pos, cache.layers[layer]!); // (B, C)
        return;
      }
      const out = block.decode(x, pos, cache.layers[layer]!);
      x = out.x; // (B, C)
      routing.push({ layer, processed: [out.rows] });
    });
    for (let i = 0; i < b; i++) cache.nextPos[i]!++;
    return { logits: this.head(this.lnF.forward(x)), routing }; // (B, V)
  }

  private checkDecode(cache: KVCache, b: number): void {
    if (isGradEnabled()) throw new Error('KV-cache decoding has no gradient: run it inside noGrad()');
    const { blockSize, nEmbd } = this.config;
    if (cache.batch !== b || cache.layers.length !== this.h.length || cache.capacity !== blockSize || cache.width !== nEmbd) {
      throw new Error(`KV cache (batch ${cache.batch}, ${cache.layers.length} layers, capacity ${cache.capacity}, width ${cache.width}) does not fit B = ${b} and this model (${this.h.length} layers, blockSize ${blockSize}, nEmbd ${nEmbd})`);
    }
  }
}
