// The memory a training run may use, and the check that refuses a run needing more before anything is allocated
// (the estimate is src/model/memory.ts's). Available = the smaller of the memory the system says is available
// (os.freemem: MemAvailable on Linux) and, inside a cgroup v2 with a limit (a container), memory.max − memory.current.
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { ResourceError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { MemoryEstimate } from '../model/memory.js';

export interface AvailableMemory {
  bytes: number;
  /** Where the figure came from, for messages. */
  source: string;
}

function cgroupNumber(file: string): number | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : null; // 'max' = no limit
  } catch {
    return null;
  }
}

/** The memory this process may still allocate. */
export function availableMemory(): AvailableMemory {
  const free: AvailableMemory = { bytes: freemem(), source: 'available system memory' };
  const max = cgroupNumber('/sys/fs/cgroup/memory.max');
  const current = cgroupNumber('/sys/fs/cgroup/memory.current');
  if (max === null || current === null) return free;
  const left = Math.max(0, max - current);
  return left < free.bytes ? { bytes: left, source: `memory left under the cgroup limit of ${formatBytes(max)}` } : free;
}

/** Throws a ResourceError when the estimate exceeds the memory available, unless `force`. */
export function checkMemory(estimate: MemoryEstimate, force: boolean, available: AvailableMemory = availableMemory()): void {
  if (force || estimate.totalBytes <= available.bytes) return;
  throw new ResourceError(`training this config needs about ${formatBytes(estimate.totalBytes)} (${formatBytes(estimate.stateBytes)} weights and AdamW state, `
    + `${formatBytes(estimate.activationBytes)} activations), more than the ${formatBytes(available.bytes)} of ${available.source}: `
    + 'use a smaller batchSize, blockSize, nEmbd or nLayer (or more gradAccumSteps), or pass --force to try anyway');
}
