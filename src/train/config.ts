// Training configuration, and the resolution of a run's config from a preset plus command-line overrides
// (nanoGPT's configurator without exec: `--key=value` / `--key value`, typed by the schema).
import { ConfigError } from '../errors.js';
import { type ModelConfig, modelConfigSchema, validateModelConfig } from '../model/config.js';
import { defaultPresetName, getPreset } from '../model/presets.js';
import {
  applyOverride,
  flatKeys,
  type KeyKind,
  type Plain,
  type Schema,
  type SchemaFor,
  specOf,
  splitArgs,
  unknownKey,
  validateObject,
} from '../model/schema.js';

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
  preset: string;
  /** For training, vocabSize is replaced by the tokenizer's (byte: 256; char: distinct characters of the data). */
  model: ModelConfig;
  train: TrainConfig;
}

/** A resolved `mod train` invocation. */
export interface TrainRun extends RunConfig {
  /** Continue from the checkpoint in `train.out` (its configs must match, see the trainer). */
  resume: boolean;
}

/** Every override key of a run: train keys and model keys share one flat namespace. */
export const runSchema: Schema = { ...trainConfigSchema, ...modelConfigSchema };

export type RunCommand = 'train' | 'info';

/** Keys that are not config values but options of the command. */
const COMMAND_KEYS: Record<RunCommand, readonly string[]> = { train: ['preset', 'resume'], info: ['preset'] };

/**
 * Resolves `[--preset NAME] [--key=value | --key value ...]` (and `--resume` for train) to a validated run.
 * Later values of a key win. For `train`, vocabSize is not settable (the tokenizer decides) and a preset that
 * needs a data file must get one.
 */
export function resolveRun(args: readonly string[], command: RunCommand): TrainRun {
  const extra = COMMAND_KEYS[command];
  const pairs = splitArgs(args, (key) => keyKind(key, extra));
  let presetName = defaultPresetName;
  let resume = false;
  const overrides: Array<[string, string]> = [];
  for (const [key, value] of pairs) {
    if (key === 'preset' && extra.includes(key)) presetName = value;
    else if (key === 'resume' && extra.includes(key)) resume = parseFlag(key, value);
    else overrides.push([key, value]);
  }
  const preset = getPreset(presetName);
  const model = structuredClone(preset.model) as unknown as Plain;
  const train = structuredClone(preset.train) as unknown as Plain;
  for (const [key, value] of overrides) {
    if (!isKnown(key)) throw unknownKey(key, [...flatKeys(runSchema), ...extra]);
    if (command === 'train' && key === 'vocabSize') {
      throw new ConfigError(`vocabSize=${value} cannot be set for training: the tokenizer decides it (byte: 256; char: the distinct characters of the data)`);
    }
    const root = key.split('.')[0]!;
    if (Object.hasOwn(modelConfigSchema, root)) applyOverride(modelConfigSchema, model, key, value);
    else applyOverride(trainConfigSchema, train, key, value);
  }
  const run: TrainRun = { preset: preset.name, model: validateModelConfig(model), train: validateTrainConfig(train), resume };
  if (command === 'train' && preset.requiresData && run.train.data === null) {
    throw new ConfigError(`preset ${preset.name} needs a training text file: pass --data PATH (${preset.dataHint ?? 'a UTF-8 text file'})`);
  }
  return run;
}

function isKnown(key: string): boolean {
  try {
    specOf(runSchema, key);
    return true;
  } catch {
    return false;
  }
}

function keyKind(key: string, extra: readonly string[]): KeyKind {
  if (key === 'resume' && extra.includes(key)) return 'flag';
  if (extra.includes(key)) return 'value';
  if (!isKnown(key)) return 'unknown';
  return specOf(runSchema, key).type === 'boolean' ? 'flag' : 'value';
}

function parseFlag(key: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new ConfigError(`${key}='${value}' has the wrong type: must be true or false`);
  return value === 'true';
}
