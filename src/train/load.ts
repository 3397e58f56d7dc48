// The one model loader for a checkpoint directory: the crash-safe load of src/train/checkpoint.ts, then the model
// and tokenizer built and checked by modelFromTensors (model-files.ts).
import { loadCheckpoint } from './checkpoint.js';
import { type LoadedModel, modelFromTensors } from './model-files.js';

export type { LoadedModel } from './model-files.js';

/**
 * Loads the checkpoint in `dir` with its model and tokenizer (a CheckpointError or DataError on a problem). The
 * optimizer state is not read: a checkpoint without optimizer.safetensors serves for inference.
 */
export function loadModel(dir: string): LoadedModel & { iteration: number } {
  const checkpoint = loadCheckpoint(dir, { optimizer: false });
  return { ...modelFromTensors(checkpoint.config, checkpoint.tensors, dir), iteration: checkpoint.meta.iteration };
}
