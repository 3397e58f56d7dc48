// Autoregressive generation, as nanoGPT's generate: the context is cropped to its last blockSize tokens, the model
// gives the logits of the window's last position, and a Sampler draws the next token.
//
// Two sources of those logits, which give the same tokens for the same seed (up to float32 rounding, see below):
//   - windowLogits (--no-cache): re-runs the cropped window through the normal forward (GPT.lastLogits) at every
//     step, O(T²·C + T·C²) per token;
//   - kvCacheLogits: prefills the prompt's window once (the same ops as lastLogits, bit-identical logits), then feeds
//     one token per step through every layer's KV cache (GPT.decodeStep), O(T·C + C²) per token.
// Past blockSize tokens the window slides by one token per step, and positions restart at 0 at the window's first
// token (for learned and rotary positions alike, exactly as the no-cache path computes them), so every position
// shifts and no cached key or value stays valid: the KV-cache source then re-prefills the cropped window at every
// step, which costs what the no-cache path costs. Only the first blockSize tokens of context are incremental.
// The two sources' logits agree to float32 rounding (the decode step's one-row matmuls and attentionDecode sum in
// another order than the batched kernels); a token differs only if a uniform draw lands within that rounding of a
// CDF boundary, about 6e-6 per token on brown-small (docs/sampling.md).
//
// Every step runs under noGrad and ends with releaseGraph(), so memory stays flat: do not hold op outputs across a
// call of `next` or of the generator.
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { GPT, StepOutput } from '../model/gpt.js';
import { KVCache } from '../model/kv-cache.js';
import { Sampler, type SamplingOptions } from './logits.js';

/** The logits of the last token of a context that grows by one token per call. */
export interface ContextLogits {
  /** Logits (V) after context's last token; the array is reused by the next call. */
  next(context: Int32Array): Float32Array;
}

export interface KVCacheLogits extends ContextLogits {
  readonly cache: KVCache;
  /** Windows prefilled and single-token decode steps run so far. */
  readonly prefills: number;
  readonly steps: number;
  /** Per routed block (layer order), tokens fed through it and tokens it processed, over every call so far. */
  readonly routed: Array<{ layer: number; seen: number; processed: number }>;
  /** Per routed block, whether it processed the last token fed (the newest one of the context). */
  readonly lastProcessed: boolean[];
}

/** The last blockSize tokens of the context (nanoGPT's idx[:, -block_size:]). */
export function cropWindow(context: Int32Array, blockSize: number): Int32Array {
  return context.subarray(Math.max(0, context.length - blockSize));
}

/** Runs one step under noGrad, copies the (1, V) logits into `into` and releases the graph. */
function readLogits(run: () => Tensor, into: Float32Array): Float32Array {
  noGrad(() => into.set(run().data));
  releaseGraph();
  return into;
}

/** Runs a prefill or decode step under noGrad, copies its (1, V) logits into `into`; returns its routing. */
function readStep(run: () => StepOutput, into: Float32Array): StepOutput['routing'] {
  const routing = noGrad(() => {
    const out = run();
    into.set(out.logits.data);
    return out.routing.map((r) => ({ layer: r.layer, processed: r.processed.map((p) => p.slice()) }));
  });
  releaseGraph();
  return routing;
}

/** Logits from the normal forward over the cropped window, recomputed at every call. */
export function windowLogits(model: GPT): ContextLogits {
  const out = new Float32Array(model.config.vocabSize);
  return {
    next(context) {
      const w = cropWindow(context, model.config.blockSize);
      return readLogits(() => model.lastLogits(w, 1, w.length), out);
    },
  };
}

/**
 * Logits from a KV cache: one decode step when the context is one token longer than at the last call and the cache
 * has room, otherwise a prefill of the cropped window (the first call, any other length, a full cache). The caller
 * only appends to the context: a context replaced by another one token longer would be taken as grown.
 */
export function kvCacheLogits(model: GPT): KVCacheLogits {
  const cache = KVCache.forModel(model.config, 1);
  const out = new Float32Array(model.config.vocabSize);
  let fed = 0; // context tokens the cache's window ends at
  const layers = model.routedBlocks().map((blk) => model.h.indexOf(blk));
  const source = {
    cache,
    prefills: 0,
    steps: 0,
    routed: layers.map((layer) => ({ layer, seen: 0, processed: 0 })),
    lastProcessed: layers.map(() => false),
    next(context: Int32Array): Float32Array {
      const n = context.length;
      let routing: StepOutput['routing'];
      if (fed > 0 && fed === n - 1 && !cache.full()) {
        source.steps++;
        routing = readStep(() => model.decodeStep(context.subarray(n - 1), cache), out);
        routing.forEach((r, i) => count(i, 1, r.processed[0]!.length, r.processed[0]!.length > 0));
      } else {
        const w = cropWindow(context, model.config.blockSize);
        source.prefills++;
        routing = readStep(() => model.prefill(w, 1, w.length, cache), out);
        routing.forEach((r, i) => count(i, w.length, r.processed[0]!.length, r.processed[0]!.includes(w.length - 1)));
      }
      fed = n;
      return out;
    },
  };
  const count = (i: number, seen: number, processed: number, last: boolean): void => {
    source.routed[i]!.seen += seen;
    source.routed[i]!.processed += processed;
    source.lastProcessed[i] = last;
  };
  return source;
}

export interface GenerateOptions extends SamplingOptions {
  /** New tokens to generate, >= 1. */
  maxNewTokens: number;
  /** Sampling draws (one rng.next() per token). */
  rng: Rng;
  /** The logits source; default kvCacheLogits(model). */
  logits?: ContextLogits;
}

/** Yields the new tokens one at a time, as they are sampled (for streaming output). */
export function* generateTokens(model: GPT, prompt: Int32Array, opts: GenerateOptions): Generator<number, void, void> {
  if (prompt.length === 0) throw new Error('generate: the prompt needs at least one token');
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new Error(`generate: maxNewTokens ${opts.maxNewTokens} must be an integer >= 0`);
  const source = opts.logits ?? kvCacheLogits(model);
  const sampler = new Sampler(opts, opts.rng);
  const context = new Int32Array(prompt.length + opts.maxNewTokens);
  context.set(prompt);
  for (let n = prompt.length; n < context.length; n++) {
    const id = sampler.sample(source.next(context.subarray(0, n)));
    context[n] = id;
    yield id;
  }
}

/** The new tokens (maxNewTokens of them) that continue the prompt. */
export function generate(model: GPT, prompt: Int32Array, opts: GenerateOptions): Int32Array {
  return Int32Array.from(generateTokens(model, prompt, opts));
}
