import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { referenceKernels as ref } from '../../src/kernels/index.js';
import { addonForTest, assertClose, forEachSimdLevel, nativeKernelsForTest, randArray, randInts, withThreads } from '../helpers.js';

type Shape = [m: number, k: number, n: number];

const combos: Array<[transA: boolean, transB: boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Stores the row-major (r,c) matrix x transposed, as (c,r). */
function transpose(x: Float32Array, r: number, c: number): Float32Array {
  const t = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = x[i * c + j]!;
  return t;
}

/** The textbook triple loop on untransposed (M,K)·(K,N). */
function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      c[i * n + j] = s;
    }
  }
  return c;
}

/** Integer-valued floats in [-4, 4]: every product and sum below is exact in float32. */
function intArray(n: number, seed: number): Float32Array {
  return Float32Array.from(randInts(n, 9, seed), (v) => v - 4);
}

test('reference matmul: fixed 2x3 · 3x2 fixture, all transposes, with and without accumulate', () => {
  const a = Float32Array.of(1, 2, 3, 4, 5, 6); // (2,3)
  const b = Float32Array.of(7, 8, 9, 10, 11, 12); // (3,2)
  const expected = [58, 64, 139, 154];
  for (const [ta, tb] of combos) {
    const c = new Float32Array(4).fill(Number.NaN);
    ref.matmul(c, ta ? transpose(a, 2, 3) : a, tb ? transpose(b, 3, 2) : b, 2, 2, 3, ta, tb, false);
    assert.deepEqual(Array.from(c), expected, `transA=${ta} transB=${tb}`);
    const acc = Float32Array.of(1, -1, 0.5, 100);
    ref.matmul(acc, ta ? transpose(a, 2, 3) : a, tb ? transpose(b, 3, 2) : b, 2, 2, 3, ta, tb, true);
    assert.deepEqual(Array.from(acc), [59, 63, 139.5, 254], `accumulate transA=${ta} transB=${tb}`);
  }
});

test('reference matmul: linear layer y = x·Wᵀ fixture', () => {
  const x = Float32Array.of(1, 0, -1, 2, 3, 1); // (2,3)
  const w = Float32Array.of(1, 1, 1, 0, 2, -1, 4, 0, 0, 0, 0, 0.5); // (4,3)
  const y = new Float32Array(8);
  ref.matmul(y, x, w, 2, 4, 3, false, true, false);
  assert.deepEqual(Array.from(y), [0, 1, 4, -0.5, 6, 5, 8, 0.5]);
});

test('reference matmul equals the naive triple loop exactly on integer fixtures', () => {
  const shapes: Shape[] = [[1, 1, 1], [1, 4, 3], [3, 1, 5], [4, 7, 2], [5, 3, 6]];
  shapes.forEach(([m, k, n], s) => {
    const a = intArray(m * k, 10 + s);
    const b = intArray(k * n, 20 + s);
    const want = naiveMatmul(a, b, m, k, n);
    for (const [ta, tb] of combos) {
      const c = new Float32Array(m * n);
      ref.matmul(c, ta ? transpose(a, m, k) : a, tb ? transpose(b, k, n) : b, m, n, k, ta, tb, false);
      assert.deepEqual(c, want, `${m}x${k}x${n} transA=${ta} transB=${tb}`);
    }
  });
});

test('reference matmul with k = 0 writes zeros, or leaves c when accumulating', () => {
  const c = Float32Array.of(1, 2, 3, 4, 5, 6);
  ref.matmul(c, new Float32Array(0), new Float32Array(0), 2, 3, 0, false, false, true);
  assert.deepEqual(Array.from(c), [1, 2, 3, 4, 5, 6]);
  ref.matmul(c, new Float32Array(0), new Float32Array(0), 2, 3, 0, false, false, false);
  assert.deepEqual(Array.from(c), [0, 0, 0, 0, 0, 0]);
});

test('reference addBias and biasBackward fixtures', () => {
  const out = Float32Array.of(1, 2, 3, 4, 5, 6); // (2,3)
  ref.addBias(out, Float32Array.of(10, 20, 30), 2, 3);
  assert.deepEqual(Array.from(out), [11, 22, 33, 14, 25, 36]);
  const dbias = Float32Array.of(1, 1, 1);
  ref.biasBackward(dbias, Float32Array.of(1, 2, 3, 4, 5, 6), 2, 3);
  assert.deepEqual(Array.from(dbias), [6, 8, 10]);
});

// Odd sizes, sizes around the SIMD width and the 14x32 tile, M = 1 and N = 1 (GEMV paths, one of them large enough
// to be threaded), K across the KC = 256 block, M across the MC block, N across the NC = 4096 block.
const nativeShapes: Shape[] = [
  [1, 1, 1],
  [3, 0, 5],
  [1, 17, 65],
  [3, 5, 7],
  [17, 3, 1],
  [65, 127, 17],
  [127, 65, 3],
  [14, 16, 32],
  [15, 33, 31],
  [1, 128, 384],
  [1, 520, 1030],
  [1100, 300, 1],
  [768, 64, 65],
  [300, 257, 129],
  [600, 40, 50],
  [15, 20, 4100],
];

test('native matmul matches reference: all transposes × accumulate × SIMD levels × odd shapes', () => {
  const native = nativeKernelsForTest();
  nativeShapes.forEach(([m, k, n], s) => {
    const a = randArray(m * k, 100 + s);
    const b = randArray(k * n, 200 + s);
    const c0 = randArray(m * n, 300 + s);
    for (const [ta, tb] of combos) {
      for (const acc of [false, true]) {
        const want = c0.slice();
        ref.matmul(want, a, b, m, n, k, ta, tb, acc);
        forEachSimdLevel((level) => {
          const got = acc ? c0.slice() : new Float32Array(m * n).fill(Number.NaN);
          native.matmul(got, a, b, m, n, k, ta, tb, acc);
          assertClose(got, want, 1e-4, 1e-4, `${level} ${m}x${k}x${n} transA=${ta} transB=${tb} acc=${acc}`);
        });
      }
    }
  });
});

test('native matmul is exact on integer fixtures at every SIMD level', () => {
  const native = nativeKernelsForTest();
  const [m, k, n] = [33, 70, 47];
  const a = intArray(m * k, 1);
  const b = intArray(k * n, 2);
  const want = naiveMatmul(a, b, m, k, n);
  forEachSimdLevel((level) => {
    for (const [ta, tb] of combos) {
      const c = new Float32Array(m * n);
      native.matmul(c, ta ? transpose(a, m, k) : a, tb ? transpose(b, k, n) : b, m, n, k, ta, tb, false);
      assert.deepEqual(c, want, `${level} transA=${ta} transB=${tb}`);
    }
  });
});

test('native matmul gives the same result with 1 and 2 threads', () => {
  const native = nativeKernelsForTest();
  const before = addonForTest().getThreads();
  const [m, k, n] = [300, 257, 129];
  const a = randArray(m * k, 7);
  const b = randArray(k * n, 8);
  forEachSimdLevel((level) => {
    for (const [ta, tb] of combos) {
      const got = [1, 2].map((threads) =>
        withThreads(threads, () => {
          const c = new Float32Array(m * n);
          native.matmul(c, a, b, m, n, k, ta, tb, false);
          return c;
        }),
      );
      assertClose(got[1]!, got[0]!, 1e-6, 1e-6, `${level} transA=${ta} transB=${tb}`);
    }
  });
  assert.equal(addonForTest().getThreads(), before);
});

test('both tile grids (quiet: one rectangle per thread; contended: ~4 speculative tiles per thread) give the bits of 1 thread, overwriting and accumulating', () => {
  const native = nativeKernelsForTest();
  const addon = addonForTest();
  // The last shape has K = 2048, so a rectangle's columns are packed in runs of at most 2^20 / K = 512.
  const shapes: Array<[number, number, number]> = [[300, 257, 129], [1000, 300, 700], [64, 2048, 1100]];
  try {
    for (const [m, k, n] of shapes) {
      const a = randArray(m * k, 11);
      const b = randArray(k * n, 12);
      const c0 = randArray(m * n, 13);
      const run = (threads: number, mode: number, acc: boolean): Float32Array => {
        addon.setContended(mode);
        return withThreads(threads, () => {
          const c = acc ? c0.slice() : new Float32Array(m * n);
          native.matmul(c, a, b, m, n, k, false, false, acc);
          return c;
        });
      };
      for (const acc of [false, true]) {
        const one = run(1, -1, acc);
        for (const threads of [2, 3]) {
          for (const mode of [0, 1]) assert.deepEqual(run(threads, mode, acc), one, `${m}x${k}x${n}, ${threads} threads, mode ${mode}, accumulate ${acc}`);
        }
      }
    }
  } finally {
    addon.setContended(-1);
  }
});

test('native matmul rejects arrays that are too small', () => {
  const native = nativeKernelsForTest();
  assert.throws(() => native.matmul(new Float32Array(5), new Float32Array(6), new Float32Array(6), 2, 3, 3, false, false, false));
  assert.throws(() => native.matmul(new Float32Array(6), new Float32Array(5), new Float32Array(9), 2, 3, 3, false, false, false));
});

test('native addBias and biasBackward match reference at every SIMD level', () => {
  const native = nativeKernelsForTest();
  const shapes: Array<[n: number, c: number]> = [[1, 1], [3, 17], [65, 127], [127, 65], [5, 300], [1000, 300], [300, 1000]];
  shapes.forEach(([n, c], s) => {
    const x = randArray(n * c, 400 + s);
    const bias = randArray(c, 500 + s);
    const wantOut = x.slice();
    ref.addBias(wantOut, bias, n, c);
    const dbias0 = randArray(c, 600 + s);
    const wantDbias = dbias0.slice();
    ref.biasBackward(wantDbias, x, n, c);
    forEachSimdLevel((level) => {
      const out = x.slice();
      native.addBias(out, bias, n, c);
      assertClose(out, wantOut, 1e-6, 1e-6, `${level} addBias ${n}x${c}`);
      const dbias = dbias0.slice();
      native.biasBackward(dbias, x, n, c);
      assertClose(dbias, wantDbias, 1e-4, 1e-4, `${level} biasBackward ${n}x${c}`);
    });
  });
});

// Speculative tiles (GEMM under contention, docs/threads.md): workers made to sleep after claiming a tile, as if
// preempted, so the caller must recompute their tiles; the late workers must then drop their results.
test('speculative GEMM: tiles held by a sleeping worker are recomputed, late results dropped, later products intact', async () => {
  const native = nativeKernelsForTest();
  const addon = addonForTest();
  const [m, k, n] = [300, 257, 700];
  const a = randArray(m * k, 21);
  const b = randArray(k * n, 22);
  const c0 = randArray(m * n, 23);
  const product = (threads: number): Float32Array =>
    withThreads(threads, () => {
      const c = c0.slice();
      native.matmul(c, a, b, m, n, k, false, false, true);
      return c;
    });
  const want = product(1);
  const before = addon.gemmStats();
  addon.setContended(1);
  addon.setSpeculativeDelay(30_000);
  const early: Float32Array[] = [];
  try {
    withThreads(2, () => {
      // 20 products back to back: the ring of 16 slots is reused while workers still sleep in old products.
      for (let i = 0; i < 20; i++) {
        const c = c0.slice();
        native.matmul(c, a, b, m, n, k, false, false, true);
        early.push(c.slice());
        c.fill(7); // the caller owns C again: no late worker may write to it
        early.push(c);
      }
    });
  } finally {
    addon.setSpeculativeDelay(0);
    addon.setContended(-1);
  }
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < early.length; i += 2) {
    assert.deepEqual(early[i], want, `product ${i / 2}: the bits of 1 thread`);
    assert.ok(early[i + 1]!.every((v) => v === 7), `product ${i / 2}: C written after matmul returned`);
  }
  const after = addon.gemmStats();
  assert.equal(after.speculative - before.speculative, 20);
  // A worker sleeps 30 ms on each tile it claims, far longer than the caller's patience: every such tile is recomputed
  // by the caller and dropped by the worker when it wakes (while it sleeps, the caller runs whole products alone).
  const recomputed = after.recomputed - before.recomputed;
  assert.ok(recomputed >= 1, `recomputed ${recomputed}`);
  assert.equal(after.dropped - before.dropped, recomputed);
  assert.deepEqual(product(2), want);
});

// A worker that wakes after its product returned still reads A and B, so a speculative product keeps its arrays alive
// until its slot of the ring (16) is reused, and then lets them go. Checked with a FinalizationRegistry in a process
// with --expose-gc: the last product's arrays survive gc() while workers may still read them, and are collected
// once 16 more products have reused the slots. (400x257x400 is above the 2^25 multiply-adds a contended product
// needs to be threaded.)
test('speculative GEMM: keeps its arrays alive for late workers, and releases them when its slot is reused', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const nativeUrl = pathToFileURL(path.join(root, 'dist', 'src', 'kernels', 'native', 'index.js')).href;
  const script = `
const { loadAddon } = await import(${JSON.stringify(nativeUrl)});
const addon = loadAddon();
addon.setThreads(2);
addon.setContended(1);
const collected = new Set();
const registry = new FinalizationRegistry((name) => collected.add(name));
const product = (name) => {
  const [m, k, n] = [400, 257, 400];
  const a = new Float32Array(m * k).fill(1), b = new Float32Array(k * n).fill(1), c = new Float32Array(m * n);
  addon.matmul(c, a, b, m, n, k, false, false, false);
  if (c[0] !== k) throw new Error('wrong product');
  registry.register(a, name + ' a');
  registry.register(b, name + ' b');
  registry.register(c, name + ' c');
};
const settle = async () => {
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
};
product('first');
await settle();
const pinned = ['a', 'b', 'c'].filter((x) => !collected.has('first ' + x));
for (let i = 0; i < 16; i++) product('later');
await settle();
const released = ['a', 'b', 'c'].filter((x) => collected.has('first ' + x));
console.log(JSON.stringify({ pinned, released, speculative: addon.gemmStats().speculative }));
`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { pinned: string[]; released: string[]; speculative: number };
  assert.equal(got.speculative, 17);
  assert.deepEqual(got.pinned, ['a', 'b', 'c'], 'kept alive after the product returned');
  assert.deepEqual(got.released, ['a', 'b', 'c'], 'released once the slot was reused');
});
