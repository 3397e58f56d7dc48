// TEMPORARY STUB (written with the CLI shell): the evaluator replaces this file. `mod eval` parses and validates
// its options (src/cli/eval.ts) and calls evaluateCommand with them.
import type { Io } from '../cli/io.js';

export interface EvalOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Text file to evaluate on, or null for the checkpoint's own validation split. */
  data: string | null;
  /** Print one JSON object on stdout and nothing else. */
  json: boolean;
}

export async function evaluateCommand(_opts: EvalOptions, _io: Io): Promise<void> {
  throw new Error('evaluator not implemented yet');
}
