// TEMPORARY STUB (written with the CLI shell): the sampler replaces this file. `mod sample` parses and validates
// its options (src/cli/sample.ts) and calls sampleCommand with them.
import type { Io } from '../cli/io.js';

export interface SampleOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Non-empty text to continue. */
  prompt: string;
  /** New tokens to generate, >= 1. */
  tokens: number;
  /** > 0. */
  temperature: number;
  /** Keep the k most likely tokens (integer >= 1), or null for no top-k. */
  topK: number | null;
  /** Nucleus sampling mass in (0, 1]; 1 = off. */
  topP: number;
  seed: number;
  /** Use the KV cache (false: recompute the whole context at every step, for checking). */
  cache: boolean;
}

export async function sampleCommand(_opts: SampleOptions, _io: Io): Promise<void> {
  throw new Error('sampler not implemented yet');
}
