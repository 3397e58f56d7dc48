// `mod compare`: trains every planned run (src/compare/plan.ts) with the trainer, timing its optimizer steps, then
// writes curves.csv, the plots and report.md (docs/compare.md). It reports through hooks; src/cli/compare.ts
// shows the progress and writes each run's train.log.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { median } from '../bench/stats.js';
import { timeTrainSteps } from '../bench/train.js';
import { loadDataset, type Dataset } from '../data/index.js';
import type { ModelConfig } from '../model/config.js';
import type { LogRecord } from '../train/run-log.js';
import { bothCallbacks, train, type TrainCallbacks, type TrainResult } from '../train/trainer.js';
import { checkpointFigures } from './checkpoint-eval.js';
import { type CompareOptions, planComparison, type Plan, type PlannedRun } from './plan.js';
import { type CurveRow, lossVsFlopsSpec, lossVsWallSpec, renderSvg, routingSpec } from './plots.js';
import { curvesCsv, reportMarkdown, type RunSummary, shellQuote } from './report.js';
import { routingMap } from './routing-map.js';
import { ensureDir } from '../train/out-dir.js';

export const OUTPUT_FILES = {
  csv: 'curves.csv',
  report: 'report.md',
  flops: 'loss-vs-flops.svg',
  wall: 'loss-vs-time.svg',
  routing: 'routing.svg',
} as const;

/** What a comparison reports as it goes. */
export interface CompareHooks {
  /** Stops the current run after its step (its checkpoint is saved; no report is written). */
  signal?: AbortSignal;
  /** Interleaved timing steps per variant for the speed ratios (default 20, after 3 warm-up steps). */
  benchRepeats?: number;
  /** The plan, before the first run. */
  onPlan?(plan: Plan): void;
  /** A remark worth showing a person. */
  onNotice?(message: string): void;
  onRunStart?(index: number, planned: PlannedRun): void;
  /** Each optimizer step of the current run. */
  onStep?(iteration: number): void;
  onEval?(record: LogRecord): void;
  onRunDone?(summary: RunSummary): void;
  /** Every run is trained (or reused); evaluation, timing and the report follow. */
  onTrained?(): void;
  /** More trainer callbacks for a run, and what to do with its result (the CLI writes train.log with them). */
  runReport?(planned: PlannedRun): { callbacks: TrainCallbacks; finish(result: TrainResult): void };
}

export interface CompareResult {
  plan: Plan;
  runs: RunSummary[];
  /** The signal stopped a run (its checkpoint is saved; no report is written). */
  aborted: boolean;
  /** report.md's text, when written. */
  report: string | null;
  /** The files written in opts.out. */
  written: string[];
}

/** Tokens of the routing heat-map: the start of the validation split, one context window at most. */
const SAMPLE_TOKENS = 128;

export async function runComparison(opts: CompareOptions, hooks: CompareHooks = {}): Promise<CompareResult> {
  const data = loadDataset({ ...(opts.base.train.data === null ? {} : { data: opts.base.train.data }), tokenizer: opts.base.train.tokenizer, blockSize: opts.base.model.blockSize });
  const base = { ...opts.base, model: { ...opts.base.model, vocabSize: data.tokenizer.vocabSize } };
  const plan = planComparison({ ...opts, base });
  ensureDir(opts.out);
  hooks.onPlan?.(plan);
  const runs: RunSummary[] = [];
  for (const [i, planned] of plan.runs.entries()) {
    hooks.onRunStart?.(i, planned);
    const saved = opts.reuse ? loadSummary(planned) : null;
    if (saved !== null) {
      runs.push(saved);
      hooks.onNotice?.(`${planned.name}: reusing the finished run in ${planned.run.train.out}`);
      continue;
    }
    const r = await trainOne(planned, hooks);
    if (r === null) return { plan, runs, aborted: true, report: null, written: [] };
    runs.push(r);
    hooks.onRunDone?.(r);
  }
  hooks.onTrained?.();
  return { plan, runs, aborted: false, ...(await writeOutputs(opts, plan, runs, data, hooks)) };
}

/** Trains one run to its budget; null when the signal stopped it. */
async function trainOne(planned: PlannedRun, hooks: CompareHooks): Promise<RunSummary | null> {
  const dir = planned.run.train.out;
  ensureDir(dir);
  const evalAt = new Set(planned.evalIters);
  // Step times: from the end of the previous step (or evaluation) to the end of this step. The first step's time
  // would include loading the data and building the model, so it is replaced by the run's median.
  const stepMs: number[] = [];
  const records: LogRecord[] = [];
  let mark: number | null = null;
  const own: TrainCallbacks = {
    onStep: (s) => {
      const now = performance.now();
      stepMs.push(mark === null ? Number.NaN : now - mark);
      mark = now;
      hooks.onStep?.(s.iteration);
    },
    onEval: (record) => {
      records.push(record);
      hooks.onEval?.(record);
      mark = performance.now();
    },
  };
  const report = hooks.runReport?.(planned);
  const callbacks = report === undefined ? own : bothCallbacks(report.callbacks, own);
  const result = await train(planned.run, { ...callbacks, evalAt: (iter) => evalAt.has(iter), ...(hooks.signal === undefined ? {} : { signal: hooks.signal }) });
  report?.finish(result);
  if (result.aborted) return null;
  const med = median(stepMs.filter((x) => !Number.isNaN(x)));
  const filled = stepMs.map((x) => (Number.isNaN(x) ? (Number.isNaN(med) ? 0 : med) : x));
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
  const summary: RunSummary = { planned, rows, trainStepMs: Number.isNaN(med) ? filled[0]! : med, spentFlops: records[records.length - 1]!.trainFlops };
  saveSummary(summary);
  return summary;
}

/** What `--reuse` needs of a finished run, beside its checkpoint. */
const SUMMARY_FILE = 'compare-run.json';

function saveSummary(s: RunSummary): void {
  const { planned, ...rest } = s;
  const json = { model: planned.run.model, train: planned.run.train, evalIters: planned.evalIters, ...rest };
  writeFileSync(path.join(planned.run.train.out, SUMMARY_FILE), JSON.stringify(json, null, 1) + '\n');
}

/** A finished run of the same model, train settings and evaluation points, or null. */
function loadSummary(planned: PlannedRun): RunSummary | null {
  const file = path.join(planned.run.train.out, SUMMARY_FILE);
  if (!existsSync(file)) return null;
  const json = JSON.parse(readFileSync(file, 'utf8')) as { model: unknown; train: unknown; evalIters: unknown } & Omit<RunSummary, 'planned'>;
  const same = JSON.stringify(json.model) === JSON.stringify(planned.run.model) && JSON.stringify(json.train) === JSON.stringify(planned.run.train)
    && JSON.stringify(json.evalIters) === JSON.stringify(planned.evalIters);
  if (!same) return null;
  const { model: _m, train: _t, evalIters: _e, ...rest } = json;
  return { planned, ...rest };
}

async function writeOutputs(opts: CompareOptions, plan: Plan, runs: RunSummary[], data: Dataset, hooks: CompareHooks): Promise<{ report: string; written: string[] }> {
  const benchRepeats = hooks.benchRepeats ?? 20;
  const rows = runs.flatMap((r) => r.rows);
  writeFileSync(path.join(opts.out, OUTPUT_FILES.csv), curvesCsv(rows));
  const modRun = runs.find((r) => r.planned.variant === 'mod') ?? null;
  await writePlots(opts, rows, modRun, data);
  hooks.onNotice?.('evaluating each checkpoint on the whole validation split (MoD: top-k and causal routing)...');
  const figures = new Map(runs.map((r) => [r.planned.name, checkpointFigures(r.planned.run.train.out)]));
  hooks.onNotice?.('timing the variants side by side for the speed ratios...');
  const configs = new Map<string, ModelConfig>(opts.variants.map((v) => [v, plan.models.get(v)!]));
  const micro = timeTrainSteps(configs, { batchSize: opts.base.train.batchSize, repeats: benchRepeats, warmup: 3 });
  const report = reportMarkdown({
    title: `${opts.base.preset}: dense vs Mixture-of-Depths at ${plan.budget.toExponential(2)} training FLOPs`,
    preset: opts.base.preset,
    dataSource: data.source,
    budget: plan.budget,
    match: opts.match,
    evals: opts.evals,
    seeds: [...new Set(plan.runs.map((r) => r.seed))],
    variants: opts.variants,
    models: plan.models,
    runs,
    benchMs: new Map(opts.variants.map((v) => [v, micro.get(v)! * opts.base.train.gradAccumSteps])),
    benchRepeats,
    figures,
    // --reuse changes nothing in the results, so the command shown is the one that trains everything.
    command: `npx mod compare ${opts.argv.filter((a) => !/^--reuse(=true)?$/.test(a)).map(shellQuote).join(' ')}`,
    plots: { flops: OUTPUT_FILES.flops, wall: OUTPUT_FILES.wall, routing: modRun === null ? null : OUTPUT_FILES.routing },
    runsDir: opts.runsDir,
  });
  writeFileSync(path.join(opts.out, OUTPUT_FILES.report), report);
  const written = [OUTPUT_FILES.report, OUTPUT_FILES.csv, OUTPUT_FILES.flops, OUTPUT_FILES.wall, ...(modRun === null ? [] : [OUTPUT_FILES.routing])];
  return { report, written };
}

/** The two loss plots, and the routing heat-map of the first seed's `mod` run on the start of the val text. */
async function writePlots(opts: CompareOptions, rows: CurveRow[], modRun: RunSummary | null, data: Dataset): Promise<void> {
  const file = (name: string): string => path.join(opts.out, name);
  const preset = opts.base.preset;
  writeFileSync(file(OUTPUT_FILES.flops), await renderSvg(lossVsFlopsSpec(rows, opts.variants, `val loss vs training FLOPs (${preset})`)));
  writeFileSync(file(OUTPUT_FILES.wall), await renderSvg(lossVsWallSpec(rows, opts.variants, `val loss vs training time (${preset})`)));
  if (modRun === null) return;
  const t = Math.min(SAMPLE_TOKENS, modRun.planned.run.model.blockSize, data.val.length);
  const map = routingMap(modRun.planned.run.train.out, data.val.slice(0, t), data.tokenizer);
  writeFileSync(file(OUTPUT_FILES.routing), await renderSvg(routingSpec(map, `routing of ${modRun.planned.name} on the first ${t} tokens of the validation text`)));
}
