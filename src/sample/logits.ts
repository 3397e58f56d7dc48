// Logits processors and sampling, in the order of nanoGPT's and Hugging Face's generate: temperature, then top-k,
// then top-p (nucleus), then one draw from the softmax with a seeded Rng. A processor edits the logits in place;
// -Infinity removes a token. Everything runs in float64 on a copy of the model's float32 logits, and each sampled
// token takes exactly one rng.next(), so the same seed and logits give the same tokens.
import type { Rng } from '../engine/rng.js';

export interface SamplingOptions {
  /** > 0; the logits are divided by it (default 1). */
  temperature?: number;
  /** Keep the k highest logits (integer >= 1), or null for no top-k (the default). */
  topK?: number | null;
  /** Nucleus mass in (0, 1]; 1 = off (the default). */
  topP?: number;
}

/** Edits logits (V) in place; -Infinity removes a token. */
export type LogitsProcessor = (logits: Float64Array) => void;

/** logits / t: t < 1 sharpens the distribution, t > 1 flattens it. */
export function temperature(t: number): LogitsProcessor {
  if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`temperature ${t} must be a finite number > 0`);
  return (logits) => {
    for (let i = 0; i < logits.length; i++) logits[i] = logits[i]! / t;
  };
}

/**
 * Keeps the logits >= the k-th highest and removes the rest (as nanoGPT: `logits[logits < v[-1]] = -inf`), so a tie
 * with the k-th value keeps every tied token.
 */
export function topK(k: number): LogitsProcessor {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k ${k} must be an integer >= 1`);
  return (logits) => {
    if (k >= logits.length) return;
    const sorted = Float64Array.from(logits).sort(); // ascending; -Infinity first
    const kth = sorted[logits.length - k]!;
    for (let i = 0; i < logits.length; i++) if (logits[i]! < kth) logits[i] = -Infinity;
  };
}

/**
 * Nucleus sampling: keeps the smallest set of most likely tokens whose probabilities sum to >= p (the token that
 * crosses p included; the most likely token always kept; equal probabilities taken in index order) and removes the
 * rest. p = 1 keeps everything.
 */
export function topP(p: number): LogitsProcessor {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p ${p} must be in (0, 1]`);
  return (logits) => {
    if (p >= 1) return;
    const probs = softmax(logits);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
    let mass = 0;
    let kept = 0;
    while (kept < order.length && (kept === 0 || mass < p)) mass += probs[order[kept++]!]!;
    for (let j = kept; j < order.length; j++) logits[order[j]!] = -Infinity;
  };
}

/** The processors for these options, in application order (temperature, top-k, top-p). */
export function logitsProcessors(opts: SamplingOptions): LogitsProcessor[] {
  const list = [temperature(opts.temperature ?? 1)];
  if (opts.topK !== undefined && opts.topK !== null) list.push(topK(opts.topK));
  if (opts.topP !== undefined && opts.topP < 1) list.push(topP(opts.topP));
  return list;
}

/** softmax(logits) as a new array; -Infinity logits get probability 0. */
export function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

/**
 * The index i with cdf(i-1) <= u·Σw < cdf(i), for weights w >= 0 (unnormalised probabilities) and u in [0, 1).
 * Never returns a zero-weight index.
 */
export function sampleIndex(weights: Float64Array, u: number): number {
  let total = 0;
  for (const w of weights) total += w;
  const target = u * total;
  let cum = 0;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w <= 0) continue;
    cum += w;
    last = i;
    if (target < cum) return i;
  }
  if (last < 0) throw new Error('sampleIndex: every weight is zero');
  return last; // u·Σw rounded up to the total
}

/** Draws tokens from logits with fixed options and a seeded Rng. */
export class Sampler {
  private readonly processors: LogitsProcessor[];
  private work = new Float64Array(0);

  constructor(opts: SamplingOptions, private readonly rng: Rng) {
    this.processors = logitsProcessors(opts);
  }

  /** One token from logits (V); consumes exactly one rng.next(). */
  sample(logits: ArrayLike<number>): number {
    if (this.work.length !== logits.length) this.work = new Float64Array(logits.length);
    const x = this.work;
    for (let i = 0; i < x.length; i++) {
      x[i] = logits[i]!;
      if (!Number.isFinite(x[i])) throw new Error(`the model produced a logit of ${x[i]} (token ${i}): the checkpoint has diverged`);
    }
    for (const process of this.processors) process(x);
    return sampleIndex(softmax(x), this.rng.next());
  }
}
