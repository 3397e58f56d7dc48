// The full forward pass of a checkpoint's model as an ONNX graph (opset 17, static T, symbolic batch, weights
// embedded under their checkpoint names): input_ids (batch, T) int64 → logits (batch, T, V) float32.
// Built from the config and the tensors alone (src/export/source.ts); docs/export.md maps each op.
//
// A routed block under top-k: TopK over the router logits (ties to the lower index, as ours), the k indices sorted
// by position (a second TopK, ascending), GatherElements of the rows, attention among them with a k×k causal mask
// and RoPE at their original positions, the update scaled by w(r) and added back with ScatterElements(add).
// Under the causal rule the number of processed tokens depends on the data, which static shapes cannot express:
// the block runs on all T rows with attention masked to the processed keys (each row also sees itself, so no
// softmax row is empty), and Where keeps the update of processed rows only. Exact, but at dense cost.
// Random routing: the scores are an input, routing_scores (batch, routed blocks, T), since ours draw fresh ones
// on every forward pass.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { headSize, mlpHidden, routedK, type ModelConfig } from '../model/config.js';
import { routedLayers } from '../model/flops.js';
import { ROPE_BASE } from '../nn/attention.js';
import { GraphBuilder, type ValueSpec } from './onnx-graph.js';
import { type CausalBias, causalBiases, type ExportSource, readSource, tensor } from './source.js';
import { ensureDir } from '../train/out-dir.js';

export const ONNX_OPSET = 17;
const LN_EPS = 1e-5;
const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBE = 0.044715;

export type OnnxRouting = 'topk' | 'causal';

export interface OnnxOptions {
  /** Sequence length T of the graph, 1..blockSize. */
  seq: number;
  /** How routed blocks choose their tokens (ignored for a dense model). */
  routing: OnnxRouting;
  /** The causal rule's thresholds (default 0). */
  causalBias?: CausalBias;
}

/** What an export wrote, for the CLI's summary line. */
export interface OnnxSummary {
  bytes: number;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  routedBlocks: number;
  k: number | null;
}

/** Where a block's rows sit: RoPE cos/sin at their positions (broadcastable to (B, H, N, hs/2)) and the mask. */
interface Rows {
  n: number;
  cos: string | null;
  sin: string | null;
  /** bool, broadcastable to (B, H, N, N): row i may attend to row j. */
  mask: string;
}

class ModelGraph {
  readonly g = new GraphBuilder();
  readonly cfg: ModelConfig;
  readonly t: number;
  private readonly params = new Map<string, string>();
  private readonly transposed = new Map<string, string>();
  private ropeTables: [string, string] | null = null;
  private rows: Rows | null = null;
  private positionsName: string | null = null;

  constructor(readonly src: ExportSource, t: number) {
    this.cfg = src.config;
    this.t = t;
  }

  /** The initializer of checkpoint tensor `name` (shape checked against the config). */
  param(name: string, shape: number[]): string {
    const have = this.params.get(name);
    if (have !== undefined) return have;
    const n = this.g.floats(name, tensor(this.src, name, shape).data, shape);
    this.params.set(name, n);
    return n;
  }

  /** x (..., in) → (..., out) with W (out, in) stored as in the checkpoint; Transpose folds at session start. */
  linear(x: string, prefix: string, inF: number, outF: number, bias: boolean): string {
    const w = this.param(`${prefix}.weight`, [outF, inF]);
    let wt = this.transposed.get(w);
    if (wt === undefined) {
      wt = this.g.op('Transpose', [w], { perm: [1, 0] }, `${prefix}.weight_T`);
      this.transposed.set(w, wt);
    }
    const y = this.g.op('MatMul', [x, wt]);
    return bias ? this.g.op('Add', [y, this.param(`${prefix}.bias`, [outF])]) : y;
  }

  layerNorm(x: string, prefix: string): string {
    const c = this.cfg.nEmbd;
    const inputs = [x, this.param(`${prefix}.weight`, [c])];
    if (this.cfg.bias) inputs.push(this.param(`${prefix}.bias`, [c]));
    return this.g.op('LayerNormalization', inputs, { axis: -1, epsilon: { float: LN_EPS } });
  }

  /** gelu(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))), the tanh form of ours (Gelu needs opset 20). */
  gelu(x: string): string {
    const { g } = this;
    const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const u = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, g.scalar('gelu_cube', GELU_CUBE)])]), g.scalar('gelu_scale', GELU_SCALE)]);
    const half = g.op('Mul', [x, g.scalar('half', 0.5)]);
    return g.op('Mul', [half, g.op('Add', [g.op('Tanh', [u]), g.scalar('one', 1)])]);
  }

  mlp(x: string, prefix: string): string {
    const c = this.cfg.nEmbd;
    const h = mlpHidden(this.cfg);
    const fc = this.linear(x, `${prefix}.c_fc`, c, h, this.cfg.bias);
    return this.linear(this.gelu(fc), `${prefix}.c_proj`, h, c, this.cfg.bias);
  }

  /** Causal self-attention of x (B, N, C) among its rows → (B, N, C). */
  attention(x: string, prefix: string, rows: Rows): string {
    const { g, cfg } = this;
    const { n } = rows;
    const c = cfg.nEmbd;
    const hs = headSize(cfg);
    const qkv = this.linear(x, `${prefix}.c_attn`, c, 3 * c, cfg.bias); // (B, N, 3C)
    const parts = g.node('Split', [qkv, g.ints('split', [c, c, c])], { axis: -1 }, 3);
    const heads = (y: string): string => g.op('Transpose', [g.op('Reshape', [y, g.ints('shape', [-1, n, cfg.nHead, hs])])], { perm: [0, 2, 1, 3] });
    let [q, k, v] = parts.map(heads) as [string, string, string]; // (B, H, N, hs)
    if (rows.cos !== null && rows.sin !== null) [q, k] = [this.rope(q, rows), this.rope(k, rows)];
    const kt = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const scores = g.op('Mul', [g.op('MatMul', [q, kt]), g.scalar('attn_scale', 1 / Math.sqrt(hs))]); // (B, H, N, N)
    const masked = g.op('Where', [rows.mask, scores, g.scalar('neg_inf', -Infinity)]);
    const y = g.op('MatMul', [g.op('Softmax', [masked], { axis: -1 }), v]); // (B, H, N, hs)
    const merged = g.op('Reshape', [g.op('Transpose', [y], { perm: [0, 2, 1, 3] }), g.ints('shape', [-1, n, c])]);
    return this.linear(merged, `${prefix}.c_proj`, c, c, cfg.bias);
  }

  /** Rotates the pairs (x[2i], x[2i+1]) of x (B, H, N, hs) by the angles of rows.cos/sin, as ours. */
  rope(x: string, rows: Rows): string {
    const { g, cfg } = this;
    const hs = headSize(cfg);
    const pairs = g.op('Reshape', [x, g.ints('shape', [-1, cfg.nHead, rows.n, hs / 2, 2])]);
    const [x0, x1] = [0, 1].map((i) => g.op('Gather', [pairs, g.ints('pair', [i], [])], { axis: 4 })) as [string, string];
    const cos = rows.cos!;
    const sin = rows.sin!;
    const o0 = g.op('Sub', [g.op('Mul', [x0, cos]), g.op('Mul', [x1, sin])]);
    const o1 = g.op('Add', [g.op('Mul', [x0, sin]), g.op('Mul', [x1, cos])]);
    const last = g.ints('axes', [4]);
    const both = g.op('Concat', [g.op('Unsqueeze', [o0, last]), g.op('Unsqueeze', [o1, last])], { axis: 4 });
    return g.op('Reshape', [both, g.ints('shape', [-1, cfg.nHead, rows.n, hs])]);
  }

  /** cos and sin (blockSize, hs/2) of every RoPE angle, rounded to float32 as ours. */
  ropeTable(): [string, string] {
    if (this.ropeTables !== null) return this.ropeTables;
    const hs = headSize(this.cfg);
    const { blockSize } = this.cfg;
    const cos = new Float32Array(blockSize * (hs / 2));
    const sin = new Float32Array(blockSize * (hs / 2));
    for (let p = 0; p < blockSize; p++) {
      for (let i = 0; i < hs / 2; i++) {
        const a = p * Math.pow(ROPE_BASE, -(2 * i) / hs);
        cos[p * (hs / 2) + i] = Math.cos(a);
        sin[p * (hs / 2) + i] = Math.sin(a);
      }
    }
    this.ropeTables = [this.g.floats('rope_cos', cos, [blockSize, hs / 2]), this.g.floats('rope_sin', sin, [blockSize, hs / 2])];
    return this.ropeTables;
  }

  /** cos/sin at positions `pos` ((N) or (B, N) int64), shaped to broadcast against (B, H, N, hs/2). */
  ropeAt(pos: string, perSequence: boolean): [string | null, string | null] {
    if (this.cfg.positions !== 'rope') return [null, null];
    const at = (table: string): string => {
      const rows = this.g.op('Gather', [table, pos], { axis: 0 }); // (N, hs/2) or (B, N, hs/2)
      return perSequence ? this.g.op('Unsqueeze', [rows, this.g.ints('axes', [1])]) : rows;
    };
    const [cos, sin] = this.ropeTable();
    return [at(cos), at(sin)];
  }

  /** The rows 0..T-1 of every sequence under the ordinary causal mask. */
  allRows(): Rows {
    if (this.rows === null) {
      const [cos, sin] = this.cfg.positions === 'rope' ? this.ropeAt(this.positions(), false) : [null, null];
      this.rows = { n: this.t, cos, sin, mask: this.causalMask(this.t) };
    }
    return this.rows;
  }

  /** (T) int64: 0..T-1. */
  positions(): string {
    this.positionsName ??= this.g.ints('positions', Array.from({ length: this.t }, (_, i) => i));
    return this.positionsName;
  }

  /** bool (n, n): j <= i. */
  causalMask(n: number, diagonalOnly = false): string {
    const m = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) if (!diagonalOnly || i === j) m[i * n + j] = 1;
    const f = this.g.floats(diagonalOnly ? 'eye' : 'causal_mask', m, [n, n]);
    return this.g.op('Cast', [f], { to: 9 }); // 9 = BOOL; folded at session start
  }

  update(x: string, prefix: string, rows: Rows): string {
    const a = this.attention(this.layerNorm(x, `${prefix}.ln_1`), `${prefix}.attn`, rows);
    const m = this.mlp(this.layerNorm(this.g.op('Add', [x, a]), `${prefix}.ln_2`), `${prefix}.mlp`);
    return this.g.op('Add', [a, m]);
  }

  denseBlock(x: string, prefix: string, rows: Rows): string {
    const h = this.g.op('Add', [x, this.attention(this.layerNorm(x, `${prefix}.ln_1`), `${prefix}.attn`, rows)]);
    return this.g.op('Add', [h, this.mlp(this.layerNorm(h, `${prefix}.ln_2`), `${prefix}.mlp`)]);
  }

  /** Router logits r (B, T), or null under random routing. */
  router(x: string, prefix: string): string | null {
    if (this.cfg.mod?.routing !== 'learned') return null;
    const r = this.linear(x, `${prefix}.router`, this.cfg.nEmbd, 1, false);
    return this.g.op('Reshape', [r, this.g.ints('shape', [-1, this.t])]);
  }

  /** w(r) (B, N) → f (B, N, C) scaled per row. */
  scale(f: string, r: string): string {
    const w = this.cfg.mod!.routerWeight === 'sigmoid' ? this.g.op('Sigmoid', [r]) : r;
    return this.g.op('Mul', [f, this.g.op('Unsqueeze', [w, this.g.ints('axes', [2])])]);
  }

  topkBlock(x: string, prefix: string, scores: string | null): string {
    const { g, cfg } = this;
    const c = cfg.nEmbd;
    const k = routedK(cfg.mod!.capacity, this.t);
    const r = this.router(x, prefix);
    const s = r ?? scores!;
    const kk = g.ints('k', [k]);
    const chosen = g.node('TopK', [s, kk], { axis: -1, largest: 1, sorted: 1 }, 2, 'topk')[1]!; // (B, K) by score
    const ascending = g.node('TopK', [g.op('Cast', [chosen], { to: 1 }), kk], { axis: -1, largest: 0, sorted: 1 }, 2, 'by_position')[0]!;
    const idx = g.op('Cast', [ascending], { to: 7 }); // (B, K) int64, ascending positions
    const idxC = g.op('Expand', [g.op('Unsqueeze', [idx, g.ints('axes', [2])]), g.ints('shape', [1, 1, c])]); // (B, K, C)
    const xs = g.op('GatherElements', [x, idxC], { axis: 1 }); // (B, K, C)
    // Distinct ascending positions: the k×k lower triangle is exactly "pos_j <= pos_i".
    const [cos, sin] = this.ropeAt(idx, true);
    let f = this.update(xs, prefix, { n: k, cos, sin, mask: this.causalMask(k) });
    if (r !== null) f = this.scale(f, g.op('GatherElements', [r, idx], { axis: 1 }));
    return g.op('ScatterElements', [x, idxC, f], { axis: 1, reduction: 'add' });
  }

  /** The causal rule's logits z (B, T): the predictor MLP's, or the router's under `aux`. */
  causalLogits(x: string, prefix: string, r: string | null): string {
    const mod = this.cfg.mod!;
    if (mod.causal === 'aux') return r!;
    const c = this.cfg.nEmbd;
    const h = this.linear(x, `${prefix}.predictor.fc`, c, mod.predictorHidden, true);
    const z = this.linear(this.gelu(h), `${prefix}.predictor.proj`, mod.predictorHidden, 1, true);
    return this.g.op('Reshape', [z, this.g.ints('shape', [-1, this.t])]);
  }

  causalBlock(x: string, prefix: string, bias: number): string {
    const { g } = this;
    const r = this.router(x, prefix);
    const sel = g.op('Greater', [this.causalLogits(x, prefix, r), g.scalar('causal_bias', bias)]); // (B, T) bool
    const keys = g.op('Or', [g.op('Unsqueeze', [sel, g.ints('axes', [1, 2])]), this.causalMask(this.t, true)]); // (B, 1, T, T)
    const rows = this.allRows();
    let f = this.update(x, prefix, { ...rows, mask: g.op('And', [rows.mask, keys]) });
    if (r !== null) f = this.scale(f, r);
    const kept = g.op('Where', [g.op('Unsqueeze', [sel, g.ints('axes', [2])]), f, g.scalar('zero', 0)]);
    return g.op('Add', [x, kept]);
  }

  /** logits (B, T, V) from input_ids (B, T), and routing_scores (B, routed, T) under random top-k routing. */
  build(routing: OnnxRouting, causalBias: number[]): { inputs: ValueSpec[]; outputs: ValueSpec[]; routed: number } {
    const { g, cfg, t } = this;
    const c = cfg.nEmbd;
    const routed = routedLayers(cfg);
    const inputs: ValueSpec[] = [{ name: 'input_ids', type: 'int64', shape: ['batch', t] }];
    const randomScores = routed.length > 0 && cfg.mod!.routing === 'random' && routing === 'topk';
    if (randomScores) inputs.push({ name: 'routing_scores', type: 'float32', shape: ['batch', routed.length, t] });

    let x = g.op('Gather', [this.param('transformer.wte.weight', [cfg.vocabSize, c]), 'input_ids'], { axis: 0 }); // (B, T, C)
    if (cfg.positions === 'learned') {
      const wpe = g.op('Gather', [this.param('transformer.wpe.weight', [cfg.blockSize, c]), this.positions()], { axis: 0 });
      x = g.op('Add', [x, wpe]);
    }
    for (let i = 0; i < cfg.nLayer; i++) {
      const prefix = `transformer.h.${i}`;
      const j = routed.indexOf(i);
      if (j < 0) x = this.denseBlock(x, prefix, this.allRows());
      else if (routing === 'causal') x = this.causalBlock(x, prefix, causalBias[j]!);
      else x = this.topkBlock(x, prefix, randomScores ? g.op('Gather', ['routing_scores', g.ints('block', [j], [])], { axis: 1 }) : null);
    }
    const h = this.layerNorm(x, 'transformer.ln_f');
    const head = cfg.tiedEmbeddings ? 'transformer.wte' : 'lm_head';
    const logits = this.linear(h, head, c, cfg.vocabSize, false);
    g.identity(logits, 'logits');
    return { inputs, outputs: [{ name: 'logits', type: 'float32', shape: ['batch', t, cfg.vocabSize] }], routed: routed.length };
  }
}

/** The ONNX model bytes of `src`'s forward pass. */
export function buildOnnx(src: ExportSource, opts: OnnxOptions): { bytes: Uint8Array; summary: OnnxSummary } {
  const { blockSize } = src.config;
  if (!Number.isInteger(opts.seq) || opts.seq < 1 || opts.seq > blockSize) {
    throw new ConfigError(`--seq ${opts.seq} is outside 1..${blockSize}: the model's context length is blockSize = ${blockSize}`);
  }
  const biases = causalBiases(opts.causalBias, routedLayers(src.config).length);
  const graph = new ModelGraph(src, opts.seq);
  const { inputs, outputs, routed } = graph.build(opts.routing, biases);
  const mod = src.config.mod;
  const k = routed > 0 && opts.routing === 'topk' ? routedK(mod!.capacity, opts.seq) : null;
  const doc = routed === 0 ? 'dense GPT' : `Mixture-of-Depths, ${routed} routed blocks, ${opts.routing === 'topk' ? `top-k routing (k = ${k} of ${opts.seq})` : `causal rule (z > ${biases.join(', ')})`}`;
  const bytes = graph.g.encode(inputs, outputs, ONNX_OPSET, `mixture-of-depths export: ${doc}`);
  return { bytes, summary: { bytes: bytes.length, inputs, outputs, routedBlocks: routed, k } };
}

/** Reads the checkpoint in `ckptDir` and writes its ONNX graph to `out`. */
export function exportOnnx(ckptDir: string, out: string, opts: Partial<OnnxOptions> = {}): OnnxSummary {
  const src = readSource(ckptDir);
  const { bytes, summary } = buildOnnx(src, { seq: opts.seq ?? src.config.blockSize, routing: opts.routing ?? 'topk', causalBias: opts.causalBias ?? 0 });
  ensureDir(path.dirname(path.resolve(out)));
  writeFileSync(out, bytes);
  return summary;
}
