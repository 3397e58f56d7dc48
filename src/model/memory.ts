// How much memory training a config takes, estimated before anything is allocated, and the sizes no typed array can
// hold. The trainer refuses a run whose estimate exceeds the memory available (src/train/resources.ts); `mod info`
// prints the estimate.
//
// Estimate (float32, 4 bytes per number; N = batchSize·T tokens per micro-batch, C = nEmbd, h = mlpRatio·C,
// V = vocabSize, P = parameters, n_l = tokens block l processes: N, or batchSize·k for a routed block):
//   state       = 4·P                          weights, gradients, AdamW m and v
//   activations = 2·Σ_l n_l·((10 + 2·h/C)·C + a_l) + 2·N·C·(nLayer + 2) + 3·N·V
//     per block and token the tape keeps ln1 (C), qkv (3C), the attention output (C), c_proj (C), the residual sum (C),
//     ln2 (C), c_fc (h), GELU (h), the MLP output (C) and the residual sum (C), plus the attention kernel's cache a_l
//     (per token: nHead·T on the reference backend, less on the native one); the backward pass allocates a
//     gradient of the same size for each (the factor 2). Every block's input stream (N·C, and its gradient), the
//     embeddings and the final norm add 2·N·C per layer; the logits, their softmax and its gradient add 3·N·V.
//   bytes       = 4·(state + activations) + the tokens' Int32Arrays (2·4·N per micro-batch, and 2·2·4·N for each of
//                 the evalIters fixed evaluation batches of the two splits).
// Against process.memoryUsage().arrayBuffers after three training steps (the buffer pool then holds a step's peak),
// the estimate was 0.95–1.03× for six configs (C 32–512, 1–6 layers, T 32–256, dense and MoD, native backend);
// test/model/memory.test.ts checks two of them within 0.8–1.25×.
import { kernels } from '../kernels/index.js';
import { headSize, isRouted, mlpHidden, type ModelConfig, routedK } from './config.js';
import { paramCounts, routedLayers } from './flops.js';
import { ConfigError } from '../errors.js';

/** The longest typed array the engine may allocate (V8: 2³² elements; larger lengths are a RangeError). */
export const MAX_ARRAY_ELEMENTS = 2 ** 32;

export interface MemoryEstimate {
  /** Parameters (including causal predictors). */
  params: number;
  /** Bytes of weights, gradients and AdamW moments. */
  stateBytes: number;
  /** Bytes of activations and their gradients at the peak of a step. */
  activationBytes: number;
  totalBytes: number;
}

/** The attention kernel's cache floats for one block of `tokens` tokens per sequence (b sequences). */
function attentionCache(cfg: ModelConfig, b: number, tokens: number): number {
  return kernels().attentionCacheSize({ b, t: tokens, nHead: cfg.nHead, headSize: headSize(cfg), rope: cfg.positions === 'rope', ropeBase: 10000 });
}

/** Parameters of a config, its causal predictors included. */
export function totalParams(cfg: ModelConfig): number {
  const predictors = cfg.mod?.causal === 'predictor' ? routedLayers(cfg).length * (cfg.nEmbd * cfg.mod.predictorHidden + 2 * cfg.mod.predictorHidden + 1) : 0;
  return paramCounts(cfg).total + predictors;
}

/**
 * Memory to train `cfg` with micro-batches of `batchSize` sequences of blockSize tokens, holding `evalIters` fixed
 * evaluation batches per split (see the formula above).
 */
export function trainingMemory(cfg: ModelConfig, batchSize: number, evalIters = 0): MemoryEstimate {
  const T = cfg.blockSize;
  const C = cfg.nEmbd;
  const N = batchSize * T;
  const perToken = 10 * C + 2 * mlpHidden(cfg);
  let blocks = 0;
  for (let l = 0; l < cfg.nLayer; l++) {
    const k = isRouted(cfg, l) && cfg.mod ? routedK(cfg.mod.capacity, T) : T;
    blocks += batchSize * k * perToken + attentionCache(cfg, batchSize, k);
  }
  const activations = 2 * blocks + 2 * N * C * (cfg.nLayer + 2) + 3 * N * cfg.vocabSize;
  const params = totalParams(cfg);
  const stateBytes = 4 * 4 * params;
  const activationBytes = 4 * activations + 2 * 4 * N * (1 + 2 * evalIters);
  return { params, stateBytes, activationBytes, totalBytes: stateBytes + activationBytes };
}

/**
 * Throws a ConfigError naming the key when a tensor of training `cfg` with this batch size would be longer than any
 * typed array can be (RangeError: Invalid typed array length), whatever the memory.
 */
export function checkArraySizes(cfg: ModelConfig, batchSize: number): void {
  const C = cfg.nEmbd;
  const T = cfg.blockSize;
  const N = batchSize * T;
  const sizes: Array<[number, string]> = [
    [cfg.vocabSize * C, `vocabSize·nEmbd = ${cfg.vocabSize}·${C}`],
    [C * 3 * C, `3·nEmbd² (nEmbd=${C})`],
    [C * mlpHidden(cfg), `mlpRatio·nEmbd² (nEmbd=${C}, mlpRatio=${cfg.mlpRatio})`],
    [N * 3 * C, `batchSize·blockSize·3·nEmbd = ${batchSize}·${T}·3·${C}`],
    [N * mlpHidden(cfg), `batchSize·blockSize·mlpRatio·nEmbd = ${batchSize}·${T}·${mlpHidden(cfg)}`],
    [N * cfg.vocabSize, `batchSize·blockSize·vocabSize = ${batchSize}·${T}·${cfg.vocabSize}`],
    [attentionCache(cfg, batchSize, T), `the attention cache of batchSize=${batchSize}, nHead=${cfg.nHead}, blockSize=${T}`],
  ];
  for (const [n, what] of sizes) {
    if (n > MAX_ARRAY_ELEMENTS) {
      throw new ConfigError(`${what} = ${n.toExponential(2)} numbers in one tensor, more than the largest array (${MAX_ARRAY_ELEMENTS}): use a smaller nEmbd, batchSize or blockSize`);
    }
  }
}
