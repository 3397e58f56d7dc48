// Finite-difference gradient checking through the engine: L = Σ r ⊙ f(inputs) for a fixed random r; the
// analytic gradient (backward seeded with r) must match central differences of L in every input element.
import assert from 'node:assert/strict';
import { backward, noGrad, releaseGraph } from '../../src/engine/autograd.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { randArray } from '../helpers.js';

export interface GradCheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /** Check at most this many elements of each input (evenly spread); default all. */
  sample?: number;
}

function functional(out: Tensor, r: Float32Array): number {
  let s = 0;
  for (let i = 0; i < out.size; i++) s += out.data[i]! * r[i]!;
  return s;
}

/** Checks d(Σ r·f())/d(input) for every input; f must build its output from `inputs` (persistent leaves). */
export function gradCheck(what: string, f: () => Tensor, inputs: Tensor[], opts: GradCheckOptions = {}): void {
  const { eps = 1e-2, rtol = 1e-2, atol = 1e-3, seed = 7, sample = Infinity } = opts;
  for (const t of inputs) t.grad = null;
  const out = f();
  const r = randArray(out.size, seed);
  backward(out, r);
  const analytic = inputs.map((t) => (t.grad === null ? null : t.grad.slice()));
  releaseGraph();
  inputs.forEach((t, which) => {
    const a = analytic[which];
    assert.ok(a !== null && a !== undefined, `${what}: input ${which} got no gradient`);
    const stride = Math.max(1, Math.floor(t.size / sample));
    for (let i = which % stride; i < t.size; i += stride) {
      const orig = t.data[i]!;
      t.data[i] = orig + eps;
      const hp = t.data[i]! - orig;
      const lp = noGrad(() => functional(f(), r));
      releaseGraph();
      t.data[i] = orig - eps;
      const hm = orig - t.data[i]!;
      const lm = noGrad(() => functional(f(), r));
      releaseGraph();
      t.data[i] = orig;
      const num = (lp - lm) / (hp + hm);
      const ana = a[i]!;
      const tol = atol + rtol * Math.max(Math.abs(num), Math.abs(ana));
      assert.ok(Math.abs(num - ana) <= tol, `${what}: input ${which} element ${i}: analytic ${ana} vs numeric ${num}`);
    }
  });
}
