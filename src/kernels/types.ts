/**
 * The kernel interface: every hot loop of the engine, implemented twice.
 *   - reference/ : plain TypeScript, readable, the oracle for tests and the browser fallback;
 *   - native/    : the C++ addon (SIMD chosen at run time, thread pool), bound zero-copy to the same arrays.
 *
 * Conventions (after llm.c):
 *   - argument order is outputs, caches, inputs, weights, then dims;
 *   - all tensors are dense row-major float32 (`F32`), indices are `I32`;
 *   - forward kernels overwrite their outputs;
 *   - backward kernels ACCUMULATE (+=) into every gradient buffer they are given, so gradients of a tensor used
 *     twice, and gradient accumulation across micro-batches, come for free;
 *   - shapes are given in the doc comment of each kernel, B = batch, T = time, C = channels, N = rows.
 */
export type F32 = Float32Array;
export type I32 = Int32Array;

export type BackendName = 'reference' | 'native';

/** Dimensions of a fused multi-head attention call. C = nHead * headSize. */
export interface AttentionDims {
  b: number;
  t: number;
  nHead: number;
  headSize: number;
  /** Rotary position embedding on q and k, by each token's position in `pos` (not its row index). */
  rope: boolean;
  /** RoPE frequency base, usually 10000. */
  ropeBase: number;
}

export interface Kernels {
  readonly name: BackendName;

  // ---------------------------------------------------------------- matmul
  /**
   * c (M,N) = op(a) · op(b)          (accumulate = false)
   * c (M,N) += op(a) · op(b)         (accumulate = true)
   * op(a) is (M,K): a is stored (M,K), or (K,M) when transA.
   * op(b) is (K,N): b is stored (K,N), or (N,K) when transB.
   * A linear layer y = x·Wᵀ with W stored (OC, C) is matmul(y, x, W, N, OC, C, false, true, false).
   */
  matmul(c: F32, a: F32, b: F32, m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  /** out (N,C) += bias (C) broadcast over rows. */
  addBias(out: F32, bias: F32, n: number, c: number): void;
  /** dbias (C) += column sums of dout (N,C). */
  biasBackward(dbias: F32, dout: F32, n: number, c: number): void;

  // ---------------------------------------------------------------- elementwise
  /** out = a + b, n elements. */
  add(out: F32, a: F32, b: F32, n: number): void;
  /** acc += x, n elements. */
  accumulate(acc: F32, x: F32, n: number): void;
  /** x *= s, n elements. */
  scaleInPlace(x: F32, s: number, n: number): void;
  /** out = gelu(inp), tanh approximation (as GPT-2 / nanoGPT's GELU(approximate='tanh')). */
  geluForward(out: F32, inp: F32, n: number): void;
  /** dinp += gelu'(inp) · dout. */
  geluBackward(dinp: F32, dout: F32, inp: F32, n: number): void;
  /** out = 1 / (1 + exp(-inp)). */
  sigmoidForward(out: F32, inp: F32, n: number): void;
  /** dinp += out · (1 - out) · dout, where out = sigmoid(inp). */
  sigmoidBackward(dinp: F32, dout: F32, out: F32, n: number): void;
  /** out (R,C): out[i,:] = s[i] · x[i,:]. */
  rowScaleForward(out: F32, x: F32, s: F32, rows: number, cols: number): void;
  /** dx[i,:] += s[i] · dout[i,:];  ds[i] += dot(dout[i,:], x[i,:]). Either gradient may be null (not needed). */
  rowScaleBackward(dx: F32 | null, ds: F32 | null, dout: F32, x: F32, s: F32, rows: number, cols: number): void;

  // ---------------------------------------------------------------- norms
  /**
   * out (N,C) = (inp - mean) · rstd · weight + bias, per row; caches mean (N) and rstd (N).
   * bias may be null (LayerNorm without bias). eps = 1e-5.
   */
  layernormForward(out: F32, mean: F32, rstd: F32, inp: F32, weight: F32, bias: F32 | null, n: number, c: number): void;
  /** Accumulates dinp (N,C), dweight (C), dbias (C, skipped when null). */
  layernormBackward(dinp: F32, dweight: F32, dbias: F32 | null, dout: F32, inp: F32, weight: F32, mean: F32, rstd: F32, n: number, c: number): void;
  /** out (N,C) = inp · rstd · weight, rstd = 1/sqrt(mean(inp²) + eps), eps = 1e-5; caches rstd (N). */
  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, n: number, c: number): void;
  /** Accumulates dinp (N,C) and dweight (C). */
  rmsnormBackward(dinp: F32, dweight: F32, dout: F32, inp: F32, weight: F32, rstd: F32, n: number, c: number): void;

  // ---------------------------------------------------------------- embedding
  /** out (N,C)[i,:] = table[ids[i], :]; table is (V,C). */
  embeddingForward(out: F32, ids: I32, table: F32, n: number, c: number): void;
  /** dtable[ids[i], :] += dout[i, :] (scatter-add; repeated ids accumulate). */
  embeddingBackward(dtable: F32, dout: F32, ids: I32, n: number, c: number): void;

  // ---------------------------------------------------------------- attention
  /** Floats needed in the `cache` buffer of attentionForward/Backward for these dims. */
  attentionCacheSize(d: AttentionDims): number;
  /**
   * Fused multi-head causal self-attention.
   * qkv (B,T,3C): per token [q (C) | k (C) | v (C)], each split into nHead heads of headSize.
   * pos (B,T): the original position of each row. Row i attends to row j of the same sequence iff
   *   pos[j] <= pos[i]; so a subset of a sequence's tokens (sorted by position) attends causally among itself.
   *   Rows with equal positions see each other.
   * With d.rope, q and k are rotated by their `pos` before the scores (pairs (2i, 2i+1) in each head,
   *   theta_i = ropeBase^(-2i/headSize)).
   * out (B,T,C): softmax(q·kᵀ / sqrt(headSize)) · v, heads concatenated.
   * cache: whatever the backward needs (size attentionCacheSize(d)), written by forward.
   */
  attentionForward(out: F32, cache: F32, qkv: F32, pos: I32, d: AttentionDims): void;
  /** dqkv (B,T,3C) += gradient of out w.r.t. qkv, given dout (B,T,C) and the forward's cache. */
  attentionBackward(dqkv: F32, dout: F32, cache: F32, qkv: F32, pos: I32, d: AttentionDims): void;
  /**
   * RoPE in place, for the KV-cache decode path: rotates the nHead·headSize floats that start at row r's offset
   * x[r·rowStride + offset ...] by position pos[r], for r < n. Same rotation as attentionForward's.
   */
  ropeInPlace(x: F32, pos: I32, n: number, rowStride: number, offset: number, nHead: number, headSize: number, ropeBase: number): void;
  /**
   * One query token against a KV cache (no mask: the cache holds only visible tokens).
   * q (C) already rotated; keys/values (L, C) rows 0..len-1 (keys already rotated); out (C).
   * Scores are scaled by 1/sqrt(headSize), as in attentionForward.
   */
  attentionDecode(out: F32, q: F32, keys: F32, values: F32, len: number, nHead: number, headSize: number): void;

  // ---------------------------------------------------------------- losses
  /**
   * Fused softmax + cross-entropy. logits (N,V), targets (N); a target < 0 is ignored (loss 0, no gradient).
   * losses (N) = -log softmax(logits)[target]; probs (N,V) = softmax(logits) is cached for the backward.
   */
  crossEntropyForward(losses: F32, probs: F32, logits: F32, targets: I32, n: number, v: number): void;
  /** dlogits (N,V) += (probs - onehot(target)) · dlosses[i]; ignored rows get nothing. */
  crossEntropyBackward(dlogits: F32, dlosses: F32, probs: F32, targets: I32, n: number, v: number): void;
  /** losses (N) = BCE(sigmoid(logits), targets), computed stably from logits; targets in [0, 1]. */
  bceWithLogitsForward(losses: F32, logits: F32, targets: F32, n: number): void;
  /** dlogits += (sigmoid(logits) - targets) · dlosses. */
  bceWithLogitsBackward(dlogits: F32, dlosses: F32, logits: F32, targets: F32, n: number): void;

  // ---------------------------------------------------------------- routing (Mixture-of-Depths)
  /**
   * idx (B,K): for each row b of scores (B,T), the K positions with the highest scores, returned sorted by
   * position ascending. Exactly K are chosen; among equal scores the lower position wins. K may be 0 or T.
   */
  topkRows(idx: I32, scores: F32, b: number, t: number, k: number): void;
  /** out (B,K,C)[b,j,:] = x (B,T,C)[b, idx[b,j], :]. */
  gatherRows(out: F32, x: F32, idx: I32, b: number, t: number, k: number, c: number): void;
  /** out (B,T,C)[b, idx[b,j], :] += src (B,K,C)[b,j,:]. */
  scatterAddRows(out: F32, src: F32, idx: I32, b: number, t: number, k: number, c: number): void;

  // ---------------------------------------------------------------- optimizer
  /**
   * One AdamW step on n parameters (decoupled weight decay, bias-corrected moments), in place:
   *   m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;
   *   p -= lr · ( (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps) + weightDecay · p )
   * step counts from 1.
   */
  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  /** Σ x², accumulated in double precision (for the global gradient norm). */
  sumSquares(x: F32, n: number): number;
}

/** Every kernel name; a backend must provide each one (tests check that the native addon does). */
export type KernelName = Exclude<keyof Kernels, 'name'>;
