// Block benchmark: one pre-LN transformer block (d = 256, 4 heads, MLP 4×) on B = 8 sequences of T = 256, on the
// active backend. Reports the median forward time and the median forward + backward time (the forward records the
// tape, as in training); the graph is released every iteration, so memory stays flat.
import { backward, releaseGraph, zeroGrad } from '../engine/autograd.js';
import { sequencePositions } from '../engine/ops.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import type { ModelConfig } from '../model/config.js';
import { Block } from '../model/gpt.js';
import { median } from './stats.js';

export interface BlockBenchResult {
  fwdMs: number;
  fwdBwdMs: number;
}

export const blockBenchShape = { b: 8, t: 256, nEmbd: 256, nHead: 4, mlpRatio: 4 } as const;

export function runBlockBench(opts: { repeats?: number; warmup?: number } = {}): BlockBenchResult {
  const repeats = opts.repeats ?? 10;
  const warmup = opts.warmup ?? 2;
  const { b, t, nEmbd, nHead, mlpRatio } = blockBenchShape;
  const config: ModelConfig = {
    vocabSize: 256,
    blockSize: t,
    nLayer: 1,
    nHead,
    nEmbd,
    mlpRatio,
    bias: true,
    tiedEmbeddings: true,
    positions: 'learned',
  };
  const rng = new Rng(1234);
  const block = new Block(config, rng);
  const x = new Tensor(rng.fillNormal(new Float32Array(b * t * nEmbd), 1), [b, t, nEmbd], { requiresGrad: true });
  const dy = rng.fillNormal(new Float32Array(b * t * nEmbd), 1);
  const params = [...block.parameters(), x];
  const fwd: number[] = [];
  const fwdBwd: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    zeroGrad(params);
    const t0 = performance.now();
    const y = block.forward(x, sequencePositions(b, t)); // (B, T, C)
    const t1 = performance.now();
    backward(y, dy);
    const t2 = performance.now();
    releaseGraph();
    if (i >= warmup) {
      fwd.push(t1 - t0);
      fwdBwd.push(t2 - t0);
    }
  }
  return { fwdMs: median(fwd), fwdBwdMs: median(fwdBwd) };
}
