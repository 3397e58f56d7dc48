// The native backend: the C++ addon (build/Release/mod_native.node), bound zero-copy to the same Float32Arrays.
// Addon functions take the arguments of types.ts in the same order, except that AttentionDims is passed
// flattened as (b, t, nHead, headSize, rope, ropeBase).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttentionDims, F32, I32, KernelName, Kernels } from '../types.js';
import { referenceKernels } from '../reference/index.js';

type AddonFn = (...args: unknown[]) => unknown;

/** The raw addon: kernels plus run-time controls. */
export interface Addon {
  getThreads(): number;
  setThreads(n: number): void;
  /** CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota (the default thread count). */
  getCores(): number;
  /** Tests: how the pool cuts work, -1 as measured (the default), 0 as on a quiet machine, 1 as under contention. */
  setContended(mode: number): void;
  /** The contention guard's counts since the addon loaded (docs/threads.md). */
  poolStats(): { windows: number; contendedWindows: number; serialJobs: number; backoffs: number };
  /** Speculative GEMMs run, tiles the caller recomputed, late results dropped, since the addon loaded. */
  gemmStats(): { speculative: number; recomputed: number; dropped: number };
  /** Attention forwards cut into query blocks (too few (sequence, head) pairs for the threads) since the addon loaded. */
  attentionStats(): { splitForwards: number };
  /** Tests: pool workers sleep this many µs after claiming a speculative GEMM tile, as if preempted. */
  setSpeculativeDelay(microseconds: number): void;
  getSimd(): string;
  getSimdDetected(): string;
  setSimd(level: 'scalar' | 'avx2' | 'avx512'): string;
}

function findAddon(): string | undefined {
  // MOD_ADDON_PATH points at another build of the addon (and lets tests simulate a missing one).
  const override = process.env.MOD_ADDON_PATH;
  if (override !== undefined && override !== '') return existsSync(override) ? override : undefined;
  // dist/src/kernels/native/index.js and src/kernels/native/index.ts both sit 3-4 levels below the package root.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = path.join(dir, 'build', 'Release', 'mod_native.node');
    if (existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Loads the addon, or returns the reason it could not be loaded. */
export function loadAddon(): Addon | string {
  const file = findAddon();
  if (file === undefined) {
    const where = process.env.MOD_ADDON_PATH ? `MOD_ADDON_PATH=${process.env.MOD_ADDON_PATH}` : 'build/Release/mod_native.node';
    return `${where} not found (run \`npm run build:addon\`)`;
  }
  try {
    return createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    return `could not load ${file}: ${(e as Error).message.split('\n')[0]}`;
  }
}

const dimsArgs = (d: AttentionDims): unknown[] => [d.b, d.t, d.nHead, d.headSize, d.rope, d.ropeBase];

/**
 * Builds the native Kernels from the addon. Kernels the addon lacks fall back to the reference ones and are listed
 * in `missing` (a test requires it to be empty).
 */
export function nativeKernels(addon: Addon): { kernels: Kernels; missing: KernelName[] } {
  const missing: KernelName[] = [];
  const pick = <K extends KernelName>(name: K, wrap?: (fn: AddonFn) => Kernels[K]): Kernels[K] => {
    const fn = (addon as unknown as Record<string, unknown>)[name];
    if (typeof fn !== 'function') {
      missing.push(name);
      return referenceKernels[name];
    }
    return wrap ? wrap(fn as AddonFn) : (fn as Kernels[K]);
  };
  const kernels: Kernels = {
    name: 'native',
    matmul: pick('matmul'),
    addBias: pick('addBias'),
    biasBackward: pick('biasBackward'),
    add: pick('add'),
    accumulate: pick('accumulate'),
    scaleInPlace: pick('scaleInPlace'),
    geluForward: pick('geluForward'),
    geluBackward: pick('geluBackward'),
    sigmoidForward: pick('sigmoidForward'),
    sigmoidBackward: pick('sigmoidBackward'),
    rowScaleForward: pick('rowScaleForward'),
    rowScaleBackward: pick('rowScaleBackward'),
    layernormForward: pick('layernormForward'),
    layernormBackward: pick('layernormBackward'),
    rmsnormForward: pick('rmsnormForward'),
    rmsnormBackward: pick('rmsnormBackward'),
    embeddingForward: pick('embeddingForward'),
    embeddingBackward: pick('embeddingBackward'),
    attentionCacheSize: pick('attentionCacheSize', (fn) => (d: AttentionDims) => fn(...dimsArgs(d)) as number),
    attentionForward: pick('attentionForward', (fn) => (out: F32, cache: F32, qkv: F32, pos: I32, d: AttentionDims) => {
      fn(out, cache, qkv, pos, ...dimsArgs(d));
    }),
    attentionBackward: pick('attentionBackward', (fn) => (dqkv: F32, dout: F32, cache: F32, qkv: F32, pos: I32, d: AttentionDims) => {
      fn(dqkv, dout, cache, qkv, pos, ...dimsArgs(d));
    }),
    ropeInPlace: pick('ropeInPlace'),
    attentionDecode: pick('attentionDecode'),
    crossEntropyForward: pick('crossEntropyForward'),
    crossEntropyBackward: pick('crossEntropyBackward'),
    bceWithLogitsForward: pick('bceWithLogitsForward'),
    bceWithLogitsBackward: pick('bceWithLogitsBackward'),
    topkRows: pick('topkRows'),
    gatherRows: pick('gatherRows'),
    scatterAddRows: pick('scatterAddRows'),
    adamw: pick('adamw'),
    sumSquares: pick('sumSquares'),
  };
  return { kernels, missing };
}
