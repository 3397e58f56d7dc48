// Normalisation layers over the last dimension: LayerNorm (bias optional, as nanoGPT) and RMSNorm; weight 1, bias 0.
import { layerNorm, rmsNorm } from '../engine/ops.js';
import { Tensor } from '../engine/tensor.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  readonly weight: Tensor; // (C)
  readonly bias: Tensor | null; // (C)

  constructor(readonly dim: number, bias: boolean) {
    super();
    this.weight = this.addParameter('weight', Tensor.param([dim]));
    this.weight.data.fill(1);
    this.bias = bias ? this.addParameter('bias', Tensor.param([dim])) : null;
  }

  /** (..., C) → (..., C) */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias);
  }
}

export class RMSNorm extends Module {
  readonly weight: Tensor; // (C)

  constructor(readonly dim: number) {
    super();
    this.weight = this.addParameter('weight', Tensor.param([dim]));
    this.weight.data.fill(1);
  }

  /** (..., C) → (..., C) */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight);
  }
}
