// The Node side of backend selection: loads the native addon (src/kernels/native) and registers it as the native
// provider of src/kernels/index.ts. The Node entry (src/index.ts), the CLI and the test runner import this module;
// the browser entry does not, so a browser bundle never sees `node:` modules.
import { ConfigError } from '../errors.js';
import { type NativeBackend, registerNativeProvider } from './index.js';
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

/** The addon and its kernels, or why it is unavailable. Loaded once. */
export function nativeBackend(): NativeState | string {
  if (native === undefined) {
    const addon = loadAddon();
    native = typeof addon === 'string' ? addon : { addon, ...nativeKernels(addon) };
  }
  return native;
}

const SIMD_LEVELS = ['scalar', 'avx2', 'avx512'] as const;
/** The thread pool's largest size (native/threadpool.cc clamps to it). */
const MAX_THREADS = 256;

/** MOD_THREADS: unset or empty = all cores, else a whole number 1..256 (the addon reads it with atoi, which takes "abc" as 0). */
export function parseThreadsEnv(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!(n >= 1 && n <= MAX_THREADS)) throw new ConfigError(`MOD_THREADS=${raw} is not a thread count: use a whole number from 1 to ${MAX_THREADS}, or unset it for all cores`);
  return n;
}

/** MOD_SIMD: unset or empty = the best level the CPU has, else a cap: scalar, avx2 or avx512. */
export function parseSimdEnv(raw: string | undefined): (typeof SIMD_LEVELS)[number] | null {
  if (raw === undefined || raw === '') return null;
  const level = SIMD_LEVELS.find((l) => l === raw);
  if (level === undefined) throw new ConfigError(`MOD_SIMD=${raw} is not a SIMD level: use ${SIMD_LEVELS.join(', ')}, or unset it for the best the CPU has`);
  return level;
}

function provide(): NativeBackend | string {
  parseThreadsEnv(process.env.MOD_THREADS);
  parseSimdEnv(process.env.MOD_SIMD);
  const n = nativeBackend();
  if (typeof n === 'string') return n;
  return { kernels: n.kernels, describe: () => `${n.addon.getSimd()}, ${n.addon.getThreads()} threads` };
}

registerNativeProvider(provide);
