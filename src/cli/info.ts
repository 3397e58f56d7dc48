// `mod info`: the resolved model config, its parameter counts and FLOPs.
import type { Command } from 'commander';
import { forwardFlops, paramCounts, TRAINING_MULTIPLIER, trainingFlops } from '../model/flops.js';
import { resolveRun, type RunConfig } from '../train/config.js';
import { formatCount, formatRows, formatShort, formatSi } from './format.js';
import type { Io } from './io.js';
import { addConfigHelp, formatRun } from './run-config.js';

export function registerInfo(program: Command, io: Io): void {
  const cmd = program
    .command('info')
    .description('print a config, its parameter counts and FLOPs per token')
    .usage('[--preset NAME] [--key=value ...]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action((_opts: unknown, self: Command) => {
      io.out(formatInfo(resolveRun(self.args, 'info')));
    });
  addConfigHelp(cmd, true);
}

export function formatInfo(run: RunConfig): string {
  const { model, train } = run;
  const p = paramCounts(model);
  const fwd = forwardFlops(model);
  const tr = trainingFlops(model);
  const m = (n: number): string => `${formatCount(n)} (${formatShort(n)})`;
  const params = formatRows([
    ['total', m(p.total)],
    ['non-embedding', m(p.nonEmbedding)],
    ['token embedding', formatCount(p.tokenEmbedding)],
    ['position embedding', formatCount(p.positionEmbedding)],
    ['per block', formatCount(p.perBlock)],
    ['lm head', p.lmHead === 0 ? '0 (tied to the token embedding)' : formatCount(p.lmHead)],
  ]);
  const tokensPerStep = train.batchSize * train.gradAccumSteps * model.blockSize;
  const flops = formatRows([
    ['forward per token', formatSi(fwd.perToken, 'FLOP')],
    ['training per token', `${formatSi(tr.perToken, 'FLOP')} (${TRAINING_MULTIPLIER} × forward)`],
    ['forward per sequence', formatSi(fwd.perSequence, 'FLOP')],
    ['training per step', `${formatSi(tr.perToken * tokensPerStep, 'FLOP')} (${formatCount(tokensPerStep)} tokens)`],
    ['training run', `${formatSi(tr.perToken * tokensPerStep * train.maxIters, 'FLOP')} (${formatCount(train.maxIters)} steps, without evaluation)`],
  ]);
  return `${formatRun(run, false)}parameters\n${params}FLOPs (T = ${model.blockSize}; docs/flops.md)\n${flops}`;
}
