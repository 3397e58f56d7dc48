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
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { evalBatches, loadDataset, randomBatch, tokenizerFromJSON, type Batch, type Tokenizer } from '../data/index.js';
import { noGrad, releaseGraph } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { ConfigError } from '../errors.js';
import { type ModelConfig, validateModelConfig } from '../model/config.js';
import { trainingFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { AdamW } from './adamw.js';
import { causalRecord } from './causal-stats.js';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { type TrainConfig, type TrainRun, validateTrainConfig } from './config.js';
import { loadOptimizer, loadParameters, optimizerTensors, parameterTensors } from './model-state.js';
import { appendLog, truncateLog, type LogRecord } from './run-log.js';
import { learningRate } from './schedule.js';
import { trainStep } from './step.js';

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
}

/**
 * Trains `run` (resuming from run.train.out when run.resume), saving a checkpoint and a log.jsonl record in
 * run.train.out at every evaluation. The configs are validated first (a ConfigError names a bad key).
 */
export async function train(spec: TrainRun, options: TrainOptions = {}): Promise<TrainResult> {
  const startMs = performance.now();
  const run: TrainRun = { ...spec, model: validateModelConfig(spec.model), train: validateTrainConfig(spec.train) };
  const ckpt = run.resume === true ? loadResumeCheckpoint(run) : null;
  const s = setup(run, ckpt, startMs, options);
  if (ckpt !== null && s.state.iteration >= s.cfg.maxIters) {
    notice(s, `the checkpoint is already at iteration ${s.state.iteration} >= maxIters=${s.cfg.maxIters}: nothing to train (raise --maxIters to continue)`);
    return result(s, null, false);
  }
  prepareOutDir(s, ckpt);
  return loop(s);
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
  if (ckpt !== null) checkResumable(run, ckpt, modelConfig, options);
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

/** Creates the output directory and cuts log.jsonl back to the starting iteration (emptied for a new run). */
function prepareOutDir(s: Session, ckpt: LoadedCheckpoint | null): void {
  const out = s.cfg.out;
  if (ckpt === null && existsSync(path.join(out, CONFIG_FILE))) {
    notice(s, `note: ${out} holds a checkpoint; this new run replaces it at its first evaluation (add --resume to continue it instead)`);
  }
  mkdirSync(out, { recursive: true });
  truncateLog(out, s.state.iteration);
}

function fixedEvalSets(data: TrainData, cfg: TrainConfig, t: number): Session['evalSets'] {
  return {
    train: evalBatches(data.train, cfg.evalIters, cfg.batchSize, t, EVAL_SEED.train),
    val: evalBatches(data.val, cfg.evalIters, cfg.batchSize, t, EVAL_SEED.val),
  };
}

function checkResumable(run: TrainRun, ckpt: LoadedCheckpoint, modelConfig: ModelConfig, options: TrainOptions): void {
  const diffs = modelDiffs(ckpt.config.model, modelConfig);
  if (diffs.length > 0) {
    throw new ConfigError(`--resume: the checkpoint in ${run.train.out} has a different model: ${diffs.join(', ')}; `
      + 'pass the same model settings (and --preset) as the run that wrote it, or train into a new --out');
  }
  const changed = trainDiffs(ckpt.config.train, run.train);
  if (changed.length > 0) notice({ options }, `note: resuming with changed train settings: ${changed.join(', ')}`);
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
    const { loss, gradNorms } = trainStep(s.model, s.opt, micro, { lr, gradClip: cfg.gradClip });
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
      if (s.savedAt !== state.iteration) save(s);
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
  s.options.onEval?.(record);
  return record;
}

function elapsedMs(s: Session): number {
  return s.state.priorMs + (performance.now() - s.startMs);
}

function save(s: Session): void {
  const { state } = s;
  saveCheckpoint(s.cfg.out, {
    config: { ...(s.run.preset === undefined ? {} : { preset: s.run.preset }), model: s.modelConfig, train: s.cfg, tokenizer: s.data.tokenizer.toJSON() },
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
  s.options.onCheckpoint?.({ iteration: state.iteration, out: s.cfg.out });
}
