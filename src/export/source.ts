// What an export reads from a checkpoint: the model config, the parameters by their nanoGPT / HF GPT-2 names and the
// tokenizer spec. Only the checkpoint files are read (no model is built), so an export depends on the checkpoint
// format (docs/checkpoint-format.md), not on the model classes.
import path from 'node:path';
import { CheckpointError, ConfigError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { loadCheckpoint, MODEL_FILE, type TensorData, type TensorMap } from '../train/checkpoint.js';

export interface ExportSource {
  config: ModelConfig;
  tensors: TensorMap;
  /** The tokenizer spec as stored in the checkpoint ({"kind": "byte"} or {"kind": "char", "chars": [...]}). */
  tokenizer: unknown;
  /** Where the tensors came from, for error messages. */
  file: string;
}

/** Reads the checkpoint in `dir` (a CheckpointError names the problem and the fix). */
export function readSource(dir: string): ExportSource {
  const ckpt = loadCheckpoint(dir);
  return { config: ckpt.config.model, tensors: ckpt.tensors, tokenizer: ckpt.config.tokenizer, file: path.join(dir, MODEL_FILE) };
}

/** The tensor `name` of shape `shape`, or a CheckpointError. */
export function tensor(src: ExportSource, name: string, shape: readonly number[]): TensorData {
  const t = src.tensors.get(name);
  if (t === undefined) throw new CheckpointError(`${src.file}: tensor ${name} is missing; the checkpoint is damaged: restore it from a copy, or train again`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(`${src.file}: tensor ${name} has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]; the checkpoint is damaged: restore it from a copy, or train again`);
  }
  return t;
}

/**
 * The causal rule's threshold (a token is processed iff z > causalBias): one value for every routed block, or one
 * per routed block. Ours defaults to 0; `mod bench decode` calibrates it; checkpoints do not store it.
 */
export type CausalBias = number | readonly number[];

/** One threshold per routed block (default 0). */
export function causalBiases(bias: CausalBias | undefined, routed: number): number[] {
  if (bias === undefined || typeof bias === 'number') return new Array<number>(routed).fill(bias ?? 0);
  if (bias.length !== routed) throw new ConfigError(`--causal-bias has ${bias.length} values but the model has ${routed} routed blocks: give one value, or one per routed block`);
  return [...bias];
}
