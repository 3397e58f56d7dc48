// The transformer MLP, as nanoGPT: c_fc (C → mlpRatio·C) → GELU (tanh) → c_proj (back to C).
import { gelu } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { mlpHidden, type ModelConfig } from '../model/config.js';
import { residualStd } from './attention.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export class MLP extends Module {
  readonly cFc: Linear; // (H, C), H = mlpRatio · C
  readonly cProj: Linear; // (C, H)

  constructor(config: ModelConfig, rng: Rng) {
    super();
    const c = config.nEmbd;
    const hidden = mlpHidden(config);
    this.cFc = this.addModule('c_fc', new Linear(c, hidden, { bias: config.bias, rng }));
    this.cProj = this.addModule('c_proj', new Linear(hidden, c, { bias: config.bias, rng, std: residualStd(config.nLayer) }));
  }

  /** (..., C) → (..., C) */
  forward(x: Tensor): Tensor {
    return this.cProj.forward(gelu(this.cFc.forward(x))); // (..., H) inside
  }
}
