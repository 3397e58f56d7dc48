import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as R, type Kernels } from '../../src/kernels/index.js';
import { nativeKernelsForTest, randArray, randInts, rng } from '../helpers.js';
import { assertNativeHas, forEachSimdLevel, ODD_SIZES, withThreads } from './gradcheck.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const i32 = (xs: number[]): Int32Array => Int32Array.from(xs);

function topk(k: Kernels, scores: Float32Array, b: number, t: number, kk: number): number[] {
  const idx = new Int32Array(b * kk).fill(-7);
  k.topkRows(idx, scores, b, t, kk);
  return [...idx];
}

/** The definition, checked directly: K distinct ascending positions, each ranked above every unchosen one. */
function assertIsTopk(idx: number[], scores: Float32Array, t: number, kk: number, what: string): void {
  const key = (j: number): number => (Number.isNaN(scores[j]!) ? -Infinity : scores[j]!);
  assert.equal(idx.length, kk, `${what}: count`);
  for (let i = 1; i < kk; i++) assert.ok(idx[i - 1]! < idx[i]!, `${what}: not strictly ascending at ${i}`);
  const chosen = new Set(idx);
  for (const j of chosen) {
    assert.ok(j >= 0 && j < t, `${what}: position ${j} out of range`);
    for (let q = 0; q < t; q++) {
      if (chosen.has(q)) continue;
      assert.ok(key(j) > key(q) || (key(j) === key(q) && j < q), `${what}: chose ${j} over ${q}`);
    }
  }
}

const backends = (): Array<[string, Kernels]> => [['reference', R], ['native', nativeKernelsForTest()]];

describe('topkRows edge cases, both backends', () => {
  it('the addon implements every routing kernel', () => assertNativeHas(['topkRows', 'gatherRows', 'scatterAddRows']));

  for (const [name, k] of backends()) {
    it(`${name}: k = 0 and k = T`, () => {
      const scores = f32([3, 1, 2, 5, 4, 0]);
      assert.deepEqual(topk(k, scores, 2, 3, 0), []);
      assert.deepEqual(topk(k, scores, 2, 3, 3), [0, 1, 2, 0, 1, 2]);
    });

    it(`${name}: all-equal scores pick the first k positions`, () => {
      assert.deepEqual(topk(k, new Float32Array(9).fill(0.25), 1, 9, 4), [0, 1, 2, 3]);
    });

    it(`${name}: ties straddling the cutoff go to the lower positions`, () => {
      assert.deepEqual(topk(k, f32([1, 3, 2, 2, 2, 0, 2]), 1, 7, 3), [1, 2, 3]);
      assert.deepEqual(topk(k, f32([2, 2, 9, 2, 2]), 1, 5, 2), [0, 2]);
    });

    it(`${name}: rows are independent (B > 1), output sorted by position`, () => {
      const scores = f32([0, 9, 8, 1, /* row 1 */ 7, 0, 0, 6, /* row 2 */ -1, -2, -3, -4]);
      assert.deepEqual(topk(k, scores, 3, 4, 2), [1, 2, 0, 3, 0, 1]);
    });

    it(`${name}: NaN ranks as -Infinity`, () => {
      assert.deepEqual(topk(k, f32([NaN, 1, NaN, -Infinity, 0]), 1, 5, 3), [0, 1, 4]);
      assert.deepEqual(topk(k, f32([NaN, 1, NaN, 5]), 1, 4, 2), [1, 3]);
    });

    it(`${name}: k > T is rejected`, () => {
      assert.throws(() => k.topkRows(new Int32Array(4), new Float32Array(3), 1, 3, 4));
    });

    it(`${name}: exactly k chosen, by the definition, over random tie-heavy rows`, () => {
      const r = rng(11);
      for (let trial = 0; trial < 60; trial++) {
        const t = 1 + Math.floor(r() * 70);
        const kk = Math.floor(r() * (t + 1));
        const b = 1 + Math.floor(r() * 3);
        const scores = new Float32Array(b * t).map(() => (trial % 2 === 0 ? Math.floor(r() * 4) : r()));
        if (trial % 5 === 0) scores[0] = NaN;
        const idx = topk(k, scores, b, t, kk);
        for (let row = 0; row < b; row++) {
          assertIsTopk(idx.slice(row * kk, (row + 1) * kk), scores.subarray(row * t, (row + 1) * t), t, kk, `trial ${trial} row ${row}`);
        }
      }
    });
  }
});

describe('gatherRows and scatterAddRows, reference fixtures', () => {
  it('gather picks rows per batch; scatter-add adds them back, repeated indices accumulating', () => {
    const [b, t, k, c] = [2, 3, 2, 2];
    const x = f32([0, 1, 2, 3, 4, 5, /* batch 1 */ 10, 11, 12, 13, 14, 15]);
    const idx = i32([0, 2, 1, 1]);
    const out = new Float32Array(b * k * c);
    R.gatherRows(out, x, idx, b, t, k, c);
    assert.deepEqual([...out], [0, 1, 4, 5, 12, 13, 12, 13]);
    const acc = new Float32Array(b * t * c).fill(1);
    R.scatterAddRows(acc, f32([1, 2, 3, 4, 5, 6, 7, 8]), idx, b, t, k, c);
    assert.deepEqual([...acc], [2, 3, 1, 1, 4, 5, 1, 1, 13, 15, 1, 1]);
    assert.throws(() => R.gatherRows(out, x, i32([0, 3, 0, 0]), b, t, k, c), { name: 'RangeError', message: 'gatherRows: index 3 at 1 is outside [0, 3)' });
    assert.throws(() => R.scatterAddRows(acc, f32([1, 2, 3, 4, 5, 6, 7, 8]), i32([0, 1, -1, 0]), b, t, k, c), { name: 'RangeError', message: 'scatterAddRows: index -1 at 2 is outside [0, 3)' });
    assert.throws(() => R.topkRows(new Int32Array(4), new Float32Array(3), 1, 3, 4), { name: 'RangeError', message: 'topkRows: k = 4 must be in [0, 3]' });
    assert.throws(() => R.topkRows(new Int32Array(0), new Float32Array(3), 1, 3, -1), { name: 'RangeError', message: 'topkRows: k = -1 must be in [0, 3]' });
  });

  it('scatterAddRows is the adjoint of gatherRows: <gather(x), y> = <x, scatter(y)>', () => {
    const [b, t, k, c] = [3, 10, 4, 5];
    const x = randArray(b * t * c, 1);
    const y = randArray(b * k * c, 2);
    const idx = new Int32Array(b * k);
    R.topkRows(idx, randArray(b * t, 3), b, t, k);
    const gx = new Float32Array(b * k * c);
    R.gatherRows(gx, x, idx, b, t, k, c);
    const sy = new Float32Array(b * t * c);
    R.scatterAddRows(sy, y, idx, b, t, k, c);
    const dot = (p: Float32Array, q: Float32Array): number => p.reduce((s, v, i) => s + v * q[i]!, 0);
    assert.ok(Math.abs(dot(gx, y) - dot(x, sy)) < 1e-4, `${dot(gx, y)} vs ${dot(x, sy)}`);
  });
});

/** topk, gather and scatter-add (with repeated indices) on one backend. */
function runRouting(k: Kernels, b: number, t: number, kk: number, c: number, seed: number): Array<Float32Array | Int32Array> {
  const scores = randArray(b * t, seed).map((v) => Math.round(v * 3));
  const idx = new Int32Array(b * kk);
  k.topkRows(idx, scores, b, t, kk);
  const x = randArray(b * t * c, seed + 1);
  const gathered = new Float32Array(b * kk * c);
  k.gatherRows(gathered, x, idx, b, t, kk, c);
  const repeated = randInts(b * kk, t, seed + 2);
  const acc = randArray(b * t * c, seed + 3);
  k.scatterAddRows(acc, gathered, repeated, b, t, kk, c);
  k.scatterAddRows(acc, gathered, idx, b, t, kk, c);
  return [idx, gathered, acc];
}

describe('native routing vs reference, every SIMD level (exact)', () => {
  it('over odd shapes', () => {
    forEachSimdLevel((level) => {
      for (const c of ODD_SIZES) {
        for (const [b, t, kk] of [[1, 1, 1], [2, 17, 5], [3, 65, 0], [2, 33, 33], [4, 127, 64]] as const) {
          const ref = runRouting(R, b, t, kk, c, c + t);
          const nat = runRouting(nativeKernelsForTest(), b, t, kk, c, c + t);
          ref.forEach((r, i) => assert.deepEqual(nat[i], r, `${level} b=${b} t=${t} k=${kk} c=${c} output ${i}`));
        }
      }
    });
  });

  it('rejects out-of-range indices', () => {
    const N = nativeKernelsForTest();
    assert.throws(() => N.gatherRows(new Float32Array(2), new Float32Array(6), i32([3]), 1, 3, 1, 2));
    assert.throws(() => N.scatterAddRows(new Float32Array(6), new Float32Array(2), i32([-1]), 1, 3, 1, 2));
    assert.throws(() => N.topkRows(new Int32Array(4), new Float32Array(3), 1, 3, 4));
  });

  it('results do not depend on the thread count', () => {
    const N = nativeKernelsForTest();
    const one = withThreads(1, () => runRouting(N, 8, 256, 100, 300, 5));
    for (const th of [2, 3]) {
      withThreads(th, () => runRouting(N, 8, 256, 100, 300, 5)).forEach((a, i) => assert.deepEqual(a, one[i], `output ${i}, ${th} threads`));
    }
  });
});
