// The learning-rate schedule of nanoGPT's train.py (get_lr, the current version):
//   it < warmup:        lr · (it + 1) / (warmup + 1)      linear warmup; never 0, so step 0 is not wasted
//   it > lrDecayIters:  minLr
//   otherwise:          minLr + ½(1 + cos(π · (it − warmup) / (lrDecayIters − warmup))) · (lr − minLr)
// `it` is the 0-based index of the optimizer step about to be taken. Older nanoGPT used lr · it / warmup, which
// gives lr = 0 at step 0; we follow the newer form. The `constant` schedule keeps the warmup, then stays at lr.
import type { TrainConfig } from './config.js';

export type ScheduleConfig = Pick<TrainConfig, 'lr' | 'minLr' | 'lrSchedule' | 'warmupIters' | 'lrDecayIters'>;

/** The learning rate of optimizer step `it` (0-based). */
export function learningRate(cfg: ScheduleConfig, it: number): number {
  const { lr, minLr, warmupIters: warmup, lrDecayIters: decay } = cfg;
  if (it < warmup) return (lr * (it + 1)) / (warmup + 1);
  if (cfg.lrSchedule === 'constant') return lr;
  // it >= decay also covers decay == warmup, where the cosine has no length.
  if (it >= decay) return minLr;
  const ratio = (it - warmup) / (decay - warmup); // in [0, 1)
  const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
  return minLr + coeff * (lr - minLr);
}
