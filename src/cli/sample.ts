// `mod sample`: validate the options, then run the sampler.
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import type { SampleOptions } from '../sample/sample-command.js';
import type { Io } from './io.js';
import { optionValue, positiveInt, seedSpec } from './options.js';

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

export const sampleDefaults = { prompt: '\n', tokens: 200, temperature: 0.8, topK: null, topP: 1, seed: 1337 } as const;

export function registerSample(program: Command, io: Io): void {
  program
    .command('sample')
    .description('generate text from a checkpoint')
    .requiredOption('--ckpt <dir>', 'checkpoint directory (the --out of a training run)')
    .option('--prompt <text>', 'text to continue (default: a newline)')
    .option('--tokens <n>', `new tokens, >= 1 (default ${sampleDefaults.tokens})`)
    .option('--temperature <t>', `> 0 (default ${sampleDefaults.temperature})`)
    .option('--top-k <k>', 'keep the k most likely tokens, integer >= 1 (default: off)')
    .option('--top-p <p>', 'nucleus mass in (0, 1] (default 1 = off)')
    .option('--seed <n>', `random seed (default ${sampleDefaults.seed})`)
    .option('--no-cache', 'recompute the whole context at every step instead of using the KV cache')
    .action(async (raw: RawSampleOpts) => {
      const opts = parseSampleOptions(raw);
      const { sampleCommand } = await import('../sample/sample-command.js');
      await sampleCommand(opts, io);
    });
}

export function parseSampleOptions(raw: RawSampleOpts): SampleOptions {
  const prompt = raw.prompt ?? sampleDefaults.prompt;
  if (prompt === '') throw new ConfigError(`--prompt='' is empty: give at least one character`);
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
