// The checkpoint format (docs/checkpoint-format.md) as bytes and text, with no Node module: the config document and
// the safetensors files' checks. checkpoint.ts reads and writes the files crash-safely; the browser reads a
// checkpoint it fetched with parseCheckpointConfig and checkTensorFile.
import type { RngState } from '../engine/rng.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { type ModelConfig, validateModelConfig } from '../model/config.js';
import { type TrainConfig, validateTrainConfig } from './config.js';
import { type Metadata, SafetensorsFormatError, type TensorMap, decodeSafetensors } from './safetensors.js';

export { CheckpointError } from '../errors.js';
export type { TensorData, TensorMap } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'mod-checkpoint';
export const CHECKPOINT_VERSION = 1;

export const CONFIG_FILE = 'config.json';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Data files first: config.json is renamed in last, as the commit point. */
export const FILES = [MODEL_FILE, OPTIMIZER_FILE, CONFIG_FILE] as const;
export const PREV = '.prev';
export const TMP = '.tmp';

/**
 * The text a run trained on (the data layer's DataFingerprint): the --data path(s) as given, the files' total bytes
 * and the sha256 of their bytes in order. Absent for the embedded corpus, for token arrays, and in checkpoints saved
 * before it was added.
 */
export interface DataSource {
  path: string | string[];
  bytes: number;
  sha256: string;
}

/** What the run was: model and train config, the tokenizer (opaque JSON from the data layer), the data source. */
export interface CheckpointConfig {
  preset?: string;
  model: ModelConfig;
  train: TrainConfig;
  tokenizer: unknown;
  dataSource?: DataSource;
}

/** Where training stood. */
export interface CheckpointMeta {
  /** Optimizer steps completed. */
  iteration: number;
  tokensSeen: number;
  /** AdamW's step count t (bias correction); also in optimizer.safetensors' metadata as `step`. */
  optimizerStep: number;
  /** The trainer's Rng state (Rng.getState()). */
  rng: { s: RngState; spare: number | null };
  bestValLoss: number | null;
  /** Wall time spent on the run so far, in ms (optional; absent in checkpoints from before it was added). */
  elapsedMs?: number;
  /** The model's routing Rng (scores of `random` Mixture-of-Depths routing); absent for other models. */
  routingRng?: { s: RngState; spare: number | null };
}

export interface Checkpoint {
  config: CheckpointConfig;
  /** Parameters, named as nanoGPT / HF GPT-2 (transformer.wte.weight, transformer.h.0.attn.c_attn.weight, ...). */
  tensors: TensorMap;
  /** AdamW moments: `<param>.m` and `<param>.v`, each the shape of its parameter. */
  optimizer: TensorMap;
  meta: CheckpointMeta;
}

export interface LoadedCheckpoint extends Checkpoint {
  /** The last save was interrupted and the previous, complete checkpoint (*.prev files) was loaded. */
  recovered: boolean;
}

/** Why the optimizer state does not fit the parameters, or null. */
export function optimizerProblem(params: TensorMap, optimizer: TensorMap): string | null {
  for (const [name, t] of optimizer) {
    const m = /^(.*)\.(m|v)$/.exec(name);
    const p = m === null ? undefined : params.get(m[1]!);
    if (p === undefined) return `optimizer tensor ${name} is not <param>.m or <param>.v of a model parameter`;
    if (p.shape.join(',') !== t.shape.join(',')) return `optimizer tensor ${name} has shape [${t.shape.join(', ')}], its parameter [${p.shape.join(', ')}]`;
  }
  return null;
}

const FIX_DAMAGED = 'the checkpoint is damaged: restore it from a copy, or train again';

export function damaged(file: string, problem: string): CheckpointError {
  return new CheckpointError(`${file}: ${problem}; ${FIX_DAMAGED}`);
}

export interface ConfigDoc {
  saveId: string;
  iteration: number;
  config: CheckpointConfig;
  meta: CheckpointMeta;
}

export function show(v: string | undefined): string {
  return v === undefined ? '(none)' : `'${v}'`;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isU32 = (x: unknown): boolean => isCount(x) && x <= 0xffffffff;
export const isDuration = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

function isRngState(v: unknown): boolean {
  const rng = v as { s?: unknown; spare?: unknown } | null;
  return typeof rng === 'object' && rng !== null && Array.isArray(rng.s) && rng.s.length === 4 && rng.s.every(isU32)
    && (rng.spare === null || typeof rng.spare === 'number');
}

function isDataSource(v: unknown): v is DataSource {
  const d = v as Partial<DataSource> | null;
  const isPath = (p: unknown): boolean => typeof p === 'string' || (Array.isArray(p) && p.every((x) => typeof x === 'string'));
  return typeof d === 'object' && d !== null && isPath(d.path) && isCount(d.bytes) && typeof d.sha256 === 'string' && /^[0-9a-f]{64}$/.test(d.sha256);
}

function parseConfigDoc(d: Record<string, unknown>): ConfigDoc {
  for (const k of ['iteration', 'tokensSeen', 'optimizerStep']) {
    if (!isCount(d[k])) throw new ConfigError(`${k}=${JSON.stringify(d[k])} must be a non-negative integer`);
  }
  if (typeof d.saveId !== 'string') throw new ConfigError('saveId is missing');
  if (d.bestValLoss !== null && typeof d.bestValLoss !== 'number') throw new ConfigError(`bestValLoss=${JSON.stringify(d.bestValLoss)} must be a number or null`);
  if (!isRngState(d.rng)) throw new ConfigError(`rng=${JSON.stringify(d.rng)} must be {"s": [4 uint32], "spare": number | null}`);
  if (d.routingRng !== undefined && !isRngState(d.routingRng)) {
    throw new ConfigError(`routingRng=${JSON.stringify(d.routingRng)} must be {"s": [4 uint32], "spare": number | null}`);
  }
  if (d.tokenizer === undefined) throw new ConfigError('tokenizer is missing');
  if (d.elapsedMs !== undefined && !isDuration(d.elapsedMs)) throw new ConfigError(`elapsedMs=${JSON.stringify(d.elapsedMs)} must be a number >= 0`);
  if (d.preset !== undefined && typeof d.preset !== 'string') throw new ConfigError('preset must be a string');
  if (d.dataSource !== undefined && !isDataSource(d.dataSource)) {
    throw new ConfigError(`dataSource=${JSON.stringify(d.dataSource)} must be {"path": string, "bytes": integer, "sha256": 64 hex digits}`);
  }
  const config: CheckpointConfig = {
    ...(typeof d.preset === 'string' ? { preset: d.preset } : {}),
    model: validateModelConfig(d.model),
    train: validateTrainConfig(d.train),
    tokenizer: d.tokenizer,
    ...(isDataSource(d.dataSource) ? { dataSource: d.dataSource } : {}),
  };
  const meta: CheckpointMeta = {
    iteration: d.iteration as number,
    tokensSeen: d.tokensSeen as number,
    optimizerStep: d.optimizerStep as number,
    rng: d.rng as CheckpointMeta['rng'],
    bestValLoss: d.bestValLoss as number | null,
    ...(isDuration(d.elapsedMs) ? { elapsedMs: d.elapsedMs } : {}),
    ...(d.routingRng === undefined ? {} : { routingRng: d.routingRng as CheckpointMeta['rng'] }),
  };
  return { saveId: d.saveId, iteration: meta.iteration, config, meta };
}

/** Parses config.json's text (`file` names it in errors): the run's config and where training stood. */
export function parseCheckpointConfig(text: string, file: string): ConfigDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw damaged(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw damaged(file, 'not a JSON object');
  const d = raw as Record<string, unknown>;
  if (d.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${file}: not a mod checkpoint (format is ${JSON.stringify(d.format)}, expected "${CHECKPOINT_FORMAT}")`);
  if (typeof d.formatVersion !== 'number' || d.formatVersion > CHECKPOINT_VERSION) {
    throw new CheckpointError(`${file}: checkpoint format version ${JSON.stringify(d.formatVersion)} is not supported (this mod reads version ${CHECKPOINT_VERSION}); upgrade mod`);
  }
  try {
    return parseConfigDoc(d);
  } catch (e) {
    if (e instanceof ConfigError) throw damaged(file, e.message);
    throw e;
  }
}

/** Decodes the `kind` ('model' or 'optimizer') safetensors file of the save `doc` describes (`file` names it in errors). */
export function checkTensorFile(bytes: Uint8Array, file: string, doc: ConfigDoc, kind: string): { tensors: TensorMap; metadata: Metadata } {
  let decoded: { tensors: TensorMap; metadata: Metadata };
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsFormatError) throw damaged(file, e.message);
    throw e;
  }
  const m = decoded.metadata;
  if (m.format !== CHECKPOINT_FORMAT || m.kind !== kind) throw damaged(file, `not the ${kind} file of a mod checkpoint (metadata format ${show(m.format)}, kind ${show(m.kind)})`);
  if (m.saveId !== doc.saveId) {
    throw new CheckpointError(
      `${file}: from a different save (iteration ${show(m.iteration)}) than ${CONFIG_FILE} (iteration ${doc.iteration}), and no complete previous checkpoint exists; a save was interrupted or files were mixed: train again or restore the directory`,
    );
  }
  return decoded;
}
