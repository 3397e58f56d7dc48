// The Node side of backend selection: loads the native addon (src/kernels/native) and registers it as the native
// provider of src/kernels/index.ts. The Node entry (src/index.ts), the CLI and the test runner import this module;
// the browser entry does not, so a browser bundle never sees `node:` modules.
// MOD_THREADS=N sets the native thread count (default: the cores this process may use), MOD_SIMD=scalar|avx2|avx512
// caps the SIMD level; a bad value of either is a ConfigError when the addon loads.
import { ConfigError } from '../errors.js';
import { kernels, type NativeBackend, registerNativeProvider } from './index.js';
import { type Addon, loadAddon, nativeKernels } from './native/index.js';
import type { KernelName, Kernels } from './types.js';

export * from './index.js';
export type { Addon } from './native/index.js';

export interface NativeState {
  addon: Addon;
  kernels: Kernels;
  /** Kernels the addon lacks (they fall back to the reference ones; a test requires none). */
  missing: KernelName[];
}

let native: NativeState | string | undefined;

/** The most threads the native pool runs (the addon caps its pool there too). */
export const maxThreads = 256;

const simdLevels = ['scalar', 'avx2', 'avx512'] as const;

/** A thread count from `source` (MOD_THREADS or --threads): an integer in [1, maxThreads], else a ConfigError. */
export function parseThreads(raw: string, source: string): number {
  const t = raw.trim();
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > maxThreads) {
    throw new ConfigError(`${source}=${raw} is not a thread count; use an integer from 1 to ${maxThreads}`);
  }
  return n;
}

/** MOD_SIMD: unset or empty = the best level the CPU has, else a cap: scalar, avx2 or avx512 (else a ConfigError). */
export function parseSimd(raw: string | undefined): (typeof simdLevels)[number] | null {
  if (raw === undefined || raw === '') return null;
  const level = simdLevels.find((l) => l === raw);
  if (level === undefined) throw new ConfigError(`MOD_SIMD=${raw} is not a SIMD level; use MOD_SIMD=${simdLevels.join('|')} or leave it unset`);
  return level;
}

/** Applies MOD_THREADS and checks MOD_SIMD (which the addon reads itself) before any kernel runs. */
function applyEnv(addon: Addon): void {
  parseSimd(process.env.MOD_SIMD);
  const threads = process.env.MOD_THREADS;
  if (threads !== undefined && threads !== '') addon.setThreads(parseThreads(threads, 'MOD_THREADS'));
}

/** The addon and its kernels, or why it is unavailable. Loaded once; a bad MOD_THREADS or MOD_SIMD throws. */
export function nativeBackend(): NativeState | string {
  if (native === undefined) {
    const addon = loadAddon();
    if (typeof addon !== 'string') applyEnv(addon);
    native = typeof addon === 'string' ? addon : { addon, ...nativeKernels(addon) };
  }
  return native;
}

/** Sets the native pool's thread count (overriding MOD_THREADS); nothing to set when the addon is unavailable. */
export function setThreads(n: number): void {
  const nb = nativeBackend();
  if (typeof nb !== 'string') nb.addon.setThreads(n);
}

/** Threads the active backend computes on: the native pool's size, or 1 for the reference backend. */
export function activeThreads(): number {
  if (kernels().name !== 'native') return 1;
  const nb = nativeBackend();
  return typeof nb === 'string' ? 1 : nb.addon.getThreads();
}

function provide(): NativeBackend | string {
  const n = nativeBackend();
  if (typeof n === 'string') return n;
  return { kernels: n.kernels, describe: () => `${n.addon.getSimd()}, ${n.addon.getThreads()} threads` };
}

registerNativeProvider(provide);
