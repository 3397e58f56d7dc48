// Checkpoints: config.json + model.safetensors + optimizer.safetensors in one directory, saved crash-safely
// (docs/checkpoint-format.md). The save commits by renaming config.json in last; until then the previous set
// stays loadable, through hard links named *.prev when its files are being replaced.
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { CheckpointError, ResourceError } from '../errors.js';
import {
  CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CONFIG_FILE, type Checkpoint, type ConfigDoc, FILES, type LoadedCheckpoint, MODEL_FILE,
  OPTIMIZER_FILE, PREV, TMP, checkTensorFile, damaged, isDuration, optimizerProblem, parseCheckpointConfig, show,
} from './checkpoint-format.js';
import { ensureDir } from './out-dir.js';
import type { Metadata, TensorMap } from './safetensors.js';
import { readHeader, writeSafetensors } from './safetensors-file.js';

export * from './checkpoint-format.js';

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

/**
 * Saves a checkpoint into `dir` (created if needed). A crash at any point leaves the previous one loadable; a
 * failure (a full disk) removes the save's temporary files, and one from the environment is a ResourceError.
 */
export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  const steps = saveSteps(dir, ckpt);
  try {
    for (const step of steps) step.run();
  } catch (e) {
    for (const f of FILES) {
      try {
        unlinkIfExists(path.join(dir, f + TMP));
      } catch {
        // best effort: the next save replaces it
      }
    }
    throw saveFailure(dir, e);
  }
}

const SAVE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device: free some disk space',
  EDQUOT: 'disk quota exceeded: free some space',
  EACCES: 'permission denied: make the directory writable',
  EPERM: 'operation not permitted: make the directory writable',
  EROFS: 'read-only file system: use a writable --out',
  EIO: 'input/output error: check the disk',
};

function saveFailure(dir: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const what = code === undefined ? undefined : SAVE_FAILURES[code];
  if (what === undefined) return e;
  const kept = existsSync(path.join(dir, CONFIG_FILE)) ? 'the previous checkpoint there is intact' : 'no checkpoint was saved';
  return new ResourceError(`cannot save the checkpoint in ${dir}: ${what} (${code}); ${kept}; then run again (with --resume to continue from the checkpoint)`);
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
    ...(c.dataSource === undefined ? {} : { dataSource: c.dataSource }),
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
  ensureDir(dir);
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

export interface LoadOptions {
  /** Read optimizer.safetensors (default true); inference (eval, sample, export) needs only the model. */
  optimizer?: boolean;
}

/**
 * Loads the checkpoint in `dir`, falling back to the previous one if the last save was interrupted. Without the
 * optimizer, `optimizer` is an empty map.
 */
export function loadCheckpoint(dir: string, options: LoadOptions = {}): LoadedCheckpoint {
  const withOptimizer = options.optimizer !== false;
  if (dir === '') throw new CheckpointError("the checkpoint directory is '' (empty): pass the output directory (--out) of a training run");
  if (!existsSync(dir)) throw new CheckpointError(`${dir}: no such directory; pass the output directory (--out) of a training run`);
  if (!statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: not a directory; pass the output directory (--out) of a training run`);
  const hasPrev = FILES.every((f) => existsSync(path.join(dir, f + PREV)));
  if (!existsSync(path.join(dir, CONFIG_FILE)) && !hasPrev) {
    throw new CheckpointError(`${dir}: not a checkpoint directory (no ${CONFIG_FILE}); pass the output directory (--out) of a training run`);
  }
  try {
    return { ...loadSet(dir, '', withOptimizer), recovered: false };
  } catch (e) {
    if (!(e instanceof CheckpointError) || !hasPrev) throw e;
    try {
      return { ...loadSet(dir, PREV, withOptimizer), recovered: true };
    } catch {
      throw e;
    }
  }
}

function loadSet(dir: string, suffix: string, withOptimizer: boolean): Checkpoint {
  const doc = readConfig(path.join(dir, CONFIG_FILE + suffix));
  const model = readTensors(path.join(dir, MODEL_FILE + suffix), doc, 'model');
  if (!withOptimizer) return { config: doc.config, tensors: model.tensors, optimizer: new Map(), meta: doc.meta };
  const optimizer = readTensors(path.join(dir, OPTIMIZER_FILE + suffix), doc, 'optimizer');
  const problem = optimizerProblem(model.tensors, optimizer.tensors);
  if (problem !== null) throw damaged(path.join(dir, OPTIMIZER_FILE + suffix), problem);
  const step = optimizer.metadata.step;
  if (step !== String(doc.meta.optimizerStep)) {
    throw damaged(path.join(dir, OPTIMIZER_FILE + suffix), `metadata step ${show(step)} differs from optimizerStep ${doc.meta.optimizerStep} in ${CONFIG_FILE}`);
  }
  return { config: doc.config, tensors: model.tensors, optimizer: optimizer.tensors, meta: doc.meta };
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
  return parseCheckpointConfig(readBytes(file).toString('utf8'), file);
}

function readTensors(file: string, doc: ConfigDoc, kind: string): { tensors: TensorMap; metadata: Metadata } {
  return checkTensorFile(readBytes(file), file, doc, kind);
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
