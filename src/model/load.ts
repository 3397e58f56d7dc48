// A model ready for inference from a checkpoint directory: the checkpoint (crash-safe load), the GPT built from its
// config with every parameter checked by name and shape (src/train/model-state.ts), and its tokenizer, checked
// against the model's vocabulary. A Mixture-of-Depths model is set to causal routing (src/model/mod.ts), the only
// routing that can decode token by token, so its windowed forward and its KV-cache decode agree.
import path from 'node:path';
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizer.js';
import { CheckpointError } from '../errors.js';
import { CONFIG_FILE, type LoadedCheckpoint, MODEL_FILE, loadCheckpoint } from '../train/checkpoint.js';
import { modelFromCheckpoint } from '../train/model-state.js';
import type { GPT } from './gpt.js';

export interface LoadedModel {
  model: GPT;
  tokenizer: Tokenizer;
  checkpoint: LoadedCheckpoint;
}

/** Loads the checkpoint in `dir` and builds its model and tokenizer (a CheckpointError or DataError on a problem). */
export function loadModel(dir: string): LoadedModel {
  const checkpoint = loadCheckpoint(dir);
  const cfg = checkpoint.config.model;
  const configFile = path.join(dir, CONFIG_FILE);
  const model = modelFromCheckpoint(checkpoint, path.join(dir, MODEL_FILE));
  model.setRouting('causal'); // inference decodes token by token: a MoD model routes by its causal rule
  const tokenizer = tokenizerFromJSON(checkpoint.config.tokenizer);
  if (tokenizer.vocabSize !== cfg.vocabSize) {
    throw new CheckpointError(`${configFile}: the ${tokenizer.kind} tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabSize is ${cfg.vocabSize}; the checkpoint is damaged: restore it from a copy, or train again`);
  }
  return { model, tokenizer, checkpoint };
}
