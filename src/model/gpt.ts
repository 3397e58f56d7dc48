// The dense GPT, in the reading order of nanoGPT's model.py: pre-LN blocks, learned or rotary positions, optional
// biases, optionally tied input/output embeddings. Parameter names follow nanoGPT / HF GPT-2
// (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ..., `lm_head.weight`).
import { add, crossEntropy, linear, selectTime, sequencePositions } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { CausalSelfAttention } from '../nn/attention.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { MLP } from '../nn/mlp.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
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
}

export interface GPTOutput {
  logits: Tensor; // (B, T, V)
  /** Mean cross-entropy over the targets >= 0, when targets are given. */
  loss?: Tensor;
}

export class GPT extends Module {
  readonly config: ModelConfig;
  readonly wte: Embedding; // (V, C)
  readonly wpe: Embedding | null; // (blockSize, C), learned positions only
  readonly h: Block[];
  readonly lnF: LayerNorm;
  readonly lmHead: Linear | null; // (V, C), null when tied to wte

  constructor(config: ModelConfig, rng: Rng) {
    super();
    this.config = config;
    const { vocabSize: v, blockSize, nEmbd: c } = config;
    this.wte = this.addModule('transformer.wte', new Embedding(v, c, rng));
    this.wpe = config.positions === 'learned' ? this.addModule('transformer.wpe', new Embedding(blockSize, c, rng)) : null;
    this.h = [];
    for (let i = 0; i < config.nLayer; i++) this.h.push(this.addModule(`transformer.h.${i}`, new Block(config, rng)));
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
    return { logits, loss: crossEntropy(logits, targets) };
  }

  /** Logits (B, V) of the last position only, for sampling (the head runs on one row per sequence). */
  lastLogits(ids: Int32Array, b: number, t: number): Tensor {
    return this.head(selectTime(this.hidden(ids, b, t), t - 1)); // (B, V)
  }
}
