// Building a model from a checkpoint's contents: its config and weights → a GPT with every parameter checked by name
// and shape, and its tokenizer, checked against the model's vocabulary. No file system: the browser fetches the files
// and calls modelFromFiles; loadModel (load.ts) reads a checkpoint directory and calls modelFromTensors.
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizer.js';
import { Rng } from '../engine/rng.js';
import { CheckpointError } from '../errors.js';
import { GPT } from '../model/gpt.js';
import { type CheckpointConfig, CONFIG_FILE, MODEL_FILE, checkTensorFile, parseCheckpointConfig } from './checkpoint-format.js';
import { loadParameters } from './model-state.js';
import type { TensorMap } from './safetensors.js';

export interface LoadedModel {
  model: GPT;
  tokenizer: Tokenizer;
  /** The run's config: model, train settings, tokenizer and preset. */
  config: CheckpointConfig;
}

/**
 * A GPT with `config`'s model and `tensors`' weights, and its tokenizer. `source` names the checkpoint in errors
 * (a CheckpointError for weights or a tokenizer that do not fit the config).
 */
export function modelFromTensors(config: CheckpointConfig, tensors: TensorMap, source: string): LoadedModel {
  const model = new GPT(config.model, new Rng(0)); // the init draws are overwritten by the weights
  loadParameters(model, tensors, `${source}/${MODEL_FILE}`);
  const tokenizer = tokenizerFromJSON(config.tokenizer);
  if (tokenizer.vocabSize !== config.model.vocabSize) {
    throw new CheckpointError(`${source}/${CONFIG_FILE}: the ${tokenizer.kind} tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabSize is ${config.model.vocabSize}; the checkpoint is damaged: restore it from a copy, or train again`);
  }
  return { model, tokenizer, config };
}

/** A model from the contents of a checkpoint's config.json and model.safetensors (no file system needed). */
export function modelFromFiles(configJson: string, modelSafetensors: Uint8Array, source = 'checkpoint'): LoadedModel {
  const doc = parseCheckpointConfig(configJson, `${source}/${CONFIG_FILE}`);
  const { tensors } = checkTensorFile(modelSafetensors, `${source}/${MODEL_FILE}`, doc, 'model');
  return modelFromTensors(doc.config, tensors, source);
}
