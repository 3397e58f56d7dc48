// Attention kernels: the reference against a naive float64 implementation, hand-checked numbers and finite
// differences; the native addon against the reference at every SIMD level; and the semantics Mixture-of-Depths
// relies on (visibility by position, relative RoPE, causality, the KV-cache decode path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as ref, type AttentionDims, type Kernels } from '../../src/kernels/index.js';
import { addonForTest, assertClose, forEachSimdLevel, nativeKernelsForTest, randArray, rng, withThreads } from '../helpers.js';

const dims = (b: number, t: number, nHead: number, headSize: number, rope: boolean): AttentionDims => ({
  b,
  t,
  nHead,
  headSize,
  rope,
  ropeBase: 10000,
});

/** Obviously-correct attention in float64: per row, per head, every visible key. */
function naiveAttention(qkv: ArrayLike<number>, pos: Int32Array, d: AttentionDims): Float64Array {
  const { b: B, t: T, nHead: H, headSize: hs } = d;
  const C = H * hs;
  const out = new Float64Array(B * T * C);
  const rot = (row: number, part: number, h: number, p: number): number[] => {
    const x = Array.from({ length: hs }, (_, e) => qkv[row * 3 * C + part * C + h * hs + e]!);
    if (!d.rope || part === 2) return x;
    for (let i = 0; i < hs / 2; i++) {
      const a = p * Math.pow(d.ropeBase, (-2 * i) / hs);
      const [x0, x1] = [x[2 * i]!, x[2 * i + 1]!];
      x[2 * i] = x0 * Math.cos(a) - x1 * Math.sin(a);
      x[2 * i + 1] = x0 * Math.sin(a) + x1 * Math.cos(a);
    }
    return x;
  };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const pi = pos[b * T + i]!;
        const q = rot(b * T + i, 0, h, pi);
        const visible = [...Array(T).keys()].filter((j) => pos[b * T + j]! <= pi);
        const s = visible.map((j) => rot(b * T + j, 1, h, pos[b * T + j]!).reduce((acc, k, e) => acc + k * q[e]!, 0) / Math.sqrt(hs));
        const max = Math.max(...s);
        const w = s.map((x) => Math.exp(x - max));
        const sum = w.reduce((a, x) => a + x, 0);
        visible.forEach((j, n) => {
          const v = rot(b * T + j, 2, h, 0);
          for (let e = 0; e < hs; e++) out[(b * T + i) * C + h * hs + e] += (w[n]! / sum) * v[e]!;
        });
      }
  return out;
}

function forward(k: Kernels, qkv: Float32Array, pos: Int32Array, d: AttentionDims): { out: Float32Array; cache: Float32Array } {
  const out = new Float32Array(d.b * d.t * d.nHead * d.headSize);
  const cache = new Float32Array(k.attentionCacheSize(d));
  k.attentionForward(out, cache, qkv, pos, d);
  return { out, cache };
}

/** dqkv after forward + backward, accumulated onto `init`. */
function gradient(k: Kernels, qkv: Float32Array, dout: Float32Array, pos: Int32Array, d: AttentionDims, init: Float32Array): Float32Array {
  const { cache } = forward(k, qkv, pos, d);
  const dqkv = Float32Array.from(init);
  k.attentionBackward(dqkv, dout, cache, qkv, pos, d);
  return dqkv;
}

/** Positions per sequence: 'seq' = 0..T-1, 'gaps' = increasing with gaps and ties, 'shuffled' = a permutation with ties. */
function positions(b: number, t: number, kind: 'seq' | 'gaps' | 'shuffled', seed: number): Int32Array {
  const r = rng(seed);
  const pos = new Int32Array(b * t);
  for (let s = 0; s < b; s++) {
    let p = Math.floor(r() * 3);
    const row: number[] = [];
    for (let i = 0; i < t; i++) {
      row.push(kind === 'seq' ? i : p);
      p += Math.floor(r() * 3); // steps of 0 (a tie), 1 or 2
    }
    if (kind === 'shuffled')
      for (let i = t - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [row[i], row[j]] = [row[j]!, row[i]!];
      }
    pos.set(row, s * t);
  }
  return pos;
}

function withEveryLevel(fn: (k: Kernels, level: string) => void): void {
  const k = nativeKernelsForTest();
  forEachSimdLevel((level) => fn(k, level));
}

test('reference forward: hand-checked numbers (B=1, T=3, one head, headSize 2)', () => {
  const d = dims(1, 3, 1, 2, false);
  const v = [1, 2, 3, 4, 5, 6];
  const qkv = (q: number[], k: number[]): Float32Array =>
    Float32Array.from([0, 1, 2].flatMap((t) => [q[2 * t]!, q[2 * t + 1]!, k[2 * t]!, k[2 * t + 1]!, v[2 * t]!, v[2 * t + 1]!]));
  const zeros = [0, 0, 0, 0, 0, 0];
  // q = k = 0: uniform weights over the visible rows, so out_i = mean(v_0..v_i).
  assertClose(forward(ref, qkv(zeros, zeros), Int32Array.from([0, 1, 2]), d).out, [1, 2, 2, 3, 3, 4]);
  // Equal positions see each other: rows 0 and 1 both average v_0 and v_1.
  assertClose(forward(ref, qkv(zeros, zeros), Int32Array.from([5, 5, 6]), d).out, [2, 3, 2, 3, 3, 4]);
  // Row 1: scores (0, ln 2) after the 1/sqrt(2) scale, so weights (1/3, 2/3): out_1 = v_0/3 + 2·v_1/3 = (7/3, 10/3).
  const q = [0, 0, Math.SQRT2 * Math.LN2, 0, 0, 0];
  const k = [0, 0, 1, 0, 0, 0];
  assertClose(forward(ref, qkv(q, k), Int32Array.from([0, 1, 2]), d).out, [1, 2, 7 / 3, 10 / 3, 3, 4], 1e-6, 1e-6);
});

test('reference forward: hand-checked RoPE (headSize 2 rotates by the position itself)', () => {
  // q = k = (1, 0) everywhere, positions 0 and 1: rotated q_1 = k_1 = (cos 1, sin 1), k_0 = (1, 0),
  // so row 1 has scores (cos 1, 1)/sqrt(2).
  const d = dims(1, 2, 1, 2, true);
  const qkv = Float32Array.from([1, 0, 1, 0, 10, 0, 1, 0, 1, 0, 20, 0]);
  const { out } = forward(ref, qkv, Int32Array.from([0, 1]), d);
  const w0 = Math.exp(Math.cos(1) / Math.SQRT2);
  const w1 = Math.exp(1 / Math.SQRT2);
  assertClose(out, [10, 0, (10 * w0 + 20 * w1) / (w0 + w1), 0], 1e-6, 1e-6);
});

test('reference forward matches the naive float64 implementation', () => {
  const cases: Array<[AttentionDims, 'seq' | 'gaps' | 'shuffled']> = [
    [dims(2, 5, 2, 4, false), 'seq'],
    [dims(2, 7, 3, 6, true), 'gaps'],
    [dims(3, 9, 2, 8, true), 'shuffled'],
    [dims(1, 1, 1, 2, true), 'seq'],
  ];
  cases.forEach(([d, kind], n) => {
    const qkv = randArray(d.b * d.t * 3 * d.nHead * d.headSize, 10 + n, 2);
    const pos = positions(d.b, d.t, kind, 20 + n);
    assertClose(forward(ref, qkv, pos, d).out, naiveAttention(qkv, pos, d), 1e-5, 1e-6, `case ${n}`);
  });
});

test('reference backward matches finite differences of the float64 forward', () => {
  const cases: Array<[AttentionDims, Int32Array]> = [
    [dims(1, 4, 2, 4, false), Int32Array.from([0, 1, 2, 3])],
    [dims(1, 4, 2, 4, true), Int32Array.from([0, 2, 3, 7])],
    [dims(2, 4, 1, 6, true), Int32Array.from([0, 2, 3, 7, 5, 1, 5, 2])],
  ];
  cases.forEach(([d, pos], n) => {
    const qkv = randArray(d.b * d.t * 3 * d.nHead * d.headSize, 30 + n, 1.5);
    const w = randArray(d.b * d.t * d.nHead * d.headSize, 40 + n);
    const init = randArray(qkv.length, 50 + n);
    const loss = (x: Float64Array): number => naiveAttention(x, pos, d).reduce((a, o, i) => a + o * w[i]!, 0);
    const fd = new Float64Array(qkv.length);
    const x = Float64Array.from(qkv);
    const eps = 1e-5;
    for (let i = 0; i < x.length; i++) {
      x[i] = qkv[i]! + eps;
      const up = loss(x);
      x[i] = qkv[i]! - eps;
      fd[i] = (up - loss(x)) / (2 * eps);
      x[i] = qkv[i]!;
    }
    const dqkv = gradient(ref, qkv, w, pos, d, init);
    assertClose(dqkv.map((g, i) => g - init[i]!), fd, 1e-3, 1e-4, `case ${n}`);
    assert.ok(fd.some((g) => Math.abs(g) > 0.1), 'the gradient is not trivially zero');
  });
});

// Shapes for native-vs-reference: odd T (incl. more than one 64-row block), every head size class.
const shapes: Array<[AttentionDims, 'seq' | 'gaps' | 'shuffled']> = [
  [dims(1, 1, 1, 8, true), 'seq'],
  [dims(2, 3, 2, 2, true), 'gaps'],
  [dims(1, 3, 1, 5, false), 'seq'],
  [dims(3, 17, 2, 16, true), 'seq'],
  [dims(2, 17, 3, 8, false), 'shuffled'],
  [dims(2, 65, 2, 32, true), 'gaps'],
  [dims(1, 65, 1, 64, true), 'shuffled'],
  [dims(1, 127, 2, 64, true), 'seq'],
  [dims(2, 127, 1, 24, false), 'gaps'],
  [dims(1, 150, 1, 8, true), 'gaps'],
];

test('native forward and backward match the reference at every SIMD level', () => {
  const addon = addonForTest() as unknown as Record<string, unknown>;
  for (const name of ['attentionCacheSize', 'attentionForward', 'attentionBackward', 'ropeInPlace', 'attentionDecode'])
    assert.equal(typeof addon[name], 'function', `the addon exports ${name}`);
  shapes.forEach(([d, kind], n) => {
    const C = d.nHead * d.headSize;
    const qkv = randArray(d.b * d.t * 3 * C, 100 + n, 2);
    const dout = randArray(d.b * d.t * C, 200 + n);
    const init = randArray(qkv.length, 300 + n);
    const pos = positions(d.b, d.t, kind, 400 + n);
    const want = forward(ref, qkv, pos, d).out;
    const wantGrad = gradient(ref, qkv, dout, pos, d, init);
    withEveryLevel((k, level) => {
      const what = `${level} B${d.b} T${d.t} H${d.nHead} hs${d.headSize} rope=${d.rope} ${kind}`;
      assertClose(forward(k, qkv, pos, d).out, want, 1e-4, 1e-5, `forward ${what}`);
      assertClose(gradient(k, qkv, dout, pos, d, init), wantGrad, 1e-3, 2e-4, `backward ${what}`);
    });
  });
});

test('native ropeInPlace and attentionDecode match the reference at every SIMD level', () => {
  const cases: Array<[number, number, number]> = [
    [1, 1, 2],
    [3, 2, 8],
    [17, 3, 16],
    [65, 2, 64],
    [127, 1, 32],
  ]; // [rows (= cache length), nHead, headSize]
  cases.forEach(([n, H, hs], c) => {
    const C = H * hs;
    const pos = positions(1, n, 'gaps', 500 + c);
    const x = randArray(n * 3 * C, 600 + c);
    const wantRot = Float32Array.from(x);
    ref.ropeInPlace(wantRot, pos, n, 3 * C, C, H, hs, 10000); // the k part of qkv rows
    const q = randArray(C, 700 + c, 3);
    const keys = randArray(n * C, 800 + c, 3);
    const values = randArray(n * C, 900 + c);
    const wantOut = new Float32Array(C);
    ref.attentionDecode(wantOut, q, keys, values, n, H, hs);
    withEveryLevel((k, level) => {
      const rot = Float32Array.from(x);
      k.ropeInPlace(rot, pos, n, 3 * C, C, H, hs, 10000);
      assertClose(rot, wantRot, 1e-5, 1e-6, `ropeInPlace ${level} n${n} hs${hs}`);
      const out = new Float32Array(C);
      k.attentionDecode(out, q, keys, values, n, H, hs);
      assertClose(out, wantOut, 1e-5, 1e-6, `attentionDecode ${level} len${n} hs${hs}`);
    });
  });
});

/** Every backend to check: the reference, then native at each SIMD level. */
function everyBackend(fn: (k: Kernels, what: string) => void): void {
  fn(ref, 'reference');
  withEveryLevel((k, level) => fn(k, `native ${level}`));
}

test('RoPE: shifting every position by a constant leaves the output unchanged', () => {
  const d = dims(2, 33, 2, 16, true);
  const qkv = randArray(d.b * d.t * 3 * 32, 1000);
  const pos = positions(d.b, d.t, 'gaps', 1001);
  const shifted = pos.map((p) => p + 1000);
  everyBackend((k, what) => {
    const a = forward(k, qkv, pos, d).out;
    assertClose(forward(k, qkv, shifted, d).out, a, 1e-4, 1e-5, what);
    // ...while the positions themselves do matter: spreading them out changes the output.
    const spread = forward(k, qkv, pos.map((p) => 3 * p), d).out;
    assert.ok(spread.some((o, i) => Math.abs(o - a[i]!) > 1e-3), `${what}: positions are used`);
  });
});

test('a routed subset at its original positions attends exactly like a sequence made of only those tokens', () => {
  // Tokens selected from a longer sequence (e.g. by a Mixture-of-Depths router), sorted, at their positions.
  const H = 2;
  const hs = 8;
  const C = H * hs;
  const idx = [1, 4, 5, 8, 9, 13];
  const K = idx.length;
  const gathered = randArray(K * 3 * C, 1100);
  const pos = Int32Array.from(idx);
  everyBackend((k, what) => {
    for (const rope of [false, true]) {
      const sub = forward(k, gathered, pos, dims(1, K, H, hs, rope)).out;
      // Row r must equal the last row of attention over a sequence consisting of selected tokens 0..r alone.
      for (let r = 0; r < K; r++) {
        const prefix = forward(k, gathered.slice(0, (r + 1) * 3 * C), pos.slice(0, r + 1), dims(1, r + 1, H, hs, rope)).out;
        assertClose(sub.subarray(r * C, (r + 1) * C), prefix.subarray(r * C), 1e-6, 1e-7, `${what} rope=${rope} row ${r}`);
      }
      if (!rope) {
        // Without RoPE only the order matters: compacted positions 0..K-1 give the same bits.
        const compact = forward(k, gathered, Int32Array.from(idx.keys()), dims(1, K, H, hs, false)).out;
        assert.deepEqual(sub, compact, `${what}: positions only mask`);
      }
    }
  });
});

test('causality: an earlier row does not depend on later rows (bit for bit)', () => {
  const d = dims(2, 70, 2, 16, true);
  const C = 32;
  const qkv = randArray(d.b * d.t * 3 * C, 1200);
  const pos = positions(d.b, d.t, 'gaps', 1201);
  // Perturb q, k and v of every row whose position is above row 40's, in both sequences.
  const perturbed = Float32Array.from(qkv);
  for (let b = 0; b < d.b; b++)
    for (let t = 0; t < d.t; t++)
      if (pos[b * d.t + t]! > pos[b * d.t + 40]!) for (let e = 0; e < 3 * C; e++) perturbed[(b * d.t + t) * 3 * C + e] += 0.5;
  everyBackend((k, what) => {
    const a = forward(k, qkv, pos, d).out;
    const p = forward(k, perturbed, pos, d).out;
    for (let b = 0; b < d.b; b++) {
      const rows = (x: Float32Array): Float32Array => x.slice(b * d.t * C, (b * d.t + 41) * C);
      assert.deepEqual(rows(p), rows(a), `${what}: sequence ${b}, rows 0..40 unchanged`);
      assert.notDeepEqual(p.slice((b * d.t + 41) * C, (b + 1) * d.t * C), a.slice((b * d.t + 41) * C, (b + 1) * d.t * C));
    }
  });
});

test('decode: ropeInPlace + attentionDecode over a growing KV cache reproduces attentionForward row by row', () => {
  const H = 2;
  const hs = 16;
  const C = H * hs;
  const T = 20;
  const pos = Int32Array.from({ length: T }, (_, t) => 3 * t + (t % 2)); // increasing, with gaps
  const qkv = randArray(T * 3 * C, 1300);
  everyBackend((k, what) => {
    const full = forward(k, qkv, pos, dims(1, T, H, hs, true)).out;
    const keys = new Float32Array(T * C);
    const values = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      const row = qkv.slice(t * 3 * C, (t + 1) * 3 * C);
      k.ropeInPlace(row, pos.subarray(t, t + 1), 1, 3 * C, 0, 2 * H, hs, 10000); // q and k, contiguous heads
      keys.set(row.subarray(C, 2 * C), t * C);
      values.set(row.subarray(2 * C), t * C);
      const out = new Float32Array(C);
      k.attentionDecode(out, row.subarray(0, C), keys, values, t + 1, H, hs);
      assertClose(out, full.subarray(t * C, (t + 1) * C), 1e-5, 1e-6, `${what} row ${t}`);
    }
  });
});

test('backward accumulates into dqkv', () => {
  const d = dims(1, 9, 2, 8, true);
  const qkv = randArray(9 * 3 * 16, 1400);
  const dout = randArray(9 * 16, 1401);
  const pos = positions(1, 9, 'gaps', 1402);
  everyBackend((k, what) => {
    const once = gradient(k, qkv, dout, pos, d, new Float32Array(qkv.length));
    const { cache } = forward(k, qkv, pos, d);
    const twice = new Float32Array(qkv.length);
    k.attentionBackward(twice, dout, cache, qkv, pos, d);
    k.attentionBackward(twice, dout, cache, qkv, pos, d);
    assertClose(twice, once.map((g) => 2 * g), 1e-6, 1e-7, what);
  });
});

test('invalid arguments are rejected', () => {
  const d = dims(1, 2, 1, 3, true); // RoPE needs an even headSize
  const qkv = new Float32Array(2 * 9);
  const pos = Int32Array.from([0, 1]);
  assert.throws(() => forward(ref, qkv, pos, d), /even headSize/);
  const k = nativeKernelsForTest();
  assert.throws(() => forward(k, qkv, pos, d), /even headSize/);
  const ok = dims(1, 2, 1, 4, false);
  assert.throws(() => k.attentionForward(new Float32Array(8), new Float32Array(2), new Float32Array(10), pos, ok), /needs 24/);
});

// When the (sequence, head) pairs cannot keep the threads evenly busy and T >= 512, the native forward cuts each pair
// into query blocks of 64 rows (docs/threads.md). 4 pairs: 1 thread runs whole heads, 3 and 16 threads run blocks;
// both must give the same bits, with sorted and scattered positions (masked scores), with and without RoPE, and agree
// with the reference.
test('native attention forward cut into query blocks gives the bits of whole heads', () => {
  const native = nativeKernelsForTest();
  const split = (): number => addonForTest().attentionStats().splitForwards;
  const before = split();
  let cut = 0;
  for (const rope of [false, true]) {
    for (const t of [512, 600]) {
      const d: AttentionDims = { b: 2, t, nHead: 2, headSize: 32, rope, ropeBase: 10000 };
      const qkv = randArray(d.b * d.t * 3 * d.nHead * d.headSize, 31 + t);
      const sorted = Int32Array.from({ length: d.b * t }, (_, i) => i % t);
      const scattered = Int32Array.from({ length: d.b * t }, (_, i) => (i * 37) % t);
      for (const [name, pos] of [['sorted', sorted], ['scattered', scattered]] as const) {
        const atOne = split();
        const whole = withThreads(1, () => forward(native, qkv, pos, d));
        assert.equal(split(), atOne, '1 thread runs whole heads');
        for (const threads of [3, 16]) {
          const blocks = withThreads(threads, () => forward(native, qkv, pos, d));
          cut++;
          const what = `T=${t} rope=${rope} ${name} positions, ${threads} threads`;
          assert.deepEqual(blocks.out, whole.out, what);
          assert.deepEqual(blocks.cache, whole.cache, what);
        }
        assertClose(whole.out, forward(ref, qkv, pos, d).out, 2e-5, 2e-5, `T=${t} rope=${rope} ${name}: reference`);
      }
    }
  }
  assert.equal(split() - before, cut, '3 and 16 threads cut the 4 pairs into query blocks');
});
