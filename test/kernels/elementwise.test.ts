import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as R, type Kernels } from '../../src/kernels/index.js';
import { assertClose, nativeKernelsForTest, randArray, randInts } from '../helpers.js';
import { assertNativeHas, checkGradient, forEachSimdLevel, ODD_SIZES, withThreads } from './gradcheck.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const i32 = (xs: number[]): Int32Array => Int32Array.from(xs);

describe('reference elementwise: hand-computed fixtures', () => {
  it('add, accumulate and scaleInPlace', () => {
    const out = new Float32Array(3);
    R.add(out, f32([1, 2, 3]), f32([0.5, -2, 10]), 3);
    assert.deepEqual([...out], [1.5, 0, 13]);
    R.accumulate(out, f32([1, 1, 1]), 3);
    assert.deepEqual([...out], [2.5, 1, 14]);
    R.scaleInPlace(out, -2, 2);
    assert.deepEqual([...out], [-5, -2, 14]);
  });

  it('geluForward matches the tanh approximation', () => {
    const out = new Float32Array(5);
    R.geluForward(out, f32([0, 1, -1, 2, -3]), 5);
    assertClose(out, [0, 0.8411919906082768, -0.15880800939172324, 1.954597694087775, -0.0036373920817729943], 1e-6, 0);
  });

  it('geluBackward is 0.5 at 0 and accumulates', () => {
    const dinp = f32([1, 0]);
    R.geluBackward(dinp, f32([2, 1]), f32([0, 30]), 2);
    assertClose(dinp, [2, 1], 1e-7, 0);
  });

  it('sigmoid is stable at large |x| and its backward accumulates out·(1-out)·dout', () => {
    const out = new Float32Array(4);
    R.sigmoidForward(out, f32([0, 100, -100, 2]), 4);
    assertClose(out, [0.5, 1, 0, 1 / (1 + Math.exp(-2))], 1e-6, 1e-40);
    const dinp = f32([1]);
    R.sigmoidBackward(dinp, f32([2]), f32([0.5]), 1);
    assert.equal(dinp[0], 1.5);
  });

  it('rowScale scales rows; its backward fills whichever gradient is given', () => {
    const x = f32([1, 2, 3, 4, 5, 6]);
    const s = f32([2, -1]);
    const out = new Float32Array(6);
    R.rowScaleForward(out, x, s, 2, 3);
    assert.deepEqual([...out], [2, 4, 6, -4, -5, -6]);
    const dout = f32([1, 0, 1, 0, 1, 1]);
    const ds = f32([10, 10]);
    R.rowScaleBackward(null, ds, dout, x, s, 2, 3);
    assert.deepEqual([...ds], [14, 21]);
    const dx = new Float32Array(6);
    R.rowScaleBackward(dx, null, dout, x, s, 2, 3);
    assert.deepEqual([...dx], [2, 0, 2, 0, -1, -1]);
  });

  it('embedding gathers rows and scatter-adds repeated ids', () => {
    const table = f32([0, 1, 10, 11, 20, 21]);
    const ids = i32([2, 0, 2]);
    const out = new Float32Array(6);
    R.embeddingForward(out, ids, table, 3, 2);
    assert.deepEqual([...out], [20, 21, 0, 1, 20, 21]);
    const dtable = f32([0, 0, 5, 5, 1, 1]);
    R.embeddingBackward(dtable, f32([1, 2, 3, 4, 5, 6]), ids, 3, 2);
    assert.deepEqual([...dtable], [3, 4, 5, 5, 7, 9]);
    assert.throws(() => R.embeddingForward(out, i32([3]), table, 1, 2), RangeError);
  });

  it('crossEntropy: known losses, stable at huge logits, ignored targets give 0 and no gradient', () => {
    const v = 3;
    const logits = f32([0, 0, 0, 1, 2, 3, 1000, 0, -1000, 1000, 0, -1000, 5, 6, 7]);
    const targets = i32([1, 0, 0, 2, -1]);
    const losses = new Float32Array(5);
    const probs = new Float32Array(15);
    R.crossEntropyForward(losses, probs, logits, targets, 5, v);
    assertClose(losses, [Math.log(3), 2.40760596444438, 0, 2000, 0], 1e-6, 0);
    assertClose(probs.subarray(0, 3), [1 / 3, 1 / 3, 1 / 3], 1e-6, 0);
    assertClose(probs.subarray(6, 9), [1, 0, 0], 0, 0);
    const dlogits = new Float32Array(15).fill(1);
    R.crossEntropyBackward(dlogits, f32([3, 1, 1, 1, 1]), probs, targets, 5, v);
    assertClose(dlogits.subarray(0, 3), [2, 1 - 2, 2], 1e-6, 0);
    assert.deepEqual([...dlogits.subarray(12, 15)], [1, 1, 1], 'an ignored row gets no gradient');
    assert.throws(() => R.crossEntropyForward(losses, probs, logits, i32([0, 0, 0, 0, 3]), 5, v), RangeError);
  });

  it('bceWithLogits: known values, stable at large |x|', () => {
    const losses = new Float32Array(4);
    R.bceWithLogitsForward(losses, f32([0, 100, -100, 2]), f32([0.5, 1, 1, 0]), 4);
    assertClose(losses, [Math.log(2), 0, 100, 2 + Math.log1p(Math.exp(-2))], 1e-6, 1e-30);
    const d = f32([1]);
    R.bceWithLogitsBackward(d, f32([2]), f32([0]), f32([1]), 1);
    assert.equal(d[0], 0);
  });
});

describe('reference elementwise: backward vs finite differences', () => {
  const zeros = (n: number): Float32Array => new Float32Array(n);

  it('gelu', () => {
    const n = 24;
    const x = randArray(n, 1, 3);
    const w = randArray(n, 2);
    const out = zeros(n);
    const grad = zeros(n);
    R.geluBackward(grad, w, x, n);
    checkGradient({ what: 'gelu', input: x, weights: w, analytic: grad, forward: () => (R.geluForward(out, x, n), out) });
  });

  it('sigmoid', () => {
    const n = 24;
    const x = randArray(n, 3, 4);
    const w = randArray(n, 4);
    const out = zeros(n);
    R.sigmoidForward(out, x, n);
    const grad = zeros(n);
    R.sigmoidBackward(grad, w, out, n);
    checkGradient({ what: 'sigmoid', input: x, weights: w, analytic: grad, forward: () => (R.sigmoidForward(out, x, n), out) });
  });

  it('rowScale w.r.t. x and s', () => {
    const [rows, cols] = [3, 5];
    const x = randArray(rows * cols, 5);
    const s = randArray(rows, 6, 2);
    const w = randArray(rows * cols, 7);
    const out = zeros(rows * cols);
    const dx = zeros(rows * cols);
    const ds = zeros(rows);
    R.rowScaleBackward(dx, ds, w, x, s, rows, cols);
    const forward = (): Float32Array => (R.rowScaleForward(out, x, s, rows, cols), out);
    checkGradient({ what: 'rowScale dx', input: x, weights: w, analytic: dx, forward });
    checkGradient({ what: 'rowScale ds', input: s, weights: w, analytic: ds, forward });
  });

  it('embedding w.r.t. the table', () => {
    const [n, c, vocab] = [6, 3, 4];
    const table = randArray(vocab * c, 8);
    const ids = i32([1, 3, 1, 0, 1, 3]);
    const w = randArray(n * c, 9);
    const out = zeros(n * c);
    const dtable = zeros(vocab * c);
    R.embeddingBackward(dtable, w, ids, n, c);
    checkGradient({ what: 'embedding', input: table, weights: w, analytic: dtable, forward: () => (R.embeddingForward(out, ids, table, n, c), out) });
  });

  it('crossEntropy w.r.t. logits (one target ignored)', () => {
    const [n, v] = [4, 5];
    const logits = randArray(n * v, 10, 3);
    const targets = i32([2, -1, 0, 4]);
    const w = randArray(n, 11);
    const losses = zeros(n);
    const probs = zeros(n * v);
    R.crossEntropyForward(losses, probs, logits, targets, n, v);
    const grad = zeros(n * v);
    R.crossEntropyBackward(grad, w, probs, targets, n, v);
    const forward = (): Float32Array => (R.crossEntropyForward(losses, probs, logits, targets, n, v), losses);
    checkGradient({ what: 'crossEntropy', input: logits, weights: w, analytic: grad, forward });
  });

  it('bceWithLogits w.r.t. logits', () => {
    const n = 16;
    const x = randArray(n, 12, 4);
    const t = randArray(n, 13).map(Math.abs);
    const w = randArray(n, 14);
    const losses = zeros(n);
    const grad = zeros(n);
    R.bceWithLogitsBackward(grad, w, x, t, n);
    checkGradient({ what: 'bce', input: x, weights: w, analytic: grad, forward: () => (R.bceWithLogitsForward(losses, x, t, n), losses) });
  });
});

/** Runs `run` on both backends (fresh buffers each time) and compares every array it returns. */
function sameOnBoth(what: string, run: (k: Kernels) => Float32Array[], rtol: number, atol: number): void {
  const ref = run(R);
  const nat = run(nativeKernelsForTest());
  ref.forEach((r, i) => assertClose(nat[i]!, r, rtol, atol, `${what}, output ${i}`));
}

describe('native elementwise vs reference, every SIMD level', () => {
  const names = ['add', 'accumulate', 'scaleInPlace', 'geluForward', 'geluBackward', 'sigmoidForward', 'sigmoidBackward', 'rowScaleForward',
    'rowScaleBackward', 'embeddingForward', 'embeddingBackward', 'crossEntropyForward', 'crossEntropyBackward', 'bceWithLogitsForward',
    'bceWithLogitsBackward'] as const;
  it('the addon implements every elementwise kernel', () => assertNativeHas([...names]));

  const sizes = [...ODD_SIZES, 70001];

  it('add, accumulate, scaleInPlace (exact)', () => {
    forEachSimdLevel((level) => {
      for (const n of sizes) {
        const a = randArray(n, n, 5);
        const b = randArray(n, n + 1, 5);
        sameOnBoth(`${level} add n=${n}`, (k) => {
          const out = new Float32Array(n);
          k.add(out, a, b, n);
          return [out];
        }, 0, 0);
        sameOnBoth(`${level} accumulate n=${n}`, (k) => {
          const acc = randArray(n, 7);
          k.accumulate(acc, a, n);
          return [acc];
        }, 0, 0);
        sameOnBoth(`${level} scaleInPlace n=${n}`, (k) => {
          const x = a.slice();
          k.scaleInPlace(x, 0.1, n);
          return [x];
        }, 0, 0);
      }
    });
  });

  it('gelu and sigmoid, forward and backward', () => {
    forEachSimdLevel((level) => {
      for (const n of sizes) {
        const x = randArray(n, n + 2, 6);
        const dout = randArray(n, n + 3);
        const prior = randArray(n, n + 4);
        sameOnBoth(`${level} gelu n=${n}`, (k) => {
          const out = new Float32Array(n);
          k.geluForward(out, x, n);
          const dinp = prior.slice();
          k.geluBackward(dinp, dout, x, n);
          return [out, dinp];
        }, 1e-5, 1e-6);
        sameOnBoth(`${level} sigmoid n=${n}`, (k) => {
          const out = new Float32Array(n);
          k.sigmoidForward(out, x, n);
          const dinp = prior.slice();
          k.sigmoidBackward(dinp, dout, out, n);
          return [out, dinp];
        }, 1e-5, 1e-7);
      }
    });
  });

  it('rowScale forward and backward (either gradient null)', () => {
    forEachSimdLevel((level) => {
      for (const cols of ODD_SIZES) {
        const rows = cols === 1000 ? 70 : 5;
        const x = randArray(rows * cols, cols, 2);
        const s = randArray(rows, cols + 1, 2);
        const dout = randArray(rows * cols, cols + 2);
        sameOnBoth(`${level} rowScale cols=${cols}`, (k) => {
          const out = new Float32Array(rows * cols);
          k.rowScaleForward(out, x, s, rows, cols);
          const dx = randArray(rows * cols, 1);
          const ds = randArray(rows, 2);
          k.rowScaleBackward(dx, ds, dout, x, s, rows, cols);
          const dxOnly = randArray(rows * cols, 3);
          k.rowScaleBackward(dxOnly, null, dout, x, s, rows, cols);
          const dsOnly = randArray(rows, 4);
          k.rowScaleBackward(null, dsOnly, dout, x, s, rows, cols);
          return [out, dx, ds, dxOnly, dsOnly];
        }, 1e-5, 1e-5);
      }
    });
  });

  it('embedding forward and backward (exact; repeated ids)', () => {
    forEachSimdLevel((level) => {
      for (const c of ODD_SIZES) {
        const [n, vocab] = [c === 1000 ? 90 : 13, 7];
        const table = randArray(vocab * c, c);
        const ids = randInts(n, vocab, c + 1);
        const dout = randArray(n * c, c + 2);
        sameOnBoth(`${level} embedding c=${c}`, (k) => {
          const out = new Float32Array(n * c);
          k.embeddingForward(out, ids, table, n, c);
          const dtable = randArray(vocab * c, 5);
          k.embeddingBackward(dtable, dout, ids, n, c);
          return [out, dtable];
        }, 0, 0);
      }
    });
  });

  it('crossEntropy forward and backward, with ignored targets', () => {
    forEachSimdLevel((level) => {
      for (const v of ODD_SIZES) {
        const n = v === 1000 ? 40 : 9;
        const logits = randArray(n * v, v, 8);
        const targets = randInts(n, v, v + 1);
        targets[1] = -1;
        targets[n - 1] = -100;
        const dlosses = randArray(n, v + 2);
        sameOnBoth(`${level} crossEntropy v=${v}`, (k) => {
          const losses = new Float32Array(n);
          const probs = new Float32Array(n * v);
          k.crossEntropyForward(losses, probs, logits, targets, n, v);
          const dlogits = randArray(n * v, 6);
          k.crossEntropyBackward(dlogits, dlosses, probs, targets, n, v);
          assert.equal(losses[1], 0);
          return [losses, probs, dlogits];
        }, 1e-5, 2e-6);
      }
    });
  });

  it('bceWithLogits forward and backward', () => {
    forEachSimdLevel((level) => {
      for (const n of sizes) {
        const x = randArray(n, n + 5, 12);
        const t = randArray(n, n + 6).map(Math.abs);
        const dl = randArray(n, n + 7);
        sameOnBoth(`${level} bce n=${n}`, (k) => {
          const losses = new Float32Array(n);
          k.bceWithLogitsForward(losses, x, t, n);
          const dx = randArray(n, 8);
          k.bceWithLogitsBackward(dx, dl, x, t, n);
          return [losses, dx];
        }, 1e-5, 2e-6);
      }
    });
  });

  it('extreme inputs: no overflow, no spurious NaN; NaN inputs stay NaN', () => {
    const x = f32([1e20, -1e20, 1e6, -1e6, 40, -40, 88, -88, 100, -100, 0, -0, 1e-30, 3e-8]);
    const n = x.length;
    const t = new Float32Array(n).map((_, i) => (i % 3) / 2);
    forEachSimdLevel((level) => {
      sameOnBoth(`${level} extremes`, (k) => {
        const gelu = new Float32Array(n);
        k.geluForward(gelu, x, n);
        const dgelu = new Float32Array(n);
        k.geluBackward(dgelu, new Float32Array(n).fill(1), x, n);
        const sig = new Float32Array(n);
        k.sigmoidForward(sig, x, n);
        const bce = new Float32Array(n);
        k.bceWithLogitsForward(bce, x, t, n);
        const dbce = new Float32Array(n);
        k.bceWithLogitsBackward(dbce, new Float32Array(n).fill(1), x, t, n);
        return [gelu, dgelu, sig, bce, dbce];
      }, 1e-5, 1e-6);
      const N = nativeKernelsForTest();
      const out = new Float32Array(2);
      N.geluBackward(out, f32([1, 1]), f32([NaN, 1]), 2);
      assert.ok(Number.isNaN(out[0]) && !Number.isNaN(out[1]), `${level}: gelu' of NaN`);
      N.sigmoidForward(out, f32([NaN, 1]), 2);
      assert.ok(Number.isNaN(out[0]), `${level}: sigmoid of NaN`);
      const losses = new Float32Array(2);
      N.crossEntropyForward(losses, new Float32Array(6), f32([0, NaN, 1, 0, 1, 2]), Int32Array.from([0, 2]), 2, 3);
      assert.ok(Number.isNaN(losses[0]) && !Number.isNaN(losses[1]), `${level}: a NaN logit poisons its row only`);
    });
  });

  it('rejects out-of-range ids and targets', () => {
    const N = nativeKernelsForTest();
    assert.throws(() => N.embeddingForward(new Float32Array(2), i32([3]), new Float32Array(6), 1, 2));
    assert.throws(() => N.embeddingBackward(new Float32Array(6), new Float32Array(2), i32([-1]), 1, 2));
    assert.throws(() => N.crossEntropyForward(new Float32Array(1), new Float32Array(3), new Float32Array(3), i32([3]), 1, 3));
  });

  it('results do not depend on the thread count', () => {
    const N = nativeKernelsForTest();
    const [n, c, vocab] = [600, 130, 50];
    const x = randArray(n * c, 1, 4);
    const ids = randInts(n, vocab, 2);
    const targets = randInts(n, c, 3);
    const run = (): Float32Array[] => {
      const gelu = new Float32Array(n * c);
      N.geluForward(gelu, x, n * c);
      const dtable = new Float32Array(vocab * c);
      N.embeddingBackward(dtable, x, ids, n, c);
      const losses = new Float32Array(n);
      const probs = new Float32Array(n * c);
      N.crossEntropyForward(losses, probs, x, targets, n, c);
      return [gelu, dtable, losses, probs];
    };
    const one = withThreads(1, run);
    for (const t of [2, 3]) {
      withThreads(t, run).forEach((a, i) => assert.deepEqual(a, one[i], `output ${i} with ${t} threads`));
    }
  });
});
