import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as R, type Kernels } from '../../src/kernels/index.js';
import { assertClose, nativeKernelsForTest, randArray } from '../helpers.js';
import { assertNativeHas, forEachSimdLevel, ODD_SIZES, withThreads } from './gradcheck.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const backends = (): Array<[string, Kernels]> => [['reference', R], ['native', nativeKernelsForTest()]];

describe('adamw and sumSquares, hand-computed, both backends', () => {
  it('the addon implements both optimizer kernels', () => assertNativeHas(['adamw', 'sumSquares']));

  for (const [name, k] of backends()) {
    it(`${name}: two AdamW steps with a constant gradient`, () => {
      // A constant gradient g makes the bias-corrected moments exactly g and g², so each step moves
      // p by -lr·(sign(g) + wd·p) (up to eps = 1e-8).
      const p = f32([1, -3]);
      const g = f32([0.5, -2]);
      const m = new Float32Array(2);
      const v = new Float32Array(2);
      k.adamw(p, g, m, v, 2, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
      assertClose(m, [0.05, -0.2], 1e-6, 0);
      assertClose(v, [0.00025, 0.004], 1e-6, 0);
      assertClose(p, [1 - 0.1 * 1.01, -3 + 0.1 * 1.03], 1e-6, 0);
      k.adamw(p, g, m, v, 2, 0.1, 0.9, 0.999, 1e-8, 0.01, 2);
      assertClose(m, [0.095, -0.38], 1e-6, 0);
      assertClose(p, [0.899 - 0.1 * (1 + 0.01 * 0.899), -2.897 - 0.1 * (-1 - 0.01 * 2.897)], 1e-6, 0);
    });

    it(`${name}: with a zero gradient only the decoupled weight decay acts`, () => {
      const p = f32([2, -4]);
      k.adamw(p, new Float32Array(2), new Float32Array(2), new Float32Array(2), 2, 0.5, 0.9, 0.999, 1e-8, 0.1, 7);
      assertClose(p, [1.9, -3.8], 1e-6, 0);
    });

    it(`${name}: sumSquares accumulates in double`, () => {
      assert.equal(k.sumSquares(f32([1, 2, 3, 99]), 3), 14);
      // (1 + 2^-12)² needs 25 significant bits: a float32 accumulator would lose the 2^-24 terms.
      const x = new Float32Array(4096).fill(1 + 2 ** -12);
      assert.equal(k.sumSquares(x, 4096), 4096 + 2 + 2 ** -12);
      assert.equal(k.sumSquares(x, 0), 0);
    });
  }
});

/** Three AdamW steps on random data; returns param, m, v. */
function runAdamw(k: Kernels, n: number, weightDecay: number): Float32Array[] {
  const p = randArray(n, 1);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  for (let step = 1; step <= 3; step++) {
    k.adamw(p, randArray(n, 10 + step, 0.1 * step), m, v, n, 1e-3, 0.9, 0.999, 1e-8, weightDecay, step);
  }
  return [p, m, v];
}

describe('native optimizer vs reference, every SIMD level', () => {
  const sizes = [...ODD_SIZES, 70001];

  it('adamw', () => {
    forEachSimdLevel((level) => {
      for (const n of sizes) {
        for (const wd of [0, 0.1]) {
          const ref = runAdamw(R, n, wd);
          const nat = runAdamw(nativeKernelsForTest(), n, wd);
          ref.forEach((r, i) => assertClose(nat[i]!, r, 1e-5, 1e-7, `${level} n=${n} wd=${wd} output ${i}`));
        }
      }
    });
  });

  it('sumSquares', () => {
    forEachSimdLevel((level) => {
      for (const n of [...sizes, 1 << 14, (1 << 14) + 1, 200003]) {
        const x = randArray(n, n, 3);
        const ref = R.sumSquares(x, n);
        const nat = nativeKernelsForTest().sumSquares(x, n);
        assert.ok(Math.abs(nat - ref) <= 1e-12 * ref, `${level} n=${n}: ${nat} vs ${ref}`);
      }
    });
  });

  it('results do not depend on the thread count', () => {
    const N = nativeKernelsForTest();
    const x = randArray(1_000_003, 3);
    const run = (): Array<number | Float32Array> => [N.sumSquares(x, x.length), ...runAdamw(N, 200_001, 0.1)];
    const one = withThreads(1, run);
    for (const t of [2, 3]) withThreads(t, run).forEach((a, i) => assert.deepEqual(a, one[i], `output ${i} with ${t} threads`));
  });
});
