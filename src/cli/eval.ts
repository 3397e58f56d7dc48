// `mod eval`: validate the options, then run the evaluator.
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import type { EvalOptions } from '../train/evaluate.js';
import type { Io } from './io.js';

interface RawEvalOpts {
  ckpt: string;
  data?: string;
  json?: boolean;
  routing?: string;
}

export function registerEval(program: Command, io: Io): void {
  program
    .command('eval')
    .description('loss and perplexity of a checkpoint on its validation split or a text file')
    .requiredOption('--ckpt <dir>', 'checkpoint directory (the --out of a training run)')
    .option('--data <file>', "text file to evaluate on (default: the checkpoint's validation split)")
    .option('--routing <mode>', 'Mixture-of-Depths: evaluate under topk or causal routing only (default: both)')
    .option('--json', 'print only one JSON object on stdout')
    .action(async (raw: RawEvalOpts) => {
      const opts = parseEvalOptions(raw);
      const { evaluateCommand } = await import('../train/evaluate.js');
      await evaluateCommand(opts, io);
    });
}

export function parseEvalOptions(raw: RawEvalOpts): EvalOptions {
  if (raw.ckpt === '') throw new ConfigError(`--ckpt='' is empty: give a checkpoint directory`);
  if (raw.data === '') throw new ConfigError(`--data='' is empty: give a text file`);
  if (raw.routing !== undefined && raw.routing !== 'topk' && raw.routing !== 'causal') {
    throw new ConfigError(`--routing='${raw.routing}' is not allowed: must be topk or causal`);
  }
  return { ckpt: raw.ckpt, data: raw.data ?? null, json: raw.json === true, routing: raw.routing ?? null };
}
