// A lookup table (V, C), init N(0, 0.02) as nanoGPT.
import { embedding } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { Module } from './module.js';

export class Embedding extends Module {
  readonly weight: Tensor; // (V, C)

  constructor(readonly numEmbeddings: number, readonly dim: number, rng: Rng, std = 0.02) {
    super();
    this.weight = this.addParameter('weight', Tensor.param([numEmbeddings, dim]));
    rng.fillNormal(this.weight.data, std);
  }

  /** ids (...lead) → (...lead, C) */
  forward(ids: Int32Array, lead: number[] = [ids.length]): Tensor {
    return embedding(ids, this.weight, lead);
  }
}
