// `mod compare`: trains every planned run (src/compare/plan.ts) with the trainer, timing its optimizer steps, then
// writes curves.csv, the plots and report.md (docs/compare.md).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Io } from '../cli/io.js';
import { processIo } from '../cli/io.js';
import type { ProgressStream } from '../cli/progress.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { median } from '../bench/stats.js';
import type { ModelConfig } from '../model/config.js';
import { train } from '../train/trainer.js';
import type { LogRecord } from '../train/run-log.js';
import type { CompareOptions } from './options.js';
import { planComparison, type Plan, type PlannedRun } from './plan.js';
import { type CurveRow, lossVsFlopsSpec, lossVsWallSpec, renderSvg, routingSpec } from './plots.js';
import { CompareProgress } from './progress.js';
import { curvesCsv, reportMarkdown, type RunSummary, shellQuote } from './report.js';
import { checkpointFigures } from './checkpoint-eval.js';
import { routingMap } from './routing-map.js';
import { measureStepMs } from './speed.js';

export const OUTPUT_FILES = {
  csv: 'curves.csv',
  report: 'report.md',
  flops: 'loss-vs-flops.svg',
  wall: 'loss-vs-time.svg',
  routing: 'routing.svg',
} as const;

export interface CompareRunOptions {
  /** Where the progress display goes (default: stdout for the process Io, else io.out as plain lines). */
  progressStream?: ProgressStream;
  /** Install the trainer's Ctrl-C handlers (default true). */
  handleSignals?: boolean;
  /** Interleaved timing steps per variant for the speed ratios (default 20, after 3 warm-up steps). */
  benchRepeats?: number;
}

export interface CompareResult {
  plan: Plan;
  runs: RunSummary[];
  /** null when a signal stopped a run (its checkpoint is saved; no report is written). */
  stoppedBy: NodeJS.Signals | null;
}

/** Tokens of the routing heat-map: the start of the validation split, one context window at most. */
const SAMPLE_TOKENS = 128;

export async function runComparison(opts: CompareOptions, io: Io, options: CompareRunOptions = {}): Promise<CompareResult> {
  const data = loadDataset({ ...(opts.base.train.data === null ? {} : { data: opts.base.train.data }), tokenizer: opts.base.train.tokenizer, blockSize: opts.base.model.blockSize });
  const base = { ...opts.base, model: { ...opts.base.model, vocabSize: data.tokenizer.vocabSize } };
  const plan = planComparison({ ...opts, base });
  mkdirSync(opts.out, { recursive: true });
  printPlan(io, plan, opts);
  const stream = options.progressStream ?? (io === processIo ? process.stdout : { write: (text: string) => io.out(text) });
  const progress = new CompareProgress({
    runs: plan.runs.map((r) => ({ name: r.name, variant: r.variant, steps: r.run.train.maxIters, flopsPerStep: r.flopsPerStep })),
    stream,
  });
  const runs: RunSummary[] = [];
  try {
    for (const [i, planned] of plan.runs.entries()) {
      progress.startRun(i);
      const saved = opts.reuse ? loadSummary(planned) : null;
      if (saved !== null) {
        runs.push(saved);
        progress.log(`${planned.name}: reusing the finished run in ${planned.run.train.out}`);
        continue;
      }
      const r = await trainOne(planned, progress, options.handleSignals ?? true);
      if (typeof r === 'string') {
        progress.stop();
        io.out(`stopped during ${planned.name}; its checkpoint is in ${planned.run.train.out}. No report was written.\n`);
        return { plan, runs, stoppedBy: r };
      }
      runs.push(r);
      progress.log(`${planned.name}: final val loss ${r.rows[r.rows.length - 1]!.valLoss.toFixed(4)}, ${r.trainStepMs.toFixed(1)} ms/step`);
    }
  } finally {
    progress.stop();
  }
  await writeOutputs(opts, plan, runs, data, options.benchRepeats ?? 20, io);
  return { plan, runs, stoppedBy: null };
}

function printPlan(io: Io, plan: Plan, opts: CompareOptions): void {
  io.out(`mod compare: preset ${opts.base.preset}, budget ${plan.budget.toExponential(3)} training FLOPs per run, ${plan.runs.length} runs, output in ${opts.out}\n`);
  for (const r of plan.runs.filter((x) => x.seed === opts.base.train.seed)) {
    const m = r.run.model;
    io.out(`  ${r.variant.padEnd(6)} nLayer=${m.nLayer} nEmbd=${m.nEmbd}${m.mod ? ` capacity=${m.mod.capacity} every=${m.mod.every} routing=${m.mod.routing}` : ''}`
      + ` | ${r.forwardFlops.toExponential(3)} FLOPs/forward | ${r.flopsPerStep.toExponential(3)} FLOPs/step | ${r.run.train.maxIters} steps | evals at ${r.evalIters.length} points\n`);
  }
}

/** Trains one run; the trainer's own output goes to train.log in its run directory. A signal that stopped it is returned. */
async function trainOne(planned: PlannedRun, progress: CompareProgress, handleSignals: boolean): Promise<RunSummary | NodeJS.Signals> {
  const dir = planned.run.train.out;
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'train.log');
  writeFileSync(logFile, '');
  const write = (text: string): void => appendFileSync(logFile, text);
  const evalAt = new Set(planned.evalIters);
  // Step times: from the end of the previous step (or evaluation) to the end of this step. The first step's time
  // would include loading the data and building the model, so it is replaced by the run's median.
  const stepMs: number[] = [];
  const records: LogRecord[] = [];
  let mark: number | null = null;
  const result = await train(planned.run, { out: write, err: write }, {
    handleSignals,
    progressStream: { write },
    evalAt: (iter) => evalAt.has(iter),
    onStep: (iter) => {
      const now = performance.now();
      stepMs.push(mark === null ? Number.NaN : now - mark);
      mark = now;
      progress.step(iter);
    },
    onEval: (record) => {
      records.push(record);
      progress.evaluated(record.iter, record.valLoss);
      mark = performance.now();
    },
  });
  if (result.stoppedBy !== null) return result.stoppedBy;
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

async function writeOutputs(opts: CompareOptions, plan: Plan, runs: RunSummary[], data: Dataset, benchRepeats: number, io: Io): Promise<void> {
  const rows = runs.flatMap((r) => r.rows);
  writeFileSync(path.join(opts.out, OUTPUT_FILES.csv), curvesCsv(rows));
  const modRun = runs.find((r) => r.planned.variant === 'mod') ?? null;
  await writePlots(opts, rows, modRun, data);
  io.out('evaluating each checkpoint on the whole validation split (MoD: top-k and causal routing)...\n');
  const figures = new Map(runs.map((r) => [r.planned.name, checkpointFigures(r.planned.run.train.out)]));
  io.out('timing the variants side by side for the speed ratios...\n');
  const configs = new Map<string, ModelConfig>(opts.variants.map((v) => [v, plan.models.get(v)!]));
  const micro = measureStepMs(configs, { batchSize: opts.base.train.batchSize, repeats: benchRepeats, warmup: 3 });
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
  io.out(`\n${report.split('\n').filter((l) => l.startsWith('|')).slice(0, 2 + opts.variants.length).join('\n')}\n\n`);
  const written = [OUTPUT_FILES.report, OUTPUT_FILES.csv, OUTPUT_FILES.flops, OUTPUT_FILES.wall, ...(modRun === null ? [] : [OUTPUT_FILES.routing])];
  io.out(`wrote ${written.join(', ')} in ${opts.out}\n`);
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
