// Backend selection. The native addon is used when it loads; otherwise the reference backend, with one warning.
// MOD_BACKEND=reference|native forces either (native then fails loudly if the addon is missing).
// MOD_THREADS=N sets the native thread count (default: the cores this process may use), MOD_SIMD=scalar|avx2|avx512
// caps the SIMD level; a bad value of either is a ConfigError when the addon loads.
import { ConfigError } from '../errors.js';
import type { BackendName, KernelName, Kernels } from './types.js';
import { referenceKernels } from './reference/index.js';
import { type Addon, loadAddon, nativeKernels } from './native/index.js';

export type { AttentionDims, BackendName, F32, I32, KernelName, Kernels } from './types.js';
export { referenceKernels } from './reference/index.js';

interface NativeState {
  addon: Addon;
  kernels: Kernels;
  missing: KernelName[];
}

let native: NativeState | string | undefined;
let current: Kernels | undefined;

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

/** Applies MOD_THREADS and checks MOD_SIMD (which the addon reads itself) before any kernel runs. */
function applyEnv(addon: Addon): void {
  const simd = process.env.MOD_SIMD;
  if (simd !== undefined && simd !== '' && !(simdLevels as readonly string[]).includes(simd)) {
    throw new ConfigError(`MOD_SIMD=${simd} is not a SIMD level; use MOD_SIMD=${simdLevels.join('|')} or leave it unset`);
  }
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

function choose(): Kernels {
  const forced = process.env.MOD_BACKEND;
  if (forced !== undefined && forced !== '' && forced !== 'reference' && forced !== 'native') {
    throw new Error(`MOD_BACKEND=${forced} is not a backend; use MOD_BACKEND=native or MOD_BACKEND=reference`);
  }
  if (forced === 'reference') return referenceKernels;
  const n = nativeBackend();
  if (typeof n !== 'string') return n.kernels;
  if (forced === 'native') throw new Error(`MOD_BACKEND=native but the native addon is unavailable: ${n}`);
  process.emitWarning(`native addon unavailable (${n}); using the slow TypeScript reference backend`, 'ModBackendWarning');
  return referenceKernels;
}

/** The kernels every op runs on. */
export function kernels(): Kernels {
  if (current === undefined) current = choose();
  return current;
}

/** Switches backend for the rest of the process (tests and benchmarks). */
export function setBackend(name: BackendName): Kernels {
  if (name === 'reference') {
    current = referenceKernels;
  } else {
    const n = nativeBackend();
    if (typeof n === 'string') throw new Error(`native addon unavailable: ${n}`);
    current = n.kernels;
  }
  return current;
}

/** A one-line description of the active backend, e.g. "native (avx512, 2 threads)". */
export function backendInfo(): string {
  const k = kernels();
  if (k.name === 'reference') return 'reference (TypeScript)';
  const n = nativeBackend();
  if (typeof n === 'string') return 'reference (TypeScript)';
  return `native (${n.addon.getSimd()}, ${n.addon.getThreads()} threads)`;
}
