// The transformer MLP, as nanoGPT: c_fc (C → mlpRatio·C) → GELU (tanh) → c_proj (back to C).
import { gelu } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export class MLP extends Module {
  readonly cFc: Linear; // (H, C), H = mlpRatio · C
  readonly cProj: Linear; // (C, H)

  /** c → hidden → c; projStd: init std of c_proj (residualStd(nLayer) in a GPT). */
  constructor(c: number, hidden: number, opts: { bias: boolean; projStd: number }, rng: Rng) {
    super();
    this.cFc = this.addModule('c_fc', new Linear(c, hidden, { bias: opts.bias, rng }));
    this.cProj = this.addModule('c_proj', new Linear(hidden, c, { bias: opts.bias, rng, std: opts.projStd }));
  }

  /** (..., C) → (..., C) */
  forward(x: Tensor): Tensor {
    return this.cProj.forward(gelu(this.cFc.forward(x))); // (..., H) inside
  }
}
