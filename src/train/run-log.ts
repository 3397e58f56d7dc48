// `log.jsonl` in a run's output directory: one JSON record per evaluation, appended as training goes.
//
// A new run into a directory keeps the old log.jsonl until its own first checkpoint commits: its first record is
// staged in log.jsonl.next, and renamed over log.jsonl right after that checkpoint's save (commitLog). A kill
// between the two leaves the new checkpoint and log.jsonl.next; settleLog, at the next --resume, recognises the
// staged record as that checkpoint's evaluation and finishes the rename (or drops the file of a run that never
// saved).
import { appendFileSync, existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const LOG_FILE = 'log.jsonl';

export interface LogRecord {
  /** Optimizer steps completed. */
  iter: number;
  /** Mean loss over the fixed evaluation batches of each split. */
  trainLoss: number;
  valLoss: number;
  /** Learning rate of the last step taken. */
  lr: number;
  /** Training tokens consumed (steps × gradAccumSteps × batchSize × blockSize). */
  tokensSeen: number;
  /** Cumulative training FLOPs: training FLOPs per token × tokensSeen (evaluation not counted). */
  trainFlops: number;
  /** Wall time of the run so far (all sessions, evaluation and checkpoints included). */
  elapsedMs: number;
  /** MoD: Σ over routed blocks of the causal rule's BCE against top-k membership, mean over the val batches. */
  causalLoss?: number;
  /** MoD: per routed block, the causal rule's accuracy against top-k membership on the val batches. */
  causalAccuracy?: number[];
}

export const STAGED = '.next';

export function logPath(out: string): string {
  return path.join(out, LOG_FILE);
}

export function appendLog(out: string, record: LogRecord): void {
  appendFileSync(logPath(out), JSON.stringify(record) + '\n');
}

/** The records of a log file; lines that are not JSON objects (a torn last line) are skipped. */
export function readLog(out: string): LogRecord[] {
  return readLogFile(logPath(out));
}

function readLogFile(file: string): LogRecord[] {
  if (!existsSync(file)) return [];
  const records: LogRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as unknown;
      if (typeof r === 'object' && r !== null && typeof (r as LogRecord).iter === 'number') records.push(r as LogRecord);
    } catch {
      // A line cut short by a kill; the record is re-created when its iteration is trained again.
    }
  }
  return records;
}

/**
 * Keeps the records up to iteration `iter` (the checkpoint being resumed; a kill between logging an evaluation
 * and saving its checkpoint leaves a record ahead of it), or empties the log when `iter` is 0.
 */
export function truncateLog(out: string, iter: number): void {
  const kept = iter === 0 ? [] : readLog(out).filter((r) => r.iter <= iter);
  writeFileSync(logPath(out), kept.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Stages a new run's log (its first record, or none) beside log.jsonl, which stays as it is until commitLog. */
export function stageLog(out: string, records: readonly LogRecord[]): void {
  writeFileSync(logPath(out) + STAGED, records.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Replaces log.jsonl with the staged log: call right after the new run's first checkpoint committed. */
export function commitLog(out: string): void {
  renameSync(logPath(out) + STAGED, logPath(out));
}

/** What settleLog compares a staged record with: the checkpoint being resumed. */
export interface SavedPoint {
  iteration: number;
  tokensSeen: number;
  bestValLoss: number | null;
}

/**
 * Finishes or drops a staged log left by a kill (see the top of this file): it belongs to the checkpoint when its
 * record is the checkpoint's first evaluation (same iteration and tokens, and its val loss the best so far).
 */
export function settleLog(out: string, saved: SavedPoint): void {
  const staged = logPath(out) + STAGED;
  if (!existsSync(staged)) return;
  const records = readLogFile(staged);
  const first = records[0];
  const ours = records.length === 1 && first !== undefined && first.iter === saved.iteration && first.tokensSeen === saved.tokensSeen
    && first.valLoss === saved.bestValLoss;
  if (ours) commitLog(out);
  else unlinkSync(staged);
}
