// Training-step benchmark: ms per full step (trainStep: forward, the training loss with the causal rule's BCE,
// backward, clipping, AdamW) of a dense GPT and of its Mixture-of-Depths twins (every 2nd block routed), d = 256,
// 8 layers, 4 heads, T = 256, B = 8, in one run and interleaved, so that machine noise hits every variant alike.
// FLOPs per step are counted as in docs/flops.md. `mod compare` times its variants with the same timeTrainSteps.
import { Rng } from '../engine/rng.js';
import { type ModelConfig, modConfigDefaults } from '../model/config.js';
import { trainingFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { AdamW } from '../train/adamw.js';
import { getPreset } from '../train/presets.js';
import { trainStep } from '../train/step.js';
import { median } from './stats.js';

export interface TrainBenchRow {
  variant: 'dense' | 'mod';
  capacity: number;
  msPerStep: number;
  flopsPerStep: number;
}

export const trainBenchShape = { b: 8, t: 256, nEmbd: 256, nHead: 4, nLayer: 8, vocabSize: 256 } as const;

/** The dense config of the benchmark, and its MoD twin at a capacity (every 2nd block routed). */
export function trainBenchConfig(capacity: number | null): ModelConfig {
  const { t, nEmbd, nHead, nLayer, vocabSize } = trainBenchShape;
  const dense: ModelConfig = { vocabSize, blockSize: t, nLayer, nHead, nEmbd, mlpRatio: 4, bias: false, tiedEmbeddings: true, positions: 'learned' };
  return capacity === null ? dense : withRouting(dense, capacity);
}

/** A dense config's MoD twin: every 2nd block routed at this capacity. */
function withRouting(dense: ModelConfig, capacity: number): ModelConfig {
  return { ...dense, mod: { ...modConfigDefaults, capacity, every: 2 } };
}

export interface StepTiming {
  /** Sequences per step (one micro-batch). */
  batchSize: number;
  repeats: number;
  warmup: number;
}

/**
 * Median ms per training step of each config, on the same random batch, round-robin after a warm-up so that noise
 * hits every config alike. Steps clip at 1.0 as the presets do.
 */
export function timeTrainSteps(configs: ReadonlyMap<string, ModelConfig>, opts: StepTiming): Map<string, number> {
  const first = [...configs.values()][0];
  if (first === undefined) return new Map();
  const rng = new Rng(7);
  const t = first.blockSize;
  const n = opts.batchSize * t;
  const batch = {
    x: Int32Array.from({ length: n }, () => rng.int(first.vocabSize)),
    y: Int32Array.from({ length: n }, () => rng.int(first.vocabSize)),
    B: opts.batchSize,
    T: t,
  };
  const runners = [...configs].map(([name, config]) => {
    const model = new GPT(config, new Rng(1));
    const opt = new AdamW(model.namedParameters(), { lr: 1e-4 });
    return { name, times: [] as number[], step: () => trainStep(model, opt, batch, { lr: 1e-4, gradClip: 1 }) };
  });
  for (let i = 0; i < opts.warmup + opts.repeats; i++) {
    for (const r of runners) {
      const t0 = performance.now();
      r.step();
      if (i >= opts.warmup) r.times.push(performance.now() - t0);
    }
  }
  return new Map(runners.map((r) => [r.name, median(r.times)]));
}

/** The preset's model without routing, and its batch size: `mod bench train --preset NAME`. */
function presetShape(name: string): { dense: ModelConfig; b: number } {
  const p = getPreset(name);
  const { mod: _routing, ...dense } = p.model;
  return { dense, b: p.train.batchSize };
}

/**
 * Median ms per step for dense and MoD at each capacity (every 2nd block routed), measured round-robin after a
 * warm-up: the benchmark's d 256 L8 model, or a preset's model at its batch size.
 */
export function runTrainBench(opts: { repeats?: number; warmup?: number; capacities?: number[]; preset?: string } = {}): TrainBenchRow[] {
  const { dense, b } = opts.preset === undefined ? { dense: trainBenchConfig(null), b: trainBenchShape.b } : presetShape(opts.preset);
  const capacities = [null, ...(opts.capacities ?? [0.125, 0.5])];
  const config = (c: number | null): ModelConfig => (c === null ? dense : withRouting(dense, c));
  const configs = new Map(capacities.map((c) => [String(c), config(c)]));
  const ms = timeTrainSteps(configs, { batchSize: b, repeats: opts.repeats ?? 8, warmup: opts.warmup ?? 2 });
  return capacities.map((c) => ({
    variant: c === null ? 'dense' : 'mod',
    capacity: c ?? 1,
    flopsPerStep: trainingFlops(config(c), dense.blockSize).perSequence * b,
    msPerStep: ms.get(String(c))!,
  }));
}
