// The training loop, with nanoGPT's train.py semantics: AdamW (decay on >= 2-D tensors), warmup + cosine LR
// (schedule.ts), gradient accumulation (each micro-batch's loss scaled by 1/gradAccumSteps), global-norm clipping,
// and an evaluation every evalInterval steps and after the last: the mean loss over a fixed set of evalIters
// batches per split, logged to log.jsonl and followed by a checkpoint. Unlike nanoGPT there is no evaluation
// before the first step, and the checkpoint is written at every evaluation (not only when val loss improves).
//
// Randomness: Rng(seed) initialises the model; a second Rng draws the training batches, and its state is the
// checkpoint's `rng`. The init Rng is not used after construction, and a resumed run constructs the model the
// same way before loading the weights, so both streams continue exactly: a resumed run is bit-identical to an
// uninterrupted one. Evaluation batches come from their own fixed seeds (the same for every run, so runs with
// different seeds are evaluated on the same text) and never touch the training Rng.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { processIo, type Io } from '../cli/io.js';
import { formatCount, formatDuration, formatShort, formatSi } from '../cli/format.js';
import { createProgress, type Progress, type ProgressStream } from '../cli/progress.js';
import { loadDataset, randomBatch, evalBatches, tokenizerFromJSON, type Batch, type Dataset } from '../data/index.js';
import { backward, noGrad, releaseGraph, zeroGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { median } from '../bench/stats.js';
import type { Tensor } from '../engine/tensor.js';
import { ConfigError } from '../errors.js';
import { backendInfo } from '../kernels/index.js';
import type { ModelConfig } from '../model/config.js';
import { trainingFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { AdamW, clipGradNorm } from './adamw.js';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig, TrainRun } from './config.js';
import { loadOptimizer, loadParameters, optimizerTensors, parameterTensors } from './model-state.js';
import { appendLog, truncateLog, type LogRecord } from './run-log.js';
import { causalRecord } from './causal-stats.js';
import { learningRate } from './schedule.js';
import { StopSignal, signalExitCode, yieldToEventLoop } from './stop-signal.js';

export type { TrainRun } from './config.js';
export { signalExitCode } from './stop-signal.js';

/** Seeds of the fixed evaluation batches (independent of the run's seed). */
export const EVAL_SEED = { train: 0x5eed_0001, val: 0x5eed_0002 } as const;

/** The batch Rng's seed, derived from the run's seed so that it differs from the init stream. */
export function batchSeed(seed: number): number {
  return (seed ^ 0x9e3779b9) >>> 0;
}

export interface TrainOptions {
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
  /** Where progress goes (default: process.stdout for the process Io, else io.out without a bar). */
  progressStream?: ProgressStream;
  /** Called after every optimizer step (tests). */
  onStep?: (iteration: number) => void;
  /** Extra evaluation points besides every evalInterval and the last step (`mod compare`: evenly spaced FLOPs). */
  evalAt?: (iteration: number) => boolean;
  /** Called after each evaluation has been logged and checkpointed. */
  onEval?: (record: LogRecord) => void;
}

export interface TrainResult {
  /** Optimizer steps completed. */
  iteration: number;
  /** The signal that stopped training before maxIters (the checkpoint holds `iteration`), or null. */
  stoppedBy: NodeJS.Signals | null;
  /** The last evaluation, if any in this session. */
  last: LogRecord | null;
  out: string;
}

/** Where training stands; what a checkpoint restores. */
interface RunState {
  iteration: number;
  tokensSeen: number;
  bestValLoss: number | null;
  /** Wall time of previous sessions. */
  priorMs: number;
}

interface Session {
  run: TrainRun;
  cfg: TrainConfig;
  model: GPT;
  modelConfig: ModelConfig;
  data: Dataset;
  opt: AdamW;
  batchRng: Rng;
  evalSets: { train: Batch[]; val: Batch[] };
  flopsPerToken: number;
  state: RunState;
  startMs: number;
  io: Io;
  progress: Progress;
  stop: StopSignal | null;
  onStep: (iteration: number) => void;
  evalAt: (iteration: number) => boolean;
  onEval: (record: LogRecord) => void;
  /** Iteration of the last checkpoint written. */
  savedAt: number;
  /** Wall time of each optimizer step of this process (evaluations and checkpoints excluded), ms. */
  stepMs: number[];
}

/** Trains `run` (resuming from run.train.out when run.resume), printing to io. */
export async function train(run: TrainRun, io: Io, options: TrainOptions = {}): Promise<TrainResult> {
  const startMs = performance.now();
  const ckpt = run.resume ? loadResumeCheckpoint(run) : null;
  const s = setup(run, io, ckpt, startMs, options);
  if (s === null) return { iteration: ckpt?.meta.iteration ?? 0, stoppedBy: null, last: null, out: run.train.out };
  try {
    return await loop(s);
  } finally {
    s.progress.stop();
    s.stop?.dispose();
  }
}

// ---------------------------------------------------------------- setup

function loadResumeCheckpoint(run: TrainRun): LoadedCheckpoint {
  const ckpt = loadCheckpoint(run.train.out);
  const ckptTok = (ckpt.config.tokenizer as { kind?: unknown }).kind;
  if (ckptTok !== run.train.tokenizer) {
    throw new ConfigError(`--resume: the checkpoint in ${run.train.out} uses the ${String(ckptTok)} tokenizer, this run tokenizer=${run.train.tokenizer}: `
      + 'use the same tokenizer, or train into a new --out');
  }
  return ckpt;
}

/** Model config keys whose values differ between the checkpoint and this run, as `key=ckpt (this run: value)`. */
function modelDiffs(saved: ModelConfig, current: ModelConfig): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]) as Set<keyof ModelConfig>;
  return [...keys].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]))
    .map((k) => `${k}=${JSON.stringify(saved[k])} (this run: ${JSON.stringify(current[k])})`);
}

function trainDiffs(saved: TrainConfig, current: TrainConfig): string[] {
  return (Object.keys(current) as Array<keyof TrainConfig>).filter((k) => saved[k] !== current[k])
    .map((k) => `${k} ${String(saved[k])} → ${String(current[k])}`);
}

function setup(run: TrainRun, io: Io, ckpt: LoadedCheckpoint | null, startMs: number, options: TrainOptions): Session | null {
  const cfg = run.train;
  const data = loadDataset({
    ...(cfg.data === null ? {} : { data: cfg.data }),
    tokenizer: ckpt === null ? cfg.tokenizer : tokenizerFromJSON(ckpt.config.tokenizer),
    blockSize: run.model.blockSize,
  });
  const modelConfig: ModelConfig = { ...run.model, vocabSize: data.tokenizer.vocabSize };
  if (ckpt !== null) checkResumable(run, ckpt, modelConfig, io);
  const model = new GPT(modelConfig, new Rng(cfg.seed));
  const opt = new AdamW(model.namedParameters(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const batchRng = new Rng(batchSeed(cfg.seed));
  const state: RunState = { iteration: 0, tokensSeen: 0, bestValLoss: null, priorMs: 0 };
  if (ckpt !== null) restore(ckpt, cfg.out, model, opt, batchRng, state);
  printSetup(io, run, data, model, state, ckpt);
  if (ckpt !== null && state.iteration >= cfg.maxIters) {
    io.out(`the checkpoint is already at iteration ${state.iteration} >= maxIters=${cfg.maxIters}: nothing to train (raise --maxIters to continue)\n`);
    return null;
  }
  prepareOutDir(cfg.out, ckpt, state.iteration, io);
  const s: Session = {
    run, cfg, model, modelConfig, data, opt, batchRng, state, startMs, io,
    evalSets: fixedEvalSets(data, cfg, modelConfig.blockSize),
    flopsPerToken: trainingFlops(modelConfig).perToken,
    progress: createProgress({ total: cfg.maxIters, start: state.iteration, logInterval: cfg.logInterval, stream: options.progressStream ?? progressStreamFor(io) }),
    stop: null,
    onStep: options.onStep ?? ((): void => {}),
    evalAt: options.evalAt ?? ((): boolean => false),
    onEval: options.onEval ?? ((): void => {}),
    savedAt: ckpt === null ? -1 : state.iteration,
    stepMs: [],
  };
  if (options.handleSignals ?? true) s.stop = stopSignal(s);
  return s;
}

/** Creates the output directory and cuts log.jsonl back to the starting iteration (emptied for a new run). */
function prepareOutDir(out: string, ckpt: LoadedCheckpoint | null, iteration: number, io: Io): void {
  if (ckpt === null && existsSync(path.join(out, CONFIG_FILE))) {
    io.out(`note: ${out} holds a checkpoint; this new run replaces it at its first evaluation (add --resume to continue it instead)\n`);
  }
  mkdirSync(out, { recursive: true });
  truncateLog(out, iteration);
}

function fixedEvalSets(data: Dataset, cfg: TrainConfig, t: number): Session['evalSets'] {
  return {
    train: evalBatches(data.train, cfg.evalIters, cfg.batchSize, t, EVAL_SEED.train),
    val: evalBatches(data.val, cfg.evalIters, cfg.batchSize, t, EVAL_SEED.val),
  };
}

function progressStreamFor(io: Io): ProgressStream {
  return io === processIo ? process.stdout : { write: (text: string) => io.out(text) };
}

function checkResumable(run: TrainRun, ckpt: LoadedCheckpoint, modelConfig: ModelConfig, io: Io): void {
  const diffs = modelDiffs(ckpt.config.model, modelConfig);
  if (diffs.length > 0) {
    throw new ConfigError(`--resume: the checkpoint in ${run.train.out} has a different model: ${diffs.join(', ')}; `
      + 'pass the same model settings (and --preset) as the run that wrote it, or train into a new --out');
  }
  const changed = trainDiffs(ckpt.config.train, run.train);
  if (changed.length > 0) io.out(`note: resuming with changed train settings: ${changed.join(', ')}\n`);
  if (ckpt.recovered) io.out(`note: the last save in ${run.train.out} was interrupted; resuming from the previous checkpoint\n`);
}

function restore(ckpt: LoadedCheckpoint, out: string, model: GPT, opt: AdamW, batchRng: Rng, state: RunState): void {
  loadParameters(model, ckpt.tensors, `${out}/model.safetensors`);
  loadOptimizer(opt, ckpt.optimizer, ckpt.meta.optimizerStep, `${out}/optimizer.safetensors`);
  batchRng.setState(ckpt.meta.rng);
  if (ckpt.meta.routingRng !== undefined) model.routingRng.setState(ckpt.meta.routingRng);
  state.iteration = ckpt.meta.iteration;
  state.tokensSeen = ckpt.meta.tokensSeen;
  state.bestValLoss = ckpt.meta.bestValLoss;
  state.priorMs = ckpt.meta.elapsedMs ?? 0;
}

function printSetup(io: Io, run: TrainRun, data: Dataset, model: GPT, state: RunState, ckpt: LoadedCheckpoint | null): void {
  const cfg = model.config;
  const tok = data.tokenizer;
  io.out(`data: ${data.source}\n`);
  io.out(`      ${tok.kind} tokenizer, vocab ${tok.vocabSize} | train ${formatCount(data.train.length)} tokens, val ${formatCount(data.val.length)} tokens\n`);
  io.out(`model: ${formatShort(model.numParams())} parameters | ${formatSi(trainingFlops(cfg).perToken, 'FLOP')} training FLOPs per token`
    + ` | backend ${backendInfo()}\n`);
  const perStep = run.train.gradAccumSteps * run.train.batchSize * cfg.blockSize;
  io.out(`training: ${formatCount(perStep)} tokens per step, ${ckpt === null ? '' : `from iteration ${state.iteration} `}to ${run.train.maxIters}`
    + ` | checkpoint and log.jsonl in ${run.train.out}\n`);
}

function stopSignal(s: Session): StopSignal {
  return new StopSignal({
    onFirst: (signal) => s.progress.log(`${signal}: stopping after this step and saving a checkpoint (press Ctrl-C again to abort without saving)`),
    onAbort: (signal) => {
      s.progress.stop();
      s.io.err(`${signal}: aborted; ${s.savedAt >= 0 ? `the checkpoint of iteration ${s.savedAt} in ${s.cfg.out} is intact` : 'no checkpoint was saved'}\n`);
      process.exit(signalExitCode(signal));
    },
  });
}

// ---------------------------------------------------------------- the loop

async function loop(s: Session): Promise<TrainResult> {
  const { cfg, state } = s;
  const params = s.model.parameters();
  const T = s.modelConfig.blockSize;
  const batch: Batch = { x: new Int32Array(cfg.batchSize * T), y: new Int32Array(cfg.batchSize * T), B: cfg.batchSize, T };
  const tokensPerStep = cfg.gradAccumSteps * cfg.batchSize * T;
  let trainMs = 0;
  let trainTokens = 0;
  let last: LogRecord | null = null;
  while (state.iteration < cfg.maxIters) {
    const t0 = performance.now();
    const lr = learningRate(cfg, state.iteration);
    const loss = step(s, params, batch, lr);
    state.iteration++;
    state.tokensSeen += tokensPerStep;
    const dt = performance.now() - t0;
    s.stepMs.push(dt);
    trainMs += dt;
    trainTokens += tokensPerStep;
    s.progress.update(state.iteration, { loss, tokensPerSec: (trainTokens / trainMs) * 1000 });
    s.onStep(state.iteration);
    if (state.iteration % cfg.evalInterval === 0 || state.iteration === cfg.maxIters || s.evalAt(state.iteration)) last = await evaluateAndSave(s, lr);
    await yieldToEventLoop();
    if (s.stop?.requested === true && state.iteration < cfg.maxIters) return interrupt(s, last);
  }
  s.progress.stop();
  printDone(s, last);
  return { iteration: state.iteration, stoppedBy: null, last, out: cfg.out };
}

/** One optimizer step over gradAccumSteps micro-batches; returns their mean loss. */
function step(s: Session, params: Tensor[], batch: Batch, lr: number): number {
  const { cfg, model } = s;
  const accum = cfg.gradAccumSteps;
  const seed = Float32Array.of(1 / accum); // d(total)/d(micro-batch loss): the loss scaled by 1/gradAccumSteps
  let lossSum = 0;
  for (let micro = 0; micro < accum; micro++) {
    randomBatch(s.data.train, cfg.batchSize, batch.T, s.batchRng, batch);
    const { loss, trainingLoss } = model.forward(batch.x, cfg.batchSize, batch.T, batch.y);
    lossSum += loss!.item();
    backward(trainingLoss!, seed); // the LM loss, plus the causal routing BCE of a MoD model
    releaseGraph();
  }
  if (cfg.gradClip > 0) for (const group of model.clipGroups()) clipGradNorm(group, cfg.gradClip); // predictors apart
  s.opt.step({ lr });
  zeroGrad(params);
  return lossSum / accum;
}

/** Mean loss over fixed batches, without recording a graph. */
async function meanLoss(model: GPT, batches: Batch[]): Promise<number> {
  let sum = 0;
  for (const b of batches) {
    sum += noGrad(() => {
      const v = model.forward(b.x, b.B, b.T, b.y).loss!.item();
      releaseGraph();
      return v;
    });
    await yieldToEventLoop();
  }
  return sum / batches.length;
}

async function evaluateAndSave(s: Session, lr: number): Promise<LogRecord> {
  const { state } = s;
  const trainLoss = await meanLoss(s.model, s.evalSets.train);
  const valLoss = await meanLoss(s.model, s.evalSets.val);
  if (state.bestValLoss === null || valLoss < state.bestValLoss) state.bestValLoss = valLoss;
  const record: LogRecord = {
    iter: state.iteration,
    trainLoss,
    valLoss,
    lr,
    tokensSeen: state.tokensSeen,
    trainFlops: s.flopsPerToken * state.tokensSeen,
    elapsedMs: elapsedMs(s),
    ...causalRecord(s.model, s.evalSets.val),
  };
  appendLog(s.cfg.out, record);
  save(s);
  s.progress.log(`iter ${record.iter}: train loss ${trainLoss.toFixed(4)}, val loss ${valLoss.toFixed(4)} | lr ${record.lr.toExponential(2)}`
    + ` | ${formatSi(record.tokensSeen, 'tokens')} | ${formatSi(record.trainFlops, 'FLOP')} | ${formatDuration(record.elapsedMs / 1000)}`);
  s.onEval(record);
  return record;
}

function elapsedMs(s: Session): number {
  return s.state.priorMs + (performance.now() - s.startMs);
}

function save(s: Session): void {
  const { state } = s;
  saveCheckpoint(s.cfg.out, {
    config: { preset: s.run.preset, model: s.modelConfig, train: s.cfg, tokenizer: s.data.tokenizer.toJSON() },
    tensors: parameterTensors(s.model),
    optimizer: optimizerTensors(s.model, s.opt.exportState()),
    meta: {
      iteration: state.iteration,
      tokensSeen: state.tokensSeen,
      optimizerStep: s.opt.stepCount,
      rng: s.batchRng.getState(),
      bestValLoss: state.bestValLoss,
      elapsedMs: elapsedMs(s),
      ...(s.modelConfig.mod?.routing === 'random' ? { routingRng: s.model.routingRng.getState() } : {}),
    },
  });
  s.savedAt = state.iteration;
}

function interrupt(s: Session, last: LogRecord | null): TrainResult {
  if (s.savedAt !== s.state.iteration) save(s);
  s.progress.stop();
  s.io.out(`stopped at iteration ${s.state.iteration}/${s.cfg.maxIters}; checkpoint saved in ${s.cfg.out}\n`
    + 'to continue, run the same `mod train` command again with --resume added\n');
  return { iteration: s.state.iteration, stoppedBy: s.stop?.signal ?? 'SIGINT', last, out: s.cfg.out };
}

function printDone(s: Session, last: LogRecord | null): void {
  const out = s.cfg.out;
  if (last !== null) {
    s.io.out(`done: iteration ${last.iter}, train loss ${last.trainLoss.toFixed(4)}, val loss ${last.valLoss.toFixed(4)}`
      + ` (best ${s.state.bestValLoss?.toFixed(4) ?? '?'}) in ${formatDuration(last.elapsedMs / 1000)}`
      + (s.stepMs.length > 0 ? `, median ${median(s.stepMs).toFixed(1)} ms/step\n` : '\n'));
  }
  s.io.out(`checkpoint: ${out} (config.json, model.safetensors, optimizer.safetensors; log.jsonl)\n`);
  s.io.out(`try: npx mod sample --ckpt ${out}   or   npx mod eval --ckpt ${out}\n`);
}
