// Training-step benchmark: ms per full step (forward, backward, AdamW) of a dense GPT and of its Mixture-of-Depths
// twins (every 2nd block routed), d = 256, 8 layers, 4 heads, T = 256, B = 8, in one run and interleaved, so that
// machine noise hits every variant alike. FLOPs per step are counted as in docs/flops.md.
import { backward, releaseGraph, zeroGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { type ModelConfig, modConfigDefaults } from '../model/config.js';
import { trainingFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { AdamW } from '../train/adamw.js';
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
  return capacity === null ? dense : { ...dense, mod: { ...modConfigDefaults, capacity, every: 2 } };
}

interface Runner {
  row: Omit<TrainBenchRow, 'msPerStep'>;
  times: number[];
  step(): void;
}

function runner(capacity: number | null, ids: Int32Array, targets: Int32Array): Runner {
  const { b, t } = trainBenchShape;
  const config = trainBenchConfig(capacity);
  const model = new GPT(config, new Rng(1));
  const opt = new AdamW(model.namedParameters(), { lr: 1e-4 });
  const params = model.parameters();
  return {
    row: { variant: capacity === null ? 'dense' : 'mod', capacity: capacity ?? 1, flopsPerStep: trainingFlops(config, t).perSequence * b },
    times: [],
    step() {
      zeroGrad(params);
      const { loss } = model.forward(ids, b, t, targets);
      backward(loss!);
      opt.step();
      releaseGraph();
    },
  };
}

/** Median ms per step for dense and MoD at each capacity, measured round-robin after a warm-up. */
export function runTrainBench(opts: { repeats?: number; warmup?: number; capacities?: number[] } = {}): TrainBenchRow[] {
  const repeats = opts.repeats ?? 8;
  const warmup = opts.warmup ?? 2;
  const { b, t, vocabSize } = trainBenchShape;
  const rng = new Rng(7);
  const ids = Int32Array.from({ length: b * t }, () => rng.int(vocabSize));
  const targets = Int32Array.from({ length: b * t }, () => rng.int(vocabSize));
  const runners = [null, ...(opts.capacities ?? [0.125, 0.5])].map((c) => runner(c, ids, targets));
  for (let i = 0; i < warmup + repeats; i++) {
    for (const r of runners) {
      const t0 = performance.now();
      r.step();
      if (i >= warmup) r.times.push(performance.now() - t0);
    }
  }
  return runners.map((r) => ({ ...r.row, msPerStep: median(r.times) }));
}
