// `mod sample`: load a checkpoint, print the prompt, then stream the generated text to stdout as it is sampled
// (byte tokenizer: through a streaming UTF-8 decoder, so a character split over several tokens is printed whole),
// and a final newline; one line of throughput to stderr. --no-cache recomputes the cropped window at every step
// and prints the same text for the same seed (see generate.ts).
import type { Io } from '../cli/io.js';
import { Rng } from '../engine/rng.js';
import { backendInfo } from '../kernels/index.js';
import { loadModel } from '../model/load.js';
import { type ContextLogits, generateTokens, kvCacheLogits, windowLogits } from './generate.js';

export interface SampleOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Non-empty text to continue. */
  prompt: string;
  /** New tokens to generate, >= 1. */
  tokens: number;
  /** > 0. */
  temperature: number;
  /** Keep the k most likely tokens (integer >= 1), or null for no top-k. */
  topK: number | null;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP: number;
  seed: number;
  /** Use the KV cache (false: recompute the whole context at every step, for checking). */
  cache: boolean;
}

export async function sampleCommand(opts: SampleOptions, io: Io): Promise<void> {
  const { model, tokenizer } = loadModel(opts.ckpt);
  const prompt = tokenizer.encode(opts.prompt); // a DataError names a character outside a char vocabulary
  const logits: ContextLogits = opts.cache ? kvCacheLogits(model) : windowLogits(model);
  const decoder = tokenizer.streamDecoder();
  io.out(opts.prompt);
  const start = performance.now();
  let n = 0;
  for (const id of generateTokens(model, prompt, { ...opts, maxNewTokens: opts.tokens, rng: new Rng(opts.seed), logits })) {
    const text = decoder.push(id);
    if (text !== '') io.out(text);
    n++;
  }
  const seconds = (performance.now() - start) / 1000;
  io.out(decoder.flush() + '\n');
  const mode = opts.cache ? 'KV cache' : 'no cache';
  io.err(`${n} tokens in ${seconds.toFixed(2)} s: ${(n / seconds).toFixed(1)} tokens/s (${mode}, ${prompt.length}-token prompt, ${backendInfo()})\n`);
}
