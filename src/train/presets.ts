// Named starting points for `mod train --preset NAME` and `mod info --preset NAME`; any key can be overridden.
import { ConfigError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { didYouMean } from '../model/schema.js';
import type { TrainConfig } from './config.js';

export interface Preset {
  name: string;
  /** One line for `--help`. */
  description: string;
  model: ModelConfig;
  train: TrainConfig;
  /** `mod train` refuses to run without `--data`. */
  requiresData?: boolean;
  /** What file `--data` should be, for the error message. */
  dataHint?: string;
}

/**
 * The default job: a byte-level GPT on the embedded Brown corpus that trains in a few minutes on 2 cores.
 * Training cost (docs/flops.md): 0.84 M parameters, 5.3 MFLOP/token · 2048 tokens/step ≈ 10.9 GFLOP/step, so
 * 3000 steps ≈ 32.6 TFLOP, plus evaluation (3 % more): 33.5 TFLOP. Measured on 2 EPYC cores (native, AVX-512):
 * about 3.5 minutes, val loss 1.55 nats/byte. lr 2e-3 beat nanoGPT's 1e-3 for this small model (val 1.88 vs
 * 1.99 after 1000 steps).
 */
const brownSmall: Preset = {
  name: 'brown-small',
  description: 'byte-level GPT on the embedded Brown corpus, a few minutes on 2 cores (the default)',
  model: {
    vocabSize: 256,
    blockSize: 128,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    mlpRatio: 4,
    bias: false,
    tiedEmbeddings: true,
    positions: 'learned',
  },
  train: {
    maxIters: 3000,
    evalInterval: 500,
    evalIters: 20,
    logInterval: 10,
    batchSize: 16,
    gradAccumSteps: 1,
    lr: 2e-3,
    minLr: 2e-4,
    lrSchedule: 'cosine',
    warmupIters: 100,
    lrDecayIters: 3000,
    beta1: 0.9,
    beta2: 0.99,
    weightDecay: 0.1,
    gradClip: 1.0,
    seed: 1337,
    tokenizer: 'byte',
    data: null,
    out: 'out/brown-small',
  },
};

/**
 * nanoGPT's CPU recipe for Shakespeare characters (its README: `--device=cpu --compile=False --eval_iters=20
 * --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
 * --lr_decay_iters=2000 --dropout=0.0` on config/train_shakespeare_char.py). vocabSize 65 is tiny Shakespeare's
 * character count; training takes it from the data.
 */
const shakespeareCharCpu: Preset = {
  name: 'shakespeare-char-cpu',
  description: "nanoGPT's CPU Shakespeare-char recipe (needs --data input.txt)",
  requiresData: true,
  dataHint: "e.g. tiny Shakespeare's input.txt",
  model: {
    vocabSize: 65,
    blockSize: 64,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    mlpRatio: 4,
    bias: false,
    tiedEmbeddings: true,
    positions: 'learned',
  },
  train: {
    maxIters: 2000,
    evalInterval: 250,
    evalIters: 20,
    logInterval: 10,
    batchSize: 12,
    gradAccumSteps: 1,
    lr: 1e-3,
    minLr: 1e-4,
    lrSchedule: 'cosine',
    warmupIters: 100,
    lrDecayIters: 2000,
    beta1: 0.9,
    beta2: 0.99,
    weightDecay: 0.1,
    gradClip: 1.0,
    seed: 1337,
    tokenizer: 'char',
    data: null,
    out: 'out/shakespeare-char-cpu',
  },
};

/**
 * The Mixture-of-Depths twin of brown-small: the same dims and training, with every 2nd block routed at capacity
 * 12.5% (the paper's best setting), so a routed block processes 16 of 128 tokens.
 */
const brownModSmall: Preset = {
  ...brownSmall,
  name: 'brown-mod-small',
  description: 'brown-small with Mixture-of-Depths routing (capacity 0.125, every 2nd block)',
  model: {
    ...brownSmall.model,
    mod: { capacity: 0.125, every: 2, routerWeight: 'raw', routing: 'learned', causal: 'predictor', auxWeight: 0.1, predictorHidden: 64 },
  },
  train: { ...brownSmall.train, out: 'out/brown-mod-small' },
};

const presets: ReadonlyMap<string, Preset> = new Map([brownSmall, brownModSmall, shakespeareCharCpu].map((p) => [p.name, p]));

export const defaultPresetName = 'brown-small';

export function presetNames(): string[] {
  return [...presets.keys()];
}

/** A deep copy of the named preset, or a ConfigError listing the presets. */
export function getPreset(name: string): Preset {
  const p = presets.get(name);
  if (p === undefined) {
    throw new ConfigError(`unknown preset '${name}'${didYouMean(name, presetNames())} (presets: ${presetNames().join(', ')})`);
  }
  return structuredClone(p);
}
