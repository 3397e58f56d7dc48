// Checkpoints: config.json + model.safetensors + optimizer.safetensors in one directory, saved crash-safely
// (docs/checkpoint-format.md). The save commits by renaming config.json in last; until then the previous set
// stays loadable, through hard links named *.prev when its files are being replaced.
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { RngState } from '../engine/rng.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { type ModelConfig, validateModelConfig } from '../model/config.js';
import { type TrainConfig, validateTrainConfig } from './config.js';
import { type Metadata, SafetensorsFormatError, type TensorMap, decodeSafetensors, readHeader, writeSafetensors } from './safetensors.js';

export { CheckpointError } from '../errors.js';
export type { TensorData, TensorMap } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'mod-checkpoint';
export const CHECKPOINT_VERSION = 1;

export const CONFIG_FILE = 'config.json';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Data files first: config.json is renamed in last, as the commit point. */
const FILES = [MODEL_FILE, OPTIMIZER_FILE, CONFIG_FILE] as const;
const PREV = '.prev';
const TMP = '.tmp';

/** What the run was: model and train config and the tokenizer (opaque JSON from the data layer). */
export interface CheckpointConfig {
  preset?: string;
  model: ModelConfig;
  train: TrainConfig;
  tokenizer: unknown;
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

// ---------------------------------------------------------------- file system helpers

/** fsync a directory so that renames and links in it are durable (a no-op where directories cannot be opened). */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some platforms refuse fsync on directories; durability against power loss is then best effort.
  } finally {
    closeSync(fd);
  }
}

function writeDurably(file: string, write: (fd: number) => void): void {
  const fd = openSync(file, 'w');
  try {
    write(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

// ---------------------------------------------------------------- saving

/** One step of a save; saveCheckpoint runs them all in order. Exposed so tests can stop after any of them. */
export interface SaveStep {
  name: string;
  run(): void;
}

/** The steps of saving `ckpt` into `dir`, in order (see docs/checkpoint-format.md). */
export function saveSteps(dir: string, ckpt: Checkpoint): SaveStep[] {
  checkForSave(ckpt);
  const saveId = `${ckpt.meta.iteration}-${randomUUID()}`;
  const meta = (kind: string): Metadata => ({
    format: CHECKPOINT_FORMAT,
    formatVersion: String(CHECKPOINT_VERSION),
    kind,
    saveId,
    iteration: String(ckpt.meta.iteration),
    ...(kind === 'optimizer' ? { step: String(ckpt.meta.optimizerStep) } : {}),
  });
  const file = (name: string): string => path.join(dir, name);
  const steps: SaveStep[] = [
    { name: 'prepare', run: () => prepareDir(dir) },
    { name: 'write model', run: () => writeDurably(file(MODEL_FILE + TMP), (fd) => writeSafetensors(fd, ckpt.tensors, meta('model'))) },
    { name: 'write optimizer', run: () => writeDurably(file(OPTIMIZER_FILE + TMP), (fd) => writeSafetensors(fd, ckpt.optimizer, meta('optimizer'))) },
    { name: 'write config', run: () => writeDurably(file(CONFIG_FILE + TMP), (fd) => writeFileSync(fd, configJson(ckpt, saveId))) },
  ];
  for (const f of FILES) steps.push({ name: `link ${f}${PREV}`, run: () => linkPrev(dir, f) });
  steps.push({ name: 'sync links', run: () => fsyncDir(dir) });
  for (const f of FILES) {
    steps.push({ name: `rename ${f}`, run: () => renameSync(file(f + TMP), file(f)) });
    if (f === CONFIG_FILE) steps.push({ name: 'sync commit', run: () => fsyncDir(dir) });
    else steps.push({ name: `sync ${f}`, run: () => fsyncDir(dir) });
  }
  for (const f of FILES) steps.push({ name: `unlink ${f}${PREV}`, run: () => unlinkIfExists(file(f + PREV)) });
  steps.push({ name: 'sync cleanup', run: () => fsyncDir(dir) });
  return steps;
}

/** Saves a checkpoint into `dir` (created if needed). A crash at any point leaves the previous one loadable. */
export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  for (const step of saveSteps(dir, ckpt)) step.run();
}

function checkForSave(ckpt: Checkpoint): void {
  const m = ckpt.meta;
  for (const k of ['iteration', 'tokensSeen', 'optimizerStep'] as const) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 0) throw new Error(`saveCheckpoint: meta.${k} must be a non-negative integer, got ${m[k]}`);
  }
  if (m.bestValLoss !== null && !Number.isFinite(m.bestValLoss)) throw new Error(`saveCheckpoint: meta.bestValLoss must be finite or null`);
  if (m.elapsedMs !== undefined && !isDuration(m.elapsedMs)) throw new Error(`saveCheckpoint: meta.elapsedMs must be a finite number >= 0`);
  const problem = optimizerProblem(ckpt.tensors, ckpt.optimizer);
  if (problem !== null) throw new Error(`saveCheckpoint: ${problem}`);
}

/** Why the optimizer state does not fit the parameters, or null. */
function optimizerProblem(params: TensorMap, optimizer: TensorMap): string | null {
  for (const [name, t] of optimizer) {
    const m = /^(.*)\.(m|v)$/.exec(name);
    const p = m === null ? undefined : params.get(m[1]!);
    if (p === undefined) return `optimizer tensor ${name} is not <param>.m or <param>.v of a model parameter`;
    if (p.shape.join(',') !== t.shape.join(',')) return `optimizer tensor ${name} has shape [${t.shape.join(', ')}], its parameter [${p.shape.join(', ')}]`;
  }
  return null;
}

function configJson(ckpt: Checkpoint, saveId: string): string {
  const { config: c, meta: m } = ckpt;
  const doc = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    saveId,
    savedAt: new Date().toISOString(),
    iteration: m.iteration,
    tokensSeen: m.tokensSeen,
    optimizerStep: m.optimizerStep,
    bestValLoss: m.bestValLoss,
    rng: m.rng,
    ...(m.elapsedMs === undefined ? {} : { elapsedMs: m.elapsedMs }),
    ...(m.routingRng === undefined ? {} : { routingRng: m.routingRng }),
    ...(c.preset === undefined ? {} : { preset: c.preset }),
    model: c.model,
    train: c.train,
    tokenizer: c.tokenizer,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Hard-links the current `f` to `f.prev` (replacing a stale one), so the previous set survives the renames. */
function linkPrev(dir: string, f: string): void {
  const cur = path.join(dir, f);
  unlinkIfExists(cur + PREV);
  if (existsSync(cur)) linkSync(cur, cur + PREV);
}

/**
 * Creates `dir`, and finishes off an interrupted save: if *.prev files exist, keeps whichever set is complete
 * (restoring the previous one over a half-committed current set), then removes them.
 */
function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const prevs = FILES.filter((f) => existsSync(path.join(dir, f + PREV)));
  if (prevs.length === 0) return;
  if (setProblem(dir, '') !== null && setProblem(dir, PREV) === null) {
    for (const f of FILES) {
      const p = path.join(dir, f);
      unlinkIfExists(p + TMP);
      linkSync(p + PREV, p + TMP);
      renameSync(p + TMP, p);
    }
    fsyncDir(dir);
  }
  for (const f of prevs) unlinkIfExists(path.join(dir, f + PREV));
  fsyncDir(dir);
}

// ---------------------------------------------------------------- loading

const FIX_DAMAGED = 'the checkpoint is damaged: restore it from a copy, or train again';

function damaged(file: string, problem: string): CheckpointError {
  return new CheckpointError(`${file}: ${problem}; ${FIX_DAMAGED}`);
}

/** Loads the checkpoint in `dir`, falling back to the previous one if the last save was interrupted. */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  if (!existsSync(dir)) throw new CheckpointError(`${dir}: no such directory; pass the output directory (--out) of a training run`);
  if (!statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: not a directory; pass the output directory (--out) of a training run`);
  const hasPrev = FILES.every((f) => existsSync(path.join(dir, f + PREV)));
  if (!existsSync(path.join(dir, CONFIG_FILE)) && !hasPrev) {
    throw new CheckpointError(`${dir}: not a checkpoint directory (no ${CONFIG_FILE}); pass the output directory (--out) of a training run`);
  }
  try {
    return { ...loadSet(dir, ''), recovered: false };
  } catch (e) {
    if (!(e instanceof CheckpointError) || !hasPrev) throw e;
    try {
      return { ...loadSet(dir, PREV), recovered: true };
    } catch {
      throw e;
    }
  }
}

interface ConfigDoc {
  saveId: string;
  iteration: number;
  config: CheckpointConfig;
  meta: CheckpointMeta;
}

function loadSet(dir: string, suffix: string): Checkpoint {
  const doc = readConfig(path.join(dir, CONFIG_FILE + suffix));
  const model = readTensors(path.join(dir, MODEL_FILE + suffix), doc, 'model');
  const optimizer = readTensors(path.join(dir, OPTIMIZER_FILE + suffix), doc, 'optimizer');
  const problem = optimizerProblem(model.tensors, optimizer.tensors);
  if (problem !== null) throw damaged(path.join(dir, OPTIMIZER_FILE + suffix), problem);
  const step = optimizer.metadata.step;
  if (step !== String(doc.meta.optimizerStep)) {
    throw damaged(path.join(dir, OPTIMIZER_FILE + suffix), `metadata step ${show(step)} differs from optimizerStep ${doc.meta.optimizerStep} in ${CONFIG_FILE}`);
  }
  return { config: doc.config, tensors: model.tensors, optimizer: optimizer.tensors, meta: doc.meta };
}

function show(v: string | undefined): string {
  return v === undefined ? '(none)' : `'${v}'`;
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError(`${file}: missing; the checkpoint is incomplete: restore the file, or train again`);
    throw new CheckpointError(`${file}: cannot be read (${code ?? (e as Error).message})`);
  }
}

function readConfig(file: string): ConfigDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(readBytes(file).toString('utf8'));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
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

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isU32 = (x: unknown): boolean => isCount(x) && x <= 0xffffffff;
const isDuration = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

function isRngState(v: unknown): boolean {
  const rng = v as { s?: unknown; spare?: unknown } | null;
  return typeof rng === 'object' && rng !== null && Array.isArray(rng.s) && rng.s.length === 4 && rng.s.every(isU32)
    && (rng.spare === null || typeof rng.spare === 'number');
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
  const config: CheckpointConfig = {
    ...(typeof d.preset === 'string' ? { preset: d.preset } : {}),
    model: validateModelConfig(d.model),
    train: validateTrainConfig(d.train),
    tokenizer: d.tokenizer,
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

function readTensors(file: string, doc: ConfigDoc, kind: string): { tensors: TensorMap; metadata: Metadata } {
  let decoded: { tensors: TensorMap; metadata: Metadata };
  try {
    decoded = decodeSafetensors(readBytes(file));
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

/** Why the file set with this suffix ('' or '.prev') is not a consistent checkpoint (headers only), or null. */
function setProblem(dir: string, suffix: string): string | null {
  try {
    const doc = readConfig(path.join(dir, CONFIG_FILE + suffix));
    for (const f of [MODEL_FILE, OPTIMIZER_FILE]) {
      if (readHeader(path.join(dir, f + suffix)).metadata.saveId !== doc.saveId) return `${f}${suffix} is from another save`;
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
