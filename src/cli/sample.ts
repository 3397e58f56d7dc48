// `mod sample`: load a checkpoint, print the prompt, then stream the generated text to stdout as it is sampled
// (byte tokenizer: through a streaming UTF-8 decoder, so a character split over several tokens is printed whole),
// and a final newline; one line of throughput to stderr. --no-cache recomputes the cropped window at every step
// and prints the same text for the same seed (see src/sample/generate.ts).
import type { Command } from 'commander';
import { Rng } from '../engine/rng.js';
import { ConfigError } from '../errors.js';
import { backendInfo } from '../kernels/index.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Io } from './io.js';
import { optionValue, positiveInt, seedSpec } from './options.js';

export interface SampleOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Non-empty text to continue, or null: a newline, or the vocabulary's first character when it has no newline. */
  prompt: string | null;
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

interface RawSampleOpts {
  ckpt: string;
  prompt?: string;
  tokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
  cache: boolean;
}

export const sampleDefaults = { prompt: null, tokens: 200, temperature: 0.8, topK: null, topP: 1, seed: 1337 } as const;

export function registerSample(program: Command, io: Io): void {
  program
    .command('sample')
    .description('generate text from a checkpoint')
    .requiredOption('--ckpt <dir>', 'checkpoint directory (the --out of a training run)')
    .option('--prompt <text>', "text to continue (default: a newline, or the first character of a char vocabulary that has none)")
    .option('--tokens <n>', `new tokens, >= 1 (default ${sampleDefaults.tokens})`)
    .option('--temperature <t>', `> 0 (default ${sampleDefaults.temperature})`)
    .option('--top-k <k>', 'keep the k most likely tokens, integer >= 1 (default: off)')
    .option('--top-p <p>', 'nucleus mass in (0, 1] (default 1 = off)')
    .option('--seed <n>', `random seed (default ${sampleDefaults.seed})`)
    .option('--no-cache', 'recompute the whole context at every step instead of using the KV cache')
    .action(async (raw: RawSampleOpts) => {
      await sampleCommand(parseSampleOptions(raw), io);
    });
}

export function parseSampleOptions(raw: RawSampleOpts): SampleOptions {
  const prompt = raw.prompt ?? sampleDefaults.prompt;
  if (prompt === '') throw new ConfigError(`--prompt='' is empty: give at least one character`);
  if (raw.ckpt === '') throw new ConfigError(`--ckpt='' is empty: give a checkpoint directory`);
  return {
    ckpt: raw.ckpt,
    prompt,
    tokens: optionValue('tokens', positiveInt('new tokens'), raw.tokens, sampleDefaults.tokens),
    temperature: optionValue('temperature', { type: 'number', min: 0, minExclusive: true, doc: '' }, raw.temperature, sampleDefaults.temperature),
    topK: optionValue<number | null>('top-k', positiveInt('top-k'), raw.topK, sampleDefaults.topK),
    topP: optionValue('top-p', { type: 'number', min: 0, max: 1, minExclusive: true, doc: '' }, raw.topP, sampleDefaults.topP),
    seed: optionValue('seed', seedSpec, raw.seed, sampleDefaults.seed),
    cache: raw.cache,
  };
}

export async function sampleCommand(opts: SampleOptions, io: Io): Promise<void> {
  const { loadModel } = await import('../train/load.js');
  const { generateTokens, kvCacheLogits, windowLogits } = await import('../sample/generate.js');
  const { model, tokenizer } = loadModel(opts.ckpt);
  const text = opts.prompt ?? defaultPrompt(tokenizer);
  const prompt = tokenizer.encode(text); // a DataError names a character outside a char vocabulary
  const logits = opts.cache ? kvCacheLogits(model) : windowLogits(model);
  const decoder = tokenizer.streamDecoder();
  io.out(text);
  const start = performance.now();
  let n = 0;
  for (const id of generateTokens(model, prompt, { ...opts, maxNewTokens: opts.tokens, rng: new Rng(opts.seed), logits })) {
    const text = decoder.push(id);
    if (text !== '') io.out(text);
    n++;
  }
  const seconds = (performance.now() - start) / 1000;
  io.out(decoder.flush() + '\n');
  await io.flush?.(); // the text and its newline first: on a terminal the stats line must not run into it
  const mode = opts.cache ? 'KV cache' : 'no cache';
  io.err(`${n} tokens in ${seconds.toFixed(2)} s: ${(n / seconds).toFixed(1)} tokens/s (${mode}, ${prompt.length}-token prompt, ${backendInfo()})\n`);
}

/** nanoGPT's default prompt, a newline, when the vocabulary has one; else the vocabulary's first character. */
function defaultPrompt(tokenizer: Tokenizer): string {
  try {
    tokenizer.encode('\n');
    return '\n';
  } catch {
    return tokenizer.decode([0]);
  }
}
