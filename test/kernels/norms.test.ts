import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as R, type Kernels } from '../../src/kernels/index.js';
import { assertClose, nativeKernelsForTest, randArray } from '../helpers.js';
import { assertNativeHas, checkGradient, forEachSimdLevel, ODD_SIZES, withThreads } from './gradcheck.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

describe('reference norms: hand-computed fixtures', () => {
  it('layernorm of [1,2,3,4] (weight, no bias) caches mean and rstd', () => {
    const out = new Float32Array(4);
    const mean = new Float32Array(1);
    const rstd = new Float32Array(1);
    R.layernormForward(out, mean, rstd, f32([1, 2, 3, 4]), f32([1, 2, 1, -1]), null, 1, 4);
    const r = 1 / Math.sqrt(1.25 + 1e-5);
    assertClose(mean, [2.5], 0, 0);
    assertClose(rstd, [r], 1e-7, 0);
    assertClose(out, [-1.5 * r, -1 * r, 0.5 * r, -1.5 * r], 1e-6, 0);
  });

  it('layernorm with bias adds it after the weight', () => {
    const out = new Float32Array(2);
    R.layernormForward(out, new Float32Array(1), new Float32Array(1), f32([0, 2]), f32([3, 3]), f32([10, -10]), 1, 2);
    const r = 1 / Math.sqrt(1 + 1e-5);
    assertClose(out, [10 - 3 * r, -10 + 3 * r], 1e-6, 0);
  });

  it('rmsnorm of [3, 4]', () => {
    const out = new Float32Array(2);
    const rstd = new Float32Array(1);
    R.rmsnormForward(out, rstd, f32([3, 4]), f32([1, 0.5]), 1, 2);
    const r = 1 / Math.sqrt(12.5 + 1e-5);
    assertClose(rstd, [r], 1e-7, 0);
    assertClose(out, [3 * r, 2 * r], 1e-6, 0);
  });

  it('layernorm backward: a constant dout with unit weight gives zero dinp, dbias = Σ dout', () => {
    const [n, c] = [2, 3];
    const inp = f32([1, 5, 2, -1, 0, 4]);
    const mean = new Float32Array(n);
    const rstd = new Float32Array(n);
    R.layernormForward(new Float32Array(n * c), mean, rstd, inp, f32([1, 1, 1]), null, n, c);
    const dinp = f32([1, 1, 1, 1, 1, 1]);
    const dweight = new Float32Array(c);
    const dbias = f32([1, 2, 3]);
    R.layernormBackward(dinp, dweight, dbias, new Float32Array(n * c).fill(2), inp, f32([1, 1, 1]), mean, rstd, n, c);
    assertClose(dinp, [1, 1, 1, 1, 1, 1], 0, 1e-6);
    assertClose(dbias, [5, 6, 7], 0, 0);
    // Σ over rows of 2·xhat: xhat of each row sums to 0 across columns, not down them; check one column by hand.
    const xhat0 = (1 - mean[0]!) * rstd[0]!;
    const xhat1 = (-1 - mean[1]!) * rstd[1]!;
    assertClose([dweight[0]!], [2 * xhat0 + 2 * xhat1], 1e-6, 0);
  });
});

describe('reference norms: backward vs finite differences', () => {
  const [n, c] = [3, 7];

  function layernormCase(withBias: boolean): void {
    const inp = randArray(n * c, 1, 2);
    const weight = randArray(c, 2, 1.5);
    const bias = withBias ? randArray(c, 3) : null;
    const w = randArray(n * c, 4);
    const out = new Float32Array(n * c);
    const mean = new Float32Array(n);
    const rstd = new Float32Array(n);
    const forward = (): Float32Array => (R.layernormForward(out, mean, rstd, inp, weight, bias, n, c), out);
    forward();
    const dinp = new Float32Array(n * c);
    const dweight = new Float32Array(c);
    const dbias = withBias ? new Float32Array(c) : null;
    R.layernormBackward(dinp, dweight, dbias, w, inp, weight, mean, rstd, n, c);
    checkGradient({ what: 'layernorm dinp', input: inp, weights: w, analytic: dinp, forward });
    checkGradient({ what: 'layernorm dweight', input: weight, weights: w, analytic: dweight, forward });
    if (bias !== null && dbias !== null) checkGradient({ what: 'layernorm dbias', input: bias, weights: w, analytic: dbias, forward });
  }

  it('layernorm with bias', () => layernormCase(true));
  it('layernorm without bias', () => layernormCase(false));

  it('rmsnorm', () => {
    const inp = randArray(n * c, 5, 2);
    const weight = randArray(c, 6, 1.5);
    const w = randArray(n * c, 7);
    const out = new Float32Array(n * c);
    const rstd = new Float32Array(n);
    const forward = (): Float32Array => (R.rmsnormForward(out, rstd, inp, weight, n, c), out);
    forward();
    const dinp = new Float32Array(n * c);
    const dweight = new Float32Array(c);
    R.rmsnormBackward(dinp, dweight, w, inp, weight, rstd, n, c);
    checkGradient({ what: 'rmsnorm dinp', input: inp, weights: w, analytic: dinp, forward });
    checkGradient({ what: 'rmsnorm dweight', input: weight, weights: w, analytic: dweight, forward });
  });
});

/** Both norms, forward then backward into pre-filled (accumulating) gradients; returns every output. */
function runNorms(k: Kernels, n: number, c: number, withBias: boolean): Float32Array[] {
  const inp = randArray(n * c, c, 3);
  const weight = randArray(c, c + 1, 2);
  const bias = withBias ? randArray(c, c + 2) : null;
  const dout = randArray(n * c, c + 3);
  const out = new Float32Array(n * c);
  const mean = new Float32Array(n);
  const rstd = new Float32Array(n);
  k.layernormForward(out, mean, rstd, inp, weight, bias, n, c);
  const dinp = randArray(n * c, 1);
  const dweight = randArray(c, 2);
  const dbias = withBias ? randArray(c, 3) : null;
  // The backward reads the reference's caches, so that it is compared on identical inputs.
  const refMean = new Float32Array(n);
  const refRstd = new Float32Array(n);
  R.layernormForward(new Float32Array(n * c), refMean, refRstd, inp, weight, bias, n, c);
  k.layernormBackward(dinp, dweight, dbias, dout, inp, weight, refMean, refRstd, n, c);
  const rmsOut = new Float32Array(n * c);
  const rmsRstd = new Float32Array(n);
  k.rmsnormForward(rmsOut, rmsRstd, inp, weight, n, c);
  const rmsDinp = randArray(n * c, 4);
  const rmsDweight = randArray(c, 5);
  k.rmsnormBackward(rmsDinp, rmsDweight, dout, inp, weight, rmsRstd, n, c);
  return [out, mean, rstd, dinp, dweight, ...(dbias === null ? [] : [dbias]), rmsOut, rmsRstd, rmsDinp, rmsDweight];
}

describe('native norms vs reference, every SIMD level', () => {
  it('the addon implements every norm kernel', () => {
    assertNativeHas(['layernormForward', 'layernormBackward', 'rmsnormForward', 'rmsnormBackward']);
  });

  const shapes: Array<[number, number]> = [...ODD_SIZES.map((c): [number, number] => [c === 1 ? 3 : 5, c]), [1, 256], [17, 65], [300, 200]];

  for (const withBias of [true, false]) {
    it(`layernorm (${withBias ? 'with' : 'null'} bias) and rmsnorm over odd shapes`, () => {
      forEachSimdLevel((level) => {
        for (const [n, c] of shapes) {
          const ref = runNorms(R, n, c, withBias);
          const nat = runNorms(nativeKernelsForTest(), n, c, withBias);
          // Reductions run in float32 lanes natively, in double in the reference.
          ref.forEach((r, i) => assertClose(nat[i]!, r, 2e-5, 2e-5 * Math.sqrt(n), `${level} n=${n} c=${c} output ${i}`));
        }
      });
    });
  }

  it('results do not depend on the thread count', () => {
    const N = nativeKernelsForTest();
    const one = withThreads(1, () => runNorms(N, 512, 200, true));
    for (const t of [2, 3]) {
      withThreads(t, () => runNorms(N, 512, 200, true)).forEach((a, i) => assert.deepEqual(a, one[i], `output ${i} with ${t} threads`));
    }
  });
});
