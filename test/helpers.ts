// Shared test utilities: a seeded RNG for fixtures, and closeness assertions that name the first bad element.
import assert from 'node:assert/strict';
import { nativeBackend, type Kernels } from '../src/kernels/node.js';
import type { Addon } from '../src/kernels/native/index.js';
import type { Rng } from '../src/engine/rng.js';
import type { Module } from '../src/nn/module.js';

/** Mulberry32: a tiny seeded PRNG, so fixtures are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n floats uniform in [-scale, scale). */
export function randArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/** n ints uniform in [0, max). */
export function randInts(n: number, max: number, seed: number): Int32Array {
  const r = rng(seed);
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * max);
  return a;
}

/**
 * Weights at the scale of a trained model rather than of the init, so that attention is far from uniform and every
 * layer moves its output well above float32 noise: matmul weights N(0, std²), LayerNorm gains 1 ± 0.1.
 */
export function realisticWeights(m: Module, rng: Rng, std: number): void {
  for (const [name, p] of m.namedParameters()) {
    if (name.includes('ln_')) for (let i = 0; i < p.size; i++) p.data[i] = 1 + 0.1 * rng.normal();
    else rng.fillNormal(p.data, std);
  }
}

/** Asserts |a-b| <= atol + rtol·|b| elementwise. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol = 1e-5, atol = 1e-6, what = 'arrays'): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      assert.fail(`${what}: element ${i}: ${x} vs ${y} (|diff| ${Math.abs(x - y)}, rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** The native kernels. Throws when the addon is not built: CI must test it, never skip it silently. */
export function nativeKernelsForTest(): Kernels {
  const n = nativeBackend();
  if (typeof n === 'string') throw new Error(`native addon unavailable: ${n}`);
  return n.kernels;
}

/** The raw addon (SIMD level and thread controls), for tests that sweep dispatch levels. */
export function addonForTest(): Addon {
  const n = nativeBackend();
  if (typeof n === 'string') throw new Error(`native addon unavailable: ${n}`);
  return n.addon;
}

/** SIMD levels this CPU supports, lowest first: tests run native kernels at each. */
export function simdLevels(): Array<'scalar' | 'avx2' | 'avx512'> {
  const d = addonForTest().getSimdDetected();
  return d === 'avx512' ? ['scalar', 'avx2', 'avx512'] : d === 'avx2' ? ['scalar', 'avx2'] : ['scalar'];
}

/** Runs body once per SIMD level this CPU has (checking the addon really switched), restoring the best level after. */
export function forEachSimdLevel(body: (level: string) => void): void {
  const addon = addonForTest();
  try {
    for (const level of simdLevels()) {
      assert.equal(addon.setSimd(level), level, `the addon did not switch to ${level}`);
      body(level);
    }
  } finally {
    addon.setSimd('avx512');
  }
}

/** Runs body with the pool at `threads` threads, restoring the previous count afterwards. */
export function withThreads<T>(threads: number, body: () => T): T {
  const addon = addonForTest();
  const before = addon.getThreads();
  addon.setThreads(threads);
  try {
    return body();
  } finally {
    addon.setThreads(before);
  }
}
