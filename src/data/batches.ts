// Training and evaluation batches over a token array, as in nanoGPT's get_batch:
//   ix = randint(len(data) - T, (B,)); x[b] = data[ix[b] : ix[b]+T]; y[b] = data[ix[b]+1 : ix[b]+1+T]
// The offsets come from an Rng (one draw per row, in row order), so a batch is fully determined by the Rng state,
// which is checkpointed: a resumed run draws exactly the batches the uninterrupted run would have drawn.

import { Rng } from '../engine/rng.js';
import { DataError } from './errors.js';

export interface Batch {
  /** Inputs, (B, T) row-major. */
  x: Int32Array;
  /** Targets, (B, T): y[b, t] = tokens[offset_b + t + 1]. */
  y: Int32Array;
  B: number;
  T: number;
}

/** A window of consecutive tokens: x = tokens[s, s+len), y = tokens[s+1, s+1+len). */
export interface Window {
  x: Int32Array;
  y: Int32Array;
  /** Offset s of x[0] in the token array. */
  start: number;
}

/**
 * B random windows of T+1 tokens. Draws exactly B values from `rng`. `out` (if given) is filled and returned,
 * to reuse buffers across steps.
 */
export function randomBatch(tokens: Int32Array, B: number, T: number, rng: Rng, out?: Batch): Batch {
  checkLength(tokens, T);
  const batch = out ?? { x: new Int32Array(B * T), y: new Int32Array(B * T), B, T };
  if (batch.B !== B || batch.T !== T || batch.x.length !== B * T || batch.y.length !== B * T) {
    throw new RangeError(`batch buffer is (${batch.B}, ${batch.T}), expected (${B}, ${T})`);
  }
  const range = tokens.length - T;
  for (let b = 0; b < B; b++) {
    const i = rng.int(range);
    batch.x.set(tokens.subarray(i, i + T), b * T);
    batch.y.set(tokens.subarray(i + 1, i + 1 + T), b * T);
  }
  return batch;
}

/** `n` random batches from a private Rng(seed): the same fixed set on every call, leaving other Rngs untouched. */
export function evalBatches(tokens: Int32Array, n: number, B: number, T: number, seed: number): Batch[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => randomBatch(tokens, B, T, rng));
}

/**
 * Consecutive windows for full-pass evaluation: window k covers tokens[kT, kT+T], so the x parts do not overlap
 * and every token after the first is a target exactly once. The views share memory with `tokens`. A final window
 * shorter than T (at least one target) is included only if `partial` is set.
 */
export function sequentialWindows(tokens: Int32Array, T: number, partial = false): Window[] {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`window length T must be a positive integer, got ${T}`);
  const windows: Window[] = [];
  for (let s = 0; s + 1 < tokens.length; s += T) {
    const len = Math.min(T, tokens.length - 1 - s);
    if (len < T && !partial) break;
    windows.push({ x: tokens.subarray(s, s + len), y: tokens.subarray(s + 1, s + 1 + len), start: s });
  }
  return windows;
}

function checkLength(tokens: Int32Array, T: number): void {
  if (tokens.length < T + 1) {
    throw new DataError(`the data has ${tokens.length} tokens, fewer than blockSize+1 = ${T + 1} needed for one `
      + 'training window: use more text or a smaller --blockSize');
  }
}
