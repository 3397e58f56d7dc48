// `mod compare`: trains every planned run (src/compare/plan.ts) with the trainer, timing its optimizer steps, then
// writes curves.csv, the plots and report.md (docs/compare.md). It reports through hooks; src/cli/compare.ts
// shows the progress and writes each run's train.log.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDir } from '../train/out-dir.js';
import { timeTrainSteps } from '../bench/train.js';
import { loadDataset, type Dataset } from '../data/index.js';
import type { ModelConfig } from '../model/config.js';
import { executeRuns, type ExecutorHooks } from './executor.js';
import { type CompareOptions, planComparison, type Plan } from './plan.js';
import { type CurveRow, lossVsFlopsSpec, lossVsWallSpec, renderSvg, routingSpec } from './plots.js';
import { curvesCsv, reportMarkdown, type RunSummary, shellQuote } from './report.js';
import { routingMap } from './routing-map.js';

export const OUTPUT_FILES = {
  csv: 'curves.csv',
  report: 'report.md',
  flops: 'loss-vs-flops.svg',
  wall: 'loss-vs-time.svg',
  routing: 'routing.svg',
} as const;

/** What a comparison reports as it goes: the executor's hooks (src/compare/executor.ts) and a few more. */
export interface CompareHooks extends ExecutorHooks {
  /** Interleaved timing steps per variant for the speed ratios (default 20, after 3 warm-up steps). */
  benchRepeats?: number;
  /** The plan, before the first run. */
  onPlan?(plan: Plan): void;
  /** Every run is trained (or reused); timing and the report follow. */
  onTrained?(): void;
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
  const runs = await executeRuns(plan.runs, hooks, opts.reuse);
  if (runs === null) return { plan, runs: [], aborted: true, report: null, written: [] };
  hooks.onTrained?.();
  return { plan, runs, aborted: false, ...(await writeOutputs(opts, plan, runs, data, hooks)) };
}

async function writeOutputs(opts: CompareOptions, plan: Plan, runs: RunSummary[], data: Dataset, hooks: CompareHooks): Promise<{ report: string; written: string[] }> {
  const benchRepeats = hooks.benchRepeats ?? 20;
  const rows = runs.flatMap((r) => r.rows);
  writeFileSync(path.join(opts.out, OUTPUT_FILES.csv), curvesCsv(rows));
  const modRun = runs.find((r) => r.planned.variant === 'mod') ?? null;
  await writePlots(opts, rows, modRun, data);
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
