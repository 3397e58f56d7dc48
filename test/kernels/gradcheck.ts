// Finite-difference checks of backward kernels, and the native-vs-reference sweep over SIMD levels.
import assert from 'node:assert/strict';
import { nativeBackend, type KernelName } from '../../src/kernels/node.js';

export interface GradCheck {
  what: string;
  /** The tensor the gradient is taken with respect to; perturbed in place and restored. */
  input: Float32Array;
  /** Runs the forward on the current `input` and returns its output. */
  forward: () => Float32Array;
  /** The backward's gradient w.r.t. `input` for the functional L = Σ weights·output (starting from zeros). */
  analytic: Float32Array;
  /** The random linear functional of the output (the backward's dout). */
  weights: Float32Array;
  eps?: number;
  rtol?: number;
  atol?: number;
}

/** L = Σ weights·out, in double. */
function functional(out: Float32Array, weights: Float32Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i]! * weights[i]!;
  return s;
}

/**
 * Central differences of L at every element of `input` (float32 forward, so eps ~1e-2 and loose tolerances);
 * the step actually taken is measured after rounding to float32.
 */
export function checkGradient(g: GradCheck): void {
  const { input, forward, analytic, weights, what } = g;
  const eps = g.eps ?? 1e-2;
  const rtol = g.rtol ?? 2e-2;
  const atol = g.atol ?? 2e-3;
  assert.equal(analytic.length, input.length, `${what}: gradient length`);
  let nonzero = 0;
  for (let i = 0; i < input.length; i++) {
    const x0 = input[i]!;
    input[i] = x0 + eps;
    const hi = input[i]!;
    const lp = functional(forward(), weights);
    input[i] = x0 - eps;
    const lo = input[i]!;
    const lm = functional(forward(), weights);
    input[i] = x0;
    const numeric = (lp - lm) / (hi - lo);
    const a = analytic[i]!;
    if (Math.abs(a) > 1e-4) nonzero++;
    if (!(Math.abs(numeric - a) <= atol + rtol * Math.max(Math.abs(numeric), Math.abs(a)))) {
      assert.fail(`${what}: d/dx[${i}] analytic ${a} vs numeric ${numeric}`);
    }
  }
  forward();
  assert.ok(nonzero > 0, `${what}: the gradient is identically zero, the check proves nothing`);
}

/** Fails unless the addon implements these kernels (else "native" would silently be the reference). */
export function assertNativeHas(names: KernelName[]): void {
  const n = nativeBackend();
  if (typeof n === 'string') throw new Error(`native addon unavailable: ${n}`);
  for (const name of names) assert.ok(!n.missing.includes(name), `the addon lacks ${name}`);
}

export { forEachSimdLevel, withThreads } from '../helpers.js';

/** Sizes the native sweeps use: odd, around and off the SIMD widths, and one big enough to be split by threads. */
export const ODD_SIZES = [1, 3, 7, 8, 15, 16, 17, 31, 33, 65, 127, 1000];
