// Backend selection. The native addon is used when it loads; otherwise the reference backend, with one warning.
// MOD_BACKEND=reference|native forces either (native then fails loudly if the addon is missing).
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

/** The addon and its kernels, or why it is unavailable. Loaded once. */
export function nativeBackend(): NativeState | string {
  if (native === undefined) {
    const addon = loadAddon();
    native = typeof addon === 'string' ? addon : { addon, ...nativeKernels(addon) };
  }
  return native;
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
