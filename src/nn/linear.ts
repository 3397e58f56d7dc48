// y = x·Wᵀ + b with W stored (out, in), as torch.nn.Linear and nanoGPT; init N(0, std), bias 0.
import { linear } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias: boolean;
  rng: Rng;
  /** Standard deviation of the weight init (nanoGPT: 0.02; residual projections 0.02/sqrt(2·nLayer)). */
  std?: number;
}

export class Linear extends Module {
  readonly weight: Tensor; // (out, in)
  readonly bias: Tensor | null; // (out)

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions) {
    super();
    this.weight = this.addParameter('weight', Tensor.param([outFeatures, inFeatures]));
    opts.rng.fillNormal(this.weight.data, opts.std ?? 0.02);
    this.bias = opts.bias ? this.addParameter('bias', Tensor.param([outFeatures])) : null;
  }

  /** (..., in) → (..., out) */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
