// Parameter and FLOP accounting for the GPT of src/model/gpt.ts (docs/flops.md gives the formulas and choices).
// A matmul of (m,k)·(k,n) is 2·m·n·k FLOPs; elementwise work (norms, GELU, softmax, residual adds, biases) and
// embedding lookups are not counted. Attention counts the causal pairs a causal kernel computes: n(n+1)/2 per head
// for n tokens. Training = forward + backward = 3 × forward.
import { isRouted, type ModelConfig, mlpHidden, routedK } from './config.js';

/** Backward FLOPs / forward FLOPs: each matmul's backward is two matmuls of the same size (input and weight grads). */
export const BACKWARD_MULTIPLIER = 2;
/** Training (forward + backward) FLOPs / forward FLOPs. */
export const TRAINING_MULTIPLIER = 1 + BACKWARD_MULTIPLIER;

export interface ParamCounts {
  total: number;
  /** total − token embedding − position embedding (see docs/flops.md). */
  nonEmbedding: number;
  tokenEmbedding: number;
  positionEmbedding: number;
  /** One transformer block without its router (all blocks are the same size). */
  perBlock: number;
  /** Router weights of all routed blocks (C each; 0 for dense or `random` routing). */
  routers: number;
  finalNorm: number;
  /** 0 when tied to the token embedding. */
  lmHead: number;
}

/** Parameter counts; names as in the checkpoint (transformer.wte, transformer.h.i.*, lm_head). */
export function paramCounts(cfg: ModelConfig): ParamCounts {
  const C = cfg.nEmbd;
  const H = mlpHidden(cfg);
  const b = cfg.bias ? 1 : 0;
  const norm = C + b * C;
  const attn = 3 * C * C + b * 3 * C + C * C + b * C; // c_attn, c_proj
  const mlp = H * C + b * H + C * H + b * C; // c_fc, c_proj
  const perBlock = 2 * norm + attn + mlp;
  const routers = cfg.mod?.routing === 'learned' ? routedLayers(cfg).length * C : 0;
  const tokenEmbedding = cfg.vocabSize * C;
  const positionEmbedding = cfg.positions === 'learned' ? cfg.blockSize * C : 0;
  const lmHead = cfg.tiedEmbeddings ? 0 : cfg.vocabSize * C;
  const total = tokenEmbedding + positionEmbedding + cfg.nLayer * perBlock + routers + norm + lmHead;
  return { total, nonEmbedding: total - tokenEmbedding - positionEmbedding, tokenEmbedding, positionEmbedding, perBlock, routers, finalNorm: norm, lmHead };
}

/** Indices of the routed blocks of a config (empty for a dense model). */
export function routedLayers(cfg: ModelConfig): number[] {
  return Array.from({ length: cfg.nLayer }, (_, l) => l).filter((l) => isRouted(cfg, l));
}

/** Forward FLOPs of one block, by part. */
export interface BlockFlops {
  /** Tokens the block processed (T for a dense block; capacity·T for a routed one). */
  tokens: number;
  qkv: number;
  /** q·kᵀ over the causal pairs. */
  attnScores: number;
  /** att·v over the causal pairs. */
  attnValues: number;
  attnProj: number;
  mlp: number;
  /** Router and other per-block extras (0 for a dense block). */
  extra: number;
  total: number;
}

/** Causal (query, key) pairs among n tokens: n(n+1)/2. */
export function causalPairs(n: number): number {
  return (n * (n + 1)) / 2;
}

/**
 * Forward FLOPs of a dense block run on `tokens` tokens that attend causally among themselves. A routed
 * (Mixture-of-Depths) block is this with tokens = k selected tokens, plus its router as `extra`.
 */
export function denseBlockFlops(cfg: ModelConfig, tokens: number, extra = 0): BlockFlops {
  const C = cfg.nEmbd;
  const H = mlpHidden(cfg);
  const qkv = 2 * tokens * C * 3 * C;
  // Summed over heads, nHead · headSize = C.
  const attnScores = 2 * causalPairs(tokens) * C;
  const attnValues = 2 * causalPairs(tokens) * C;
  const attnProj = 2 * tokens * C * C;
  const mlp = 2 * tokens * C * H + 2 * tokens * H * C;
  return { tokens, qkv, attnScores, attnValues, attnProj, mlp, extra, total: qkv + attnScores + attnValues + attnProj + mlp + extra };
}

/**
 * Forward FLOPs of block `layer` on a sequence of t tokens. The one place that decides what each layer costs: a
 * routed (Mixture-of-Depths) block runs on k = routedK(capacity, t) tokens, plus its router, a (t, C)·(C, 1)
 * matmul = 2·t·C, over all t tokens (none under `random` routing).
 */
export function layerFlops(cfg: ModelConfig, layer: number, t: number): BlockFlops {
  if (!isRouted(cfg, layer) || !cfg.mod) return denseBlockFlops(cfg, t);
  const router = cfg.mod.routing === 'learned' ? 2 * t * cfg.nEmbd : 0;
  return denseBlockFlops(cfg, routedK(cfg.mod.capacity, t), router);
}

/** Forward FLOPs of the output head on t tokens: (t, C)·(C, V). */
export function lmHeadFlops(cfg: ModelConfig, t: number): number {
  return 2 * t * cfg.nEmbd * cfg.vocabSize;
}

export interface ForwardFlops {
  /** Sequence length. */
  t: number;
  blocks: BlockFlops[];
  lmHead: number;
  /** One forward pass of one sequence of t tokens (logits at every position). */
  perSequence: number;
  /** perSequence / t. */
  perToken: number;
}

/** Forward FLOPs of one sequence of length t (default: the full context blockSize). */
export function forwardFlops(cfg: ModelConfig, t: number = cfg.blockSize): ForwardFlops {
  const blocks = Array.from({ length: cfg.nLayer }, (_, l) => layerFlops(cfg, l, t));
  const lmHead = lmHeadFlops(cfg, t);
  const perSequence = blocks.reduce((s, b) => s + b.total, 0) + lmHead;
  return { t, blocks, lmHead, perSequence, perToken: perSequence / t };
}

export interface TrainingFlops {
  t: number;
  /** Forward + backward of one sequence of t tokens. */
  perSequence: number;
  perToken: number;
}

/** Training (forward + backward) FLOPs of one sequence of length t: 3 × forward. */
export function trainingFlops(cfg: ModelConfig, t: number = cfg.blockSize): TrainingFlops {
  const f = forwardFlops(cfg, t);
  return { t, perSequence: TRAINING_MULTIPLIER * f.perSequence, perToken: TRAINING_MULTIPLIER * f.perToken };
}
