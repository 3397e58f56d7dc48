// Trains planned runs (src/compare/plan.ts) one after another for `mod compare` and `mod sweep`: each run to its
// budget with the trainer, timing its optimizer steps, then its final checkpoint scored on the whole validation
// split. With `reuse`, a finished run of the same settings is kept (its summary file beside the checkpoint), and a
// run stopped part-way continues from its checkpoint when that checkpoint has the same model and train settings.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDir } from '../train/out-dir.js';
import { median } from '../bench/stats.js';
import { CONFIG_FILE, loadCheckpoint } from '../train/checkpoint.js';
import { readLog, type LogRecord } from '../train/run-log.js';
import { bothCallbacks, train, type TrainCallbacks, type TrainResult } from '../train/trainer.js';
import { checkpointFigures } from './checkpoint-eval.js';
import type { PlannedRun } from './plan.js';
import type { CurveRow } from './plots.js';
import type { RunSummary } from './report.js';

/** What training a list of runs reports as it goes. */
export interface ExecutorHooks {
  /** Stops the current run after its step (its checkpoint is saved). */
  signal?: AbortSignal;
  /** A remark worth showing a person. */
  onNotice?(message: string): void;
  /** Run `index` of the list starts (trained, resumed or reused). */
  onRunStart?(index: number, planned: PlannedRun): void;
  /** Run `index` is finished already and is reused without training. */
  onRunReused?(index: number, summary: RunSummary): void;
  /** Run `index` continues from its checkpoint at `iteration`. */
  onRunResumed?(index: number, iteration: number): void;
  /** Each optimizer step of the current run. */
  onStep?(iteration: number): void;
  onEval?(record: LogRecord): void;
  onRunDone?(summary: RunSummary): void;
  /** More trainer callbacks for a run, and what to do with its result (the CLI writes train.log with them). */
  runReport?(planned: PlannedRun, resumed: boolean): { callbacks: TrainCallbacks; finish(result: TrainResult): void };
}

/** Trains (or reuses, or resumes) every run in order; null when the signal stopped one. */
export async function executeRuns(runs: readonly PlannedRun[], hooks: ExecutorHooks, reuse: boolean, first = 0): Promise<RunSummary[] | null> {
  const out: RunSummary[] = [];
  for (const [i, planned] of runs.entries()) {
    const index = first + i;
    hooks.onRunStart?.(index, planned);
    const saved = reuse ? loadSummary(planned) : null;
    if (saved !== null) {
      out.push(saved);
      hooks.onNotice?.(`${planned.name}: reusing the finished run in ${planned.run.train.out}`);
      hooks.onRunReused?.(index, saved);
      continue;
    }
    const resumeAt = reuse ? resumableIteration(planned) : null;
    if (resumeAt !== null) {
      hooks.onNotice?.(`${planned.name}: resuming from its checkpoint at iteration ${resumeAt} of ${planned.run.train.maxIters}`);
      hooks.onRunResumed?.(index, resumeAt);
    }
    const r = await trainOne(resumeAt === null ? planned : { ...planned, run: { ...planned.run, resume: true, overwrite: false } }, hooks);
    if (r === null) return null;
    out.push(r);
    hooks.onRunDone?.(r);
  }
  return out;
}

/** The iteration of a checkpoint in the run's directory written by this very run (same model and train settings). */
function resumableIteration(planned: PlannedRun): number | null {
  const dir = planned.run.train.out;
  if (!existsSync(path.join(dir, CONFIG_FILE))) return null;
  const ckpt = loadCheckpoint(dir);
  return sameSettings(ckpt.config.model, ckpt.config.train, planned) ? ckpt.meta.iteration : null;
}

/**
 * Whether saved settings are the planned run's. The output directory is left out: the files were found in the run's
 * directory, and the same runs directory spelled another way (relative or absolute, or moved) must still match.
 */
function sameSettings(model: unknown, train: unknown, planned: PlannedRun): boolean {
  const withoutOut = (t: unknown): string => JSON.stringify(t, (k, v: unknown) => (k === 'out' ? undefined : v));
  return JSON.stringify(model) === JSON.stringify(planned.run.model) && withoutOut(train) === withoutOut(planned.run.train);
}

/** Trains one run to its budget (from its checkpoint when planned.run.resume); null when the signal stopped it. */
async function trainOne(planned: PlannedRun, hooks: ExecutorHooks): Promise<RunSummary | null> {
  const dir = planned.run.train.out;
  ensureDir(dir);
  // A summary of an earlier run in this directory no longer describes it once training starts: a run stopped now
  // must be resumed, not reused.
  rmSync(path.join(dir, SUMMARY_FILE), { force: true });
  const evalAt = new Set(planned.evalIters);
  // Step times by iteration: from the end of the previous step (or evaluation) to the end of this step. The first
  // step of a session would include loading the data and building the model, and a resumed run's earlier steps
  // were not timed here: those are filled with the run's median.
  const stepMs: number[] = [];
  let mark: number | null = null;
  const own: TrainCallbacks = {
    onStart: (s) => stepMs.push(...new Array<number>(s.iteration).fill(Number.NaN)),
    onStep: (s) => {
      const now = performance.now();
      stepMs.push(mark === null ? Number.NaN : now - mark);
      mark = now;
      hooks.onStep?.(s.iteration);
    },
    onEval: (record) => {
      hooks.onEval?.(record);
      mark = performance.now();
    },
  };
  const report = hooks.runReport?.(planned, planned.run.resume === true);
  const callbacks = report === undefined ? own : bothCallbacks(report.callbacks, own);
  const result = await train(planned.run, { ...callbacks, evalAt: (iter) => evalAt.has(iter), ...(hooks.signal === undefined ? {} : { signal: hooks.signal }) });
  report?.finish(result);
  if (result.aborted) return null;
  hooks.onNotice?.(`${planned.name}: evaluating the checkpoint on the whole validation split`);
  const summary = summarize(planned, readLog(dir).filter((r) => evalAt.has(r.iter) || r.iter === planned.run.train.maxIters), stepMs);
  saveSummary(summary);
  return summary;
}

function summarize(planned: PlannedRun, records: readonly LogRecord[], stepMs: readonly number[]): RunSummary {
  const last = records[records.length - 1]!;
  // No step timed in this session (the run had finished, only its summary was missing): the log's wall time.
  const timed = stepMs.filter((x) => !Number.isNaN(x));
  const med = timed.length > 0 ? median(timed) : last.elapsedMs / last.iter;
  const filled = stepMs.map((x) => (Number.isNaN(x) ? med : x));
  const cumulative: number[] = [];
  filled.reduce((s, x, i) => (cumulative[i] = s + x), 0);
  const rows: CurveRow[] = records.map((r) => ({
    variant: planned.variant,
    seed: planned.seed,
    iter: r.iter,
    trainFlops: r.trainFlops,
    tokens: r.tokensSeen,
    wallMs: cumulative[r.iter - 1]!,
    trainLoss: r.trainLoss,
    valLoss: r.valLoss,
  }));
  return {
    planned,
    rows,
    trainStepMs: med,
    spentFlops: last.trainFlops,
    figures: checkpointFigures(planned.run.train.out),
  };
}

/** What reuse needs of a finished run, beside its checkpoint. */
const SUMMARY_FILE = 'compare-run.json';

function saveSummary(s: RunSummary): void {
  const { planned, ...rest } = s;
  const json = { model: planned.run.model, train: planned.run.train, evalIters: planned.evalIters, ...rest };
  // NaN (an accuracy not measured) is not JSON: written as null, read back as NaN.
  writeFileSync(path.join(planned.run.train.out, SUMMARY_FILE), JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 1) + '\n');
}

type SavedSummary = { model: unknown; train: unknown; evalIters: unknown } & Omit<RunSummary, 'planned' | 'figures'> & { figures?: RunSummary['figures'] };

/** A finished run of the same model, train settings and evaluation points, or null. */
function loadSummary(planned: PlannedRun): RunSummary | null {
  const file = path.join(planned.run.train.out, SUMMARY_FILE);
  if (!existsSync(file)) return null;
  const json = JSON.parse(readFileSync(file, 'utf8')) as SavedSummary;
  if (!sameSettings(json.model, json.train, planned) || JSON.stringify(json.evalIters) !== JSON.stringify(planned.evalIters)) return null;
  const { model: _m, train: _t, evalIters: _e, figures, ...rest } = json;
  // Summaries written before the figures were kept: score the checkpoint now.
  const figs = figures === undefined ? checkpointFigures(planned.run.train.out) : { ...figures, accuracy: figures.accuracy.map((a) => a ?? Number.NaN) };
  return { planned, ...rest, figures: figs };
}
