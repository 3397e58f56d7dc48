// Backend selection, safe to load in a browser. The reference backend (TypeScript) always exists; the native addon
// is a provider that the Node entry registers (src/kernels/node.ts), so nothing here imports a Node module. With a
// provider, the addon is used when it loads, else the reference backend with one warning; MOD_BACKEND=reference|
// native forces either (native then fails loudly if the addon is missing).
import { ConfigError } from '../errors.js';
import type { BackendName, Kernels } from './types.js';
import { referenceKernels } from './reference/index.js';

export type { AttentionDims, BackendName, F32, I32, KernelName, Kernels } from './types.js';
export { referenceKernels } from './reference/index.js';

/** The native backend as its provider describes it: its kernels, and run-time controls of the addon. */
export interface NativeBackend {
  kernels: Kernels;
  /** e.g. "avx512, 2 threads" */
  describe(): string;
}

/** Loads the native backend once, or says why it is unavailable. */
export type NativeProvider = () => NativeBackend | string;

let provider: NativeProvider | null = null;
let native: NativeBackend | string | undefined;
let current: Kernels | undefined;

/** Makes the native backend available (the Node entry does this); the next kernels() call may pick it. */
export function registerNativeProvider(p: NativeProvider): void {
  provider = p;
  native = undefined;
  current = undefined;
}

/** The native backend, or why it is unavailable (no provider in a browser build). Loaded once. */
export function providedNative(): NativeBackend | string {
  if (native === undefined) native = provider === null ? 'the native addon is only available in Node.js (this build has no provider)' : provider();
  return native;
}

/** MOD_BACKEND, where there is a process environment (not in a browser). */
function forcedBackend(): string | undefined {
  return typeof process === 'undefined' ? undefined : process.env.MOD_BACKEND;
}

function choose(): Kernels {
  const forced = forcedBackend();
  if (forced !== undefined && forced !== '' && forced !== 'reference' && forced !== 'native') {
    throw new ConfigError(`MOD_BACKEND=${forced} is not a backend; use MOD_BACKEND=native or MOD_BACKEND=reference`);
  }
  if (forced === 'reference' || provider === null) return referenceKernels;
  const n = providedNative();
  if (typeof n !== 'string') return n.kernels;
  if (forced === 'native') throw new ConfigError(`MOD_BACKEND=native but the native addon is unavailable: ${n}`);
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
    const n = providedNative();
    if (typeof n === 'string') throw new Error(`native addon unavailable: ${n}`);
    current = n.kernels;
  }
  return current;
}

/** A one-line description of the active backend, e.g. "native (avx512, 2 threads)". */
export function backendInfo(): string {
  const k = kernels();
  const n = providedNative();
  if (k.name === 'reference' || typeof n === 'string') return 'reference (TypeScript)';
  return `native (${n.describe()})`;
}
