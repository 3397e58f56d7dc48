// Training configuration: typed here, validated by validateTrainConfig, saved in every checkpoint. A run is a model
// config and a train config (src/cli/run-config.ts resolves one from a preset plus command-line overrides).
import { ConfigError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { type SchemaFor, validateObject } from '../model/schema.js';

/** Hyperparameters and I/O of a training run. camelCase names are the CLI contract (`--maxIters=2000`). */
export interface TrainConfig {
  /** Optimizer steps. */
  maxIters: number;
  /** Evaluate (and checkpoint) every this many steps, and after the last. */
  evalInterval: number;
  /** Batches averaged per split at each evaluation. */
  evalIters: number;
  /** Print a progress line every this many steps (when stdout is not a terminal). */
  logInterval: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step (gradients accumulated). */
  gradAccumSteps: number;
  /** Peak learning rate. */
  lr: number;
  /** Final learning rate of the cosine decay. */
  minLr: number;
  /** `cosine`: linear warmup then cosine decay to minLr at lrDecayIters; `constant`: warmup then lr. */
  lrSchedule: 'cosine' | 'constant';
  warmupIters: number;
  lrDecayIters: number;
  beta1: number;
  beta2: number;
  /** AdamW decoupled weight decay, applied to 2-D weights only (as nanoGPT). */
  weightDecay: number;
  /** Clip the global gradient norm to this; 0 disables clipping. */
  gradClip: number;
  /** Seeds initialisation and batch sampling. */
  seed: number;
  tokenizer: 'byte' | 'char';
  /** A UTF-8 text file, or null for the embedded Brown corpus. */
  data: string | null;
  /** Output directory: checkpoint (written at every evaluation and at the end) and logs. */
  out: string;
}

export const trainConfigSchema = {
  maxIters: { type: 'int', min: 1, doc: 'optimizer steps' },
  evalInterval: { type: 'int', min: 1, doc: 'evaluate and checkpoint every N steps' },
  evalIters: { type: 'int', min: 1, doc: 'batches per split per evaluation' },
  logInterval: { type: 'int', min: 1, doc: 'log a line every N steps (non-terminal output)' },
  batchSize: { type: 'int', min: 1, doc: 'sequences per micro-batch' },
  gradAccumSteps: { type: 'int', min: 1, doc: 'micro-batches per optimizer step' },
  lr: { type: 'number', min: 0, minExclusive: true, doc: 'peak learning rate' },
  minLr: { type: 'number', min: 0, doc: 'final learning rate (<= lr)' },
  lrSchedule: { type: 'enum', values: ['cosine', 'constant'], doc: 'learning-rate schedule after warmup' },
  warmupIters: { type: 'int', min: 0, doc: 'linear warmup steps' },
  lrDecayIters: { type: 'int', min: 1, doc: 'step at which the cosine reaches minLr' },
  beta1: { type: 'number', min: 0, max: 1, maxExclusive: true, doc: 'AdamW beta1' },
  beta2: { type: 'number', min: 0, max: 1, maxExclusive: true, doc: 'AdamW beta2' },
  weightDecay: { type: 'number', min: 0, doc: 'AdamW weight decay (2-D weights)' },
  gradClip: { type: 'number', min: 0, doc: 'max global gradient norm, 0 = off' },
  seed: { type: 'int', min: 0, max: 4294967295, doc: 'random seed' },
  tokenizer: { type: 'enum', values: ['byte', 'char'], doc: 'tokenizer' },
  data: { type: 'string', nullable: true, doc: 'training text file; null = embedded Brown corpus' },
  out: { type: 'string', doc: 'output directory' },
} as const satisfies SchemaFor<TrainConfig>;

/** Checks a train config; a ConfigError names the first bad key. */
export function validateTrainConfig(value: unknown): TrainConfig {
  const cfg = validateObject(trainConfigSchema, value) as unknown as TrainConfig;
  if (cfg.minLr > cfg.lr) throw new ConfigError(`minLr=${cfg.minLr} is out of range: must be <= lr=${cfg.lr}`);
  if (cfg.lrSchedule === 'cosine' && cfg.warmupIters > cfg.lrDecayIters) {
    throw new ConfigError(`warmupIters=${cfg.warmupIters} is out of range: must be <= lrDecayIters=${cfg.lrDecayIters}`);
  }
  if (cfg.data === '') throw new ConfigError(`data='' is not a file: give a path, or null for the Brown corpus`);
  if (cfg.out === '') throw new ConfigError(`out='' is not a directory: give a path`);
  return cfg;
}

/** A fully resolved run: which preset it came from, and the validated model and train configs. */
export interface RunConfig {
  /** The preset it started from, if any (recorded in checkpoints). */
  preset?: string;
  /** For training, vocabSize is replaced by the tokenizer's (byte: 256; char: distinct characters of the data). */
  model: ModelConfig;
  train: TrainConfig;
}

/** A resolved `mod train` invocation. */
export interface TrainRun extends RunConfig {
  /** Continue from the checkpoint in `train.out` (its configs must match, see the trainer). */
  resume?: boolean;
  /** Start afresh in a `train.out` that holds a checkpoint (refused without it); replaced at the first evaluation. */
  overwrite?: boolean;
  /** Train even when the memory estimate exceeds the memory available. */
  force?: boolean;
  /** Skip up to this many steps whose loss or gradient norm is not finite (default 0: stop at the first). */
  skipNonFinite?: number;
}
