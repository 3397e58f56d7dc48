// AdamW (decoupled weight decay, bias-corrected moments) as nanoGPT configures it: weight decay on tensors with
// >= 2 dims (matmul weights, embeddings), none on biases and norm gains. Plus global-norm gradient clipping.
import { kernels } from '../kernels/index.js';
import type { Tensor } from '../engine/tensor.js';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The optimizer state, for exact resume: the step count and each parameter's moments, by parameter name. */
export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

interface Slot {
  name: string;
  param: Tensor;
  m: Float32Array;
  v: Float32Array;
  decay: boolean;
}

export const adamwDefaults: Omit<AdamWHyper, 'lr'> = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export class AdamW {
  readonly hyper: AdamWHyper;
  /** Steps taken so far; the next step() is step number stepCount + 1 (bias correction counts from 1). */
  stepCount = 0;
  private readonly slots: Slot[];

  constructor(params: Array<[string, Tensor]>, hyper: Partial<AdamWHyper> & { lr: number }) {
    this.hyper = { ...adamwDefaults, ...hyper };
    this.slots = params.map(([name, param]) => ({
      name,
      param,
      m: new Float32Array(param.size),
      v: new Float32Array(param.size),
      decay: param.shape.length >= 2,
    }));
  }

  /** One update of every parameter that has a gradient; `overrides` set this step's lr (schedules) or betas. */
  step(overrides: Partial<AdamWHyper> = {}): void {
    const h = { ...this.hyper, ...overrides };
    const K = kernels();
    this.stepCount++;
    for (const s of this.slots) {
      const g = s.param.grad;
      if (g === null) continue; // never reached by a gradient yet
      K.adamw(s.param.data, g, s.m, s.v, s.param.size, h.lr, h.beta1, h.beta2, h.eps, s.decay ? h.weightDecay : 0, this.stepCount);
    }
  }

  /** A copy of the state. */
  exportState(): AdamWState {
    const state: AdamWState = { step: this.stepCount, m: {}, v: {} };
    for (const s of this.slots) {
      state.m[s.name] = s.m.slice();
      state.v[s.name] = s.v.slice();
    }
    return state;
  }

  /** Restores a state saved by exportState (same parameter names and sizes). */
  importState(state: AdamWState): void {
    for (const s of this.slots) {
      const m = state.m[s.name];
      const v = state.v[s.name];
      if (m === undefined || v === undefined) throw new Error(`optimizer state has no moments for parameter ${s.name}`);
      if (m.length !== s.m.length || v.length !== s.v.length) {
        throw new Error(`optimizer state for ${s.name} has ${m.length}/${v.length} values, the parameter ${s.m.length}`);
      }
    }
    for (const s of this.slots) {
      s.m.set(state.m[s.name]!);
      s.v.set(state.v[s.name]!);
    }
    this.stepCount = state.step;
  }
}

/**
 * Scales all gradients together so that their global L2 norm is at most maxNorm (as torch.nn.utils.clip_grad_norm_);
 * returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const K = kernels();
  const grads: Float32Array[] = [];
  let sumSq = 0;
  for (const p of params) {
    if (p.grad === null) continue;
    grads.push(p.grad);
    sumSq += K.sumSquares(p.grad, p.grad.length);
  }
  const norm = Math.sqrt(sumSq);
  if (norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const g of grads) K.scaleInPlace(g, s, g.length);
  }
  return norm;
}
