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
//
// This is a library function: it reports through callbacks (start, notices, steps, evaluations, checkpoints),
// never writes to the terminal, and stops on an AbortSignal after the current step, saving a checkpoint first.
// src/cli/train.ts turns the callbacks into the progress bar and log lines and maps Ctrl-C to the signal.
//
// Runs never lose work (docs/reliability.md): the output directory is locked for the run (out-dir.ts); a new run
// into a directory holding a checkpoint needs `overwrite`, and keeps the old log.jsonl until its own first
// checkpoint commits (run-log.ts); a config whose memory estimate exceeds the memory available is refused before
// anything is allocated (resources.ts); and a step whose loss or gradient norm is not finite is never applied: the
// run stops with a DivergenceError (or skips up to `skipNonFinite` such batches), and a model or optimizer state
// that is not finite is never saved, so the last good checkpoint stays.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { evalBatches, loadDataset, randomBatch, tokenizerFromJSON, type Batch, type Tokenizer } from '../data/index.js';
import { noGrad, releaseGraph } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { checkRoutedBlocks, type ModelConfig, validateModelConfig } from '../model/config.js';
import { trainingFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { checkArraySizes, trainingMemory } from '../model/memory.js';
import { AdamW } from './adamw.js';
import { causalRecord } from './causal-stats.js';
import { CONFIG_FILE, type DataSource, loadCheckpoint, PREV, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { type TrainConfig, type TrainRun, validateTrainConfig } from './config.js';
import { firstNonFinite, loadOptimizer, loadParameters, optimizerTensors, parameterTensors } from './model-state.js';
import { ensureDir, lockOutDir } from './out-dir.js';
import { checkMemory } from './resources.js';
import { appendLog, commitLog, settleLog, stageLog, truncateLog, type LogRecord } from './run-log.js';
import { learningRate } from './schedule.js';
import { type StepResult, trainStep } from './step.js';

export type { TrainRun } from './config.js';

/** Seeds of the fixed evaluation batches (independent of the run's seed). */
export const EVAL_SEED = { train: 0x5eed_0001, val: 0x5eed_0002 } as const;

/** The batch Rng's seed, derived from the run's seed so that it differs from the init stream. */
export function batchSeed(seed: number): number {
  return (seed ^ 0x9e3779b9) >>> 0;
}

/** Tokens to train on: a Dataset from the data layer, or token arrays with the tokenizer that made them. */
export interface TrainData {
  tokenizer: Tokenizer;
  train: Int32Array;
  val: Int32Array;
  /** Where the text came from, for messages. */
  source?: string;
  /** The text files' fingerprint, recorded in checkpoints (loadDataset gives it for --data files). */
  fingerprint?: DataSource;
}

/** What a run is about to do, told once before the first step. */
export interface TrainStart {
  model: GPT;
  data: TrainData;
  /** Iteration training starts from: 0, or the resumed checkpoint's. */
  iteration: number;
  resumed: boolean;
  /** Training FLOPs per token (docs/flops.md). */
  flopsPerToken: number;
  /** gradAccumSteps · batchSize · blockSize. */
  tokensPerStep: number;
}

export interface StepEvent {
  /** Optimizer steps completed. */
  iteration: number;
  /** Mean LM loss of the step's micro-batches. */
  loss: number;
  lr: number;
  /** Each clip group's gradient norm before clipping (model, then causal predictors). */
  gradNorms: number[];
  /** Wall time of the step (forward, backward, update), ms. */
  ms: number;
  /** Training tokens per second over this session's steps. */
  tokensPerSec: number;
}

/** What training reports, as it happens. */
export interface TrainCallbacks {
  /** Before the first step (after notices about the checkpoint being resumed). */
  onStart?: (start: TrainStart) => void;
  /** A remark worth showing a person (a resumed run's changed settings, a checkpoint about to be replaced, ...). */
  onNotice?: (message: string) => void;
  /** After every optimizer step. */
  onStep?: (step: StepEvent) => void;
  /** After each evaluation has been logged and checkpointed. */
  onEval?: (record: LogRecord) => void;
  /** After each checkpoint save. */
  onCheckpoint?: (checkpoint: { iteration: number; out: string }) => void;
}

export interface TrainOptions extends TrainCallbacks {
  /** The tokens to train on; default: run.train.data (the Brown corpus when null) with run.train.tokenizer. */
  data?: TrainData;
  /** Stops training after the current step (or evaluation batch), with a checkpoint. */
  signal?: AbortSignal;
  /** Extra evaluation points besides every evalInterval and the last step (`mod compare`: evenly spaced FLOPs). */
  evalAt?: (iteration: number) => boolean;
}

/** Both sets of callbacks, `a`'s first. */
export function bothCallbacks(a: TrainCallbacks, b: TrainCallbacks): TrainCallbacks {
  return {
    onStart: (s) => (a.onStart?.(s), b.onStart?.(s)),
    onNotice: (m) => (a.onNotice?.(m), b.onNotice?.(m)),
    onStep: (s) => (a.onStep?.(s), b.onStep?.(s)),
    onEval: (r) => (a.onEval?.(r), b.onEval?.(r)),
    onCheckpoint: (c) => (a.onCheckpoint?.(c), b.onCheckpoint?.(c)),
  };
}

export interface TrainResult {
  /** Optimizer steps completed. */
  iteration: number;
  /** The signal stopped training before maxIters (the checkpoint holds `iteration`). */
  aborted: boolean;
  /** The last evaluation, if any in this session. */
  last: LogRecord | null;
  bestValLoss: number | null;
  out: string;
  /** The trained model and its tokenizer, ready for generate() or evaluation. */
  model: GPT;
  tokenizer: Tokenizer;
  /** Wall time of each optimizer step of this session (evaluations and checkpoints excluded), ms. */
  stepMs: number[];
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
  data: TrainData;
  opt: AdamW;
  batchRng: Rng;
  evalSets: { train: Batch[]; val: Batch[] };
  flopsPerToken: number;
  state: RunState;
  startMs: number;
  options: TrainOptions;
  /** Iteration of the last checkpoint written. */
  savedAt: number;
  stepMs: number[];
  /** A new run whose log replaces log.jsonl when its first checkpoint commits (run-log.ts). */
  freshLog: boolean;
  /** Steps skipped for a non-finite loss or gradient norm in this session. */
  skipped: number;
}

/**
 * Trains `run` (resuming from run.train.out when run.resume), saving a checkpoint and a log.jsonl record in
 * run.train.out at every evaluation. The configs are validated first (a ConfigError names a bad key).
 */
export async function train(spec: TrainRun, options: TrainOptions = {}): Promise<TrainResult> {
  const startMs = performance.now();
  const run = checkRun(spec);
  const ckpt = run.resume === true ? loadResumeCheckpoint(run) : null;
  if (ckpt === null) checkFresh(run);
  const s = setup(run, ckpt, startMs, options);
  if (ckpt !== null && s.state.iteration >= s.cfg.maxIters) {
    notice(s, `the checkpoint is already at iteration ${s.state.iteration} >= maxIters=${s.cfg.maxIters}: nothing to train (raise --maxIters to continue)`);
    return result(s, null, false);
  }
  ensureDir(s.cfg.out);
  const lock = lockOutDir(s.cfg.out, (m) => notice(s, m));
  try {
    prepareOutDir(s, ckpt);
    return await loop(s);
  } finally {
    lock.release();
  }
}

/** Validates a run before anything is loaded or allocated: configs, array sizes, memory. */
function checkRun(spec: TrainRun): TrainRun {
  const run: TrainRun = { ...spec, model: validateModelConfig(spec.model), train: validateTrainConfig(spec.train) };
  checkRoutedBlocks(run.model);
  checkArraySizes(run.model, run.train.batchSize);
  checkMemory(trainingMemory(run.model, run.train.batchSize, run.train.evalIters), run.force === true);
  const skip = run.skipNonFinite ?? 0;
  if (!Number.isSafeInteger(skip) || skip < 0) throw new ConfigError(`skipNonFinite=${skip} is out of range: must be an integer >= 0`);
  if (run.resume === true && run.overwrite === true) {
    throw new ConfigError('--resume and --overwrite contradict each other: --resume continues the checkpoint in --out, --overwrite replaces it');
  }
  return run;
}

/** Whether `out` holds a checkpoint (or the previous one of an interrupted save). */
function holdsCheckpoint(out: string): boolean {
  return existsSync(path.join(out, CONFIG_FILE)) || existsSync(path.join(out, CONFIG_FILE + PREV));
}

/** A new run may not replace a checkpoint unless told to. */
function checkFresh(run: TrainRun): void {
  const out = run.train.out;
  if (run.overwrite !== true && holdsCheckpoint(out)) {
    throw new ConfigError(`${out} holds a checkpoint: add --resume to continue it, --overwrite to replace it with a new run, or choose another --out`);
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

/** The run's tokens: given, or loaded from its data source (a resumed run encodes with its checkpoint's tokenizer). */
function runData(run: TrainRun, ckpt: LoadedCheckpoint | null, given: TrainData | undefined): TrainData {
  if (given !== undefined) return given;
  const cfg = run.train;
  return loadDataset({
    ...(cfg.data === null ? {} : { data: cfg.data }),
    tokenizer: ckpt === null ? cfg.tokenizer : tokenizerFromJSON(ckpt.config.tokenizer),
    blockSize: run.model.blockSize,
  });
}

function setup(run: TrainRun, ckpt: LoadedCheckpoint | null, startMs: number, options: TrainOptions): Session {
  const data = runData(run, ckpt, options.data);
  // Given tokens: the checkpoint records their tokenizer's kind (there is no data path to record).
  const cfg = options.data === undefined ? run.train : { ...run.train, tokenizer: data.tokenizer.kind };
  const modelConfig: ModelConfig = { ...run.model, vocabSize: data.tokenizer.vocabSize };
  if (ckpt !== null) checkResumable(run, ckpt, modelConfig, data, options);
  checkArraySizes(modelConfig, cfg.batchSize);
  const model = new GPT(modelConfig, new Rng(cfg.seed));
  const opt = new AdamW(model.namedParameters(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  const batchRng = new Rng(batchSeed(cfg.seed));
  const state: RunState = { iteration: 0, tokensSeen: 0, bestValLoss: null, priorMs: 0 };
  if (ckpt !== null) restore(ckpt, cfg.out, model, opt, batchRng, state);
  const s: Session = {
    run, cfg, model, modelConfig, data, opt, batchRng, state, startMs, options,
    evalSets: fixedEvalSets(data, cfg, modelConfig.blockSize),
    flopsPerToken: trainingFlops(modelConfig).perToken,
    savedAt: ckpt === null ? -1 : state.iteration,
    stepMs: [],
    freshLog: ckpt === null,
    skipped: 0,
  };
  options.onStart?.({
    model, data, iteration: state.iteration, resumed: ckpt !== null, flopsPerToken: s.flopsPerToken,
    tokensPerStep: cfg.gradAccumSteps * cfg.batchSize * modelConfig.blockSize,
  });
  return s;
}

function notice(s: { options: TrainOptions }, message: string): void {
  s.options.onNotice?.(message);
}

/**
 * A resumed run: settles a log a kill left staged, and cuts log.jsonl back to the checkpoint's iteration. A new run
 * leaves log.jsonl alone until its first checkpoint commits.
 */
function prepareOutDir(s: Session, ckpt: LoadedCheckpoint | null): void {
  const out = s.cfg.out;
  if (ckpt === null) {
    if (holdsCheckpoint(out)) notice(s, `note: ${out} holds a checkpoint; this new run replaces it at its first evaluation (add --resume to continue it instead)`);
    return;
  }
  settleLog(out, ckpt.meta);
  truncateLog(out, s.state.iteration);
}

function fixedEvalSets(data: TrainData, cfg: TrainConfig, t: number): Session['evalSets'] {
  return {
    train: evalBatches(data.train, cfg.evalIters, cfg.batchSize, t, EVAL_SEED.train),
    val: evalBatches(data.val, cfg.evalIters, cfg.batchSize, t, EVAL_SEED.val),
  };
}

function checkResumable(run: TrainRun, ckpt: LoadedCheckpoint, modelConfig: ModelConfig, data: TrainData, options: TrainOptions): void {
  const diffs = modelDiffs(ckpt.config.model, modelConfig);
  if (diffs.length > 0) {
    throw new ConfigError(`--resume: the checkpoint in ${run.train.out} has a different model: ${diffs.join(', ')}; `
      + 'pass the same model settings (and --preset) as the run that wrote it, or train into a new --out');
  }
  const changed = trainDiffs(ckpt.config.train, run.train);
  if (changed.length > 0) notice({ options }, `note: resuming with changed train settings: ${changed.join(', ')}`);
  const before = ckpt.config.dataSource;
  if (before !== undefined && data.fingerprint !== undefined && before.sha256 !== data.fingerprint.sha256) {
    notice({ options }, `note: the training text changed since the checkpoint was saved (sha256 ${before.sha256.slice(0, 12)}… then, ${data.fingerprint.sha256.slice(0, 12)}… now)`);
  }
  if (ckpt.recovered) notice({ options }, `note: the last save in ${run.train.out} was interrupted; resuming from the previous checkpoint`);
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

// ---------------------------------------------------------------- the loop

async function loop(s: Session): Promise<TrainResult> {
  const { cfg, state } = s;
  const T = s.modelConfig.blockSize;
  const micro = Array.from({ length: cfg.gradAccumSteps }, (): Batch => ({
    x: new Int32Array(cfg.batchSize * T), y: new Int32Array(cfg.batchSize * T), B: cfg.batchSize, T,
  }));
  const tokensPerStep = cfg.gradAccumSteps * cfg.batchSize * T;
  let trainMs = 0;
  let trainTokens = 0;
  let last: LogRecord | null = null;
  while (state.iteration < cfg.maxIters) {
    const t0 = performance.now();
    const lr = learningRate(cfg, state.iteration);
    for (const b of micro) randomBatch(s.data.train, cfg.batchSize, T, s.batchRng, b);
    const step = trainStep(s.model, s.opt, micro, { lr, gradClip: cfg.gradClip });
    if (!step.applied) skipOrStop(s, step, lr);
    const { loss, gradNorms } = step;
    state.iteration++;
    state.tokensSeen += tokensPerStep;
    const ms = performance.now() - t0;
    s.stepMs.push(ms);
    trainMs += ms;
    trainTokens += tokensPerStep;
    s.options.onStep?.({ iteration: state.iteration, loss, lr, gradNorms, ms, tokensPerSec: (trainTokens / trainMs) * 1000 });
    if (state.iteration % cfg.evalInterval === 0 || state.iteration === cfg.maxIters || s.options.evalAt?.(state.iteration) === true) {
      last = await evaluateAndSave(s, lr);
    }
    await yieldToEventLoop();
    if (s.options.signal?.aborted === true && state.iteration < cfg.maxIters) {
      if (s.savedAt !== state.iteration) save(s, null);
      return result(s, last, true);
    }
  }
  return result(s, last, false);
}

function result(s: Session, last: LogRecord | null, aborted: boolean): TrainResult {
  return {
    iteration: s.state.iteration, aborted, last, bestValLoss: s.state.bestValLoss, out: s.cfg.out,
    model: s.model, tokenizer: s.data.tokenizer, stepMs: s.stepMs,
  };
}

/** "the loss is NaN", "the gradient norm is Infinity (causal predictors)". */
function nonFiniteWhat(step: StepResult): string {
  if (!Number.isFinite(step.loss)) return `the loss is ${step.loss}`;
  const i = step.gradNorms.findIndex((n) => !Number.isFinite(n));
  return `the gradient norm${i > 0 ? ' of the causal predictors' : ''} is ${step.gradNorms[i]}`;
}

/** The step's update was not applied: skip the batch if allowed (and the weights are still finite), else stop. */
function skipOrStop(s: Session, step: StepResult, lr: number): void {
  const at = s.state.iteration + 1;
  const limit = s.run.skipNonFinite ?? 0;
  const what = nonFiniteWhat(step);
  if (s.skipped < limit && firstNonFinite(parameterTensors(s.model)) === null) {
    s.skipped++;
    notice(s, `note: iteration ${at}: ${what}; batch skipped, weights unchanged (${s.skipped} of --skipNonFinite=${limit})`);
    return;
  }
  throw divergence(s, at, `${what} (lr ${lr.toExponential(2)})`);
}

/** The one-line error of a diverged run: where, what, which checkpoint is intact, and what to change. */
function divergence(s: Session, iteration: number, what: string): DivergenceError {
  const { cfg } = s;
  const kept = s.savedAt >= 0 ? `the checkpoint of iteration ${s.savedAt} in ${cfg.out} is untouched` : 'no checkpoint of this run was saved';
  const clip = cfg.gradClip > 0 ? `a smaller --gradClip (now ${cfg.gradClip})` : 'gradient clipping (--gradClip=1)';
  return new DivergenceError(`training diverged at iteration ${iteration}: ${what}; ${kept}; `
    + `lower --lr (now ${cfg.lr}) or use ${clip}${s.savedAt > 0 ? ', then --resume or train again' : ', then train again'}`, iteration);
}

/** Lets pending signal handlers, timers and abort events run. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
  if (!Number.isFinite(trainLoss) || !Number.isFinite(valLoss)) {
    throw divergence(s, state.iteration, `the evaluation loss is ${Number.isFinite(trainLoss) ? valLoss : trainLoss} (train ${trainLoss}, val ${valLoss})`);
  }
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
  save(s, record);
  s.options.onEval?.(record);
  return record;
}

function elapsedMs(s: Session): number {
  return s.state.priorMs + (performance.now() - s.startMs);
}

/**
 * Logs `record` (if any) and saves a checkpoint, unless the weights or AdamW's moments are not finite (a
 * DivergenceError: the last checkpoint stays). A new run's log replaces log.jsonl once its first checkpoint commits.
 */
function save(s: Session, record: LogRecord | null): void {
  const { state } = s;
  const tensors = parameterTensors(s.model);
  const optimizer = optimizerTensors(s.model, s.opt.exportState());
  const bad = firstNonFinite(tensors) ?? firstNonFinite(optimizer);
  if (bad !== null) throw divergence(s, state.iteration, `${bad} is not finite, so it was not saved`);
  if (s.freshLog) stageLog(s.cfg.out, record === null ? [] : [record]);
  else if (record !== null) appendLog(s.cfg.out, record);
  saveCheckpoint(s.cfg.out, {
    config: {
      ...(s.run.preset === undefined ? {} : { preset: s.run.preset }),
      model: s.modelConfig, train: s.cfg, tokenizer: s.data.tokenizer.toJSON(),
      ...(s.data.fingerprint === undefined ? {} : { dataSource: s.data.fingerprint }),
    },
    tensors,
    optimizer,
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
  if (s.freshLog) {
    commitLog(s.cfg.out);
    s.freshLog = false;
  }
  s.savedAt = state.iteration;
  s.options.onCheckpoint?.({ iteration: state.iteration, out: s.cfg.out });
}
