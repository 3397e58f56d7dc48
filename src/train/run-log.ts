// `log.jsonl` in a run's output directory: one JSON record per evaluation, appended as training goes.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

export function logPath(out: string): string {
  return path.join(out, LOG_FILE);
}

export function appendLog(out: string, record: LogRecord): void {
  appendFileSync(logPath(out), JSON.stringify(record) + '\n');
}

/** The records of a log file; lines that are not JSON objects (a torn last line) are skipped. */
export function readLog(out: string): LogRecord[] {
  const file = logPath(out);
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
