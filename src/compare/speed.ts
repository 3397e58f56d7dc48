// Step time of each variant's model measured side by side: full training steps (forward, backward, AdamW) on the
// same random batch, round-robin after a warm-up, so that machine noise (the machine is shared) hits every variant
// alike. The median per variant is what the report's speed ratios use.
import { backward, releaseGraph, zeroGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import type { ModelConfig } from '../model/config.js';
import { GPT, type GPTOutput } from '../model/gpt.js';
import type { Tensor } from '../engine/tensor.js';
import { median } from '../bench/stats.js';
import { AdamW } from '../train/adamw.js';

export interface SpeedOptions {
  batchSize: number;
  repeats: number;
  warmup: number;
}

interface Stepper {
  times: number[];
  step(): void;
}

function stepper(config: ModelConfig, b: number, ids: Int32Array, targets: Int32Array): Stepper {
  const model = new GPT(config, new Rng(1));
  const opt = new AdamW(model.namedParameters(), { lr: 1e-4 });
  const params = model.parameters();
  const t = config.blockSize;
  return {
    times: [],
    step() {
      // A MoD model's training objective may add its causal-routing loss to the LM loss (when the build has one).
      const out = model.forward(ids, b, t, targets) as GPTOutput & { trainingLoss?: Tensor };
      backward(out.trainingLoss ?? out.loss!);
      opt.step();
      zeroGrad(params);
      releaseGraph();
    },
  };
}

/** Median ms per optimizer step (one micro-batch of batchSize sequences) of each config, measured interleaved. */
export function measureStepMs(configs: ReadonlyMap<string, ModelConfig>, opts: SpeedOptions): Map<string, number> {
  const first = [...configs.values()][0];
  if (first === undefined) return new Map();
  const rng = new Rng(7);
  const n = opts.batchSize * first.blockSize;
  const ids = Int32Array.from({ length: n }, () => rng.int(first.vocabSize));
  const targets = Int32Array.from({ length: n }, () => rng.int(first.vocabSize));
  const steppers = new Map([...configs].map(([name, c]) => [name, stepper(c, opts.batchSize, ids, targets)]));
  for (let i = 0; i < opts.warmup + opts.repeats; i++) {
    for (const s of steppers.values()) {
      const t0 = performance.now();
      s.step();
      if (i >= opts.warmup) s.times.push(performance.now() - t0);
    }
  }
  return new Map([...steppers].map(([name, s]) => [name, median(s.times)]));
}
