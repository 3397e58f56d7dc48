// `mod info`: the resolved model config, its parameter counts and FLOPs.
import type { Command } from 'commander';
import { routedK } from '../model/config.js';
import { forwardFlops, paramCounts, routedLayers, TRAINING_MULTIPLIER, trainingFlops } from '../model/flops.js';
import { checkArraySizes, trainingMemory } from '../model/memory.js';
import type { RunConfig } from '../train/config.js';
import { formatBytes, formatCount, formatShort, formatSi } from '../format.js';
import { formatRows } from './format.js';
import type { Io } from './io.js';
import { addConfigHelp, formatRun, resolveRun } from './run-config.js';

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
    ...(p.routers > 0 ? [['routers', formatCount(p.routers)] as [string, string]] : []),
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
  return `${formatRun(run, false)}parameters\n${params}FLOPs (T = ${model.blockSize}; docs/flops.md)\n${flops}${formatMemory(run)}${formatRouting(run)}`;
}

/** The training memory estimate (src/model/memory.ts), which `mod train` checks against the memory available. */
export function formatMemory(run: RunConfig): string {
  const { model, train } = run;
  checkArraySizes(model, train.batchSize);
  const m = trainingMemory(model, train.batchSize, train.evalIters);
  return `memory to train (estimate; src/model/memory.ts)\n${formatRows([
    ['total', formatBytes(m.totalBytes)],
    ['weights, gradients, AdamW', formatBytes(m.stateBytes)],
    ['activations', `${formatBytes(m.activationBytes)} (batchSize ${train.batchSize} × T ${model.blockSize})`],
  ])}`;
}

/** For a Mixture-of-Depths config: which blocks are routed with their k, and FLOPs against the dense twin. */
export function formatRouting(run: RunConfig): string {
  const { model } = run;
  if (!model.mod) return '';
  const dense = { ...model, mod: null };
  const T = model.blockSize;
  const k = routedK(model.mod.capacity, T);
  const layers = routedLayers(model);
  const mod = forwardFlops(model);
  const den = forwardFlops(dense);
  const ratio = (a: number, b: number): string => (a / b).toFixed(3);
  return `Mixture-of-Depths\n${formatRows([
    ['routed blocks', `${layers.length === 0 ? 'none' : layers.join(', ')} of 0..${model.nLayer - 1} (k = ${k} of ${T} tokens, capacity ${model.mod.capacity}, ${model.mod.routing} routing)`],
    ['forward per sequence', `${formatSi(mod.perSequence, 'FLOP')} MoD vs ${formatSi(den.perSequence, 'FLOP')} dense (ratio ${ratio(mod.perSequence, den.perSequence)})`],
    ['forward per token', `${formatSi(mod.perToken, 'FLOP')} MoD vs ${formatSi(den.perToken, 'FLOP')} dense (ratio ${ratio(mod.perToken, den.perToken)})`],
  ])}`;
}
