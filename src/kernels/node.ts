// The Node side of backend selection: loads the native addon (src/kernels/native) and registers it as the native
// provider of src/kernels/index.ts. The Node entry (src/index.ts), the CLI and the test runner import this module;
// the browser entry does not, so a browser bundle never sees `node:` modules.
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

function provide(): NativeBackend | string {
  const n = nativeBackend();
  if (typeof n === 'string') return n;
  return { kernels: n.kernels, describe: () => `${n.addon.getSimd()}, ${n.addon.getThreads()} threads` };
}

registerNativeProvider(provide);
