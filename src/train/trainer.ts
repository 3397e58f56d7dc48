// TEMPORARY STUB (written with the CLI shell): the trainer replaces this file. It fixes only what `mod train`
// calls: train(run, io) with a resolved, validated TrainRun. The real trainer sets run.model.vocabSize from the
// tokenizer, uses src/cli/progress.ts for progress and src/train/checkpoint.ts to save into run.train.out
// (and to load from it when run.resume).
import type { Io } from '../cli/io.js';
import type { TrainRun } from './config.js';

export type { TrainRun } from './config.js';

export async function train(_run: TrainRun, _io: Io): Promise<void> {
  throw new Error('trainer not implemented yet');
}
