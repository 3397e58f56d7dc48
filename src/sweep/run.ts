// `mod sweep`: the isoFLOP analysis of the paper on a corpus. Trains phase 1 (the curves) and then phase 2 (the
// claims at the MoD optimum) with the run executor `mod compare` uses, fits the curves, times the optimum models,
// and writes runs.csv, isoflop.svg, optimum.svg and report.md (docs/sweep.md). It reports through hooks.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDir } from '../train/out-dir.js';
import { timeTrainSteps } from '../bench/train.js';
import { executeRuns, type ExecutorHooks } from '../compare/executor.js';
import { renderSvg } from '../compare/plots.js';
import { shellQuote, type RunSummary } from '../compare/report.js';
import { loadDataset } from '../data/index.js';
import type { ModelConfig } from '../model/config.js';
import { paramCounts } from '../model/flops.js';
import { type Curve, curve, type FinishedRun, pooledSeedSd } from './analysis.js';
import { claimsTable, optimumKey } from './claims.js';
import { type Arm, checkSweep, claimRunsBound, planClaims, planIsoflop, plannedEpochs, type SweepOptions, type SweepRun } from './plan.js';
import { isoflopSpec, optimumSpec } from './plots.js';
import { runsCsv, type SkippedRun, sweepReportMarkdown } from './report.js';

export const SWEEP_FILES = { csv: 'runs.csv', isoflop: 'isoflop.svg', optimum: 'optimum.svg', report: 'report.md' } as const;

export interface SweepHooks extends ExecutorHooks {
  /** Interleaved timing steps per optimum model (default 20, after 3 warm-up steps). */
  benchRepeats?: number;
  /** Phase 1's runs, and at most how many phase-2 runs will follow. */
  onPlan?(runs: readonly SweepRun[], claimRuns: number): void;
  /** Phase 2's runs (indices continue phase 1's). */
  onClaimsPlan?(runs: readonly SweepRun[], first: number): void;
  /** Every run is trained; fitting, timing and the report follow. */
  onTrained?(): void;
}

export interface SweepResult {
  aborted: boolean;
  runs: FinishedRun[];
  curves: Curve[];
  report: string | null;
  written: string[];
}

export async function runSweep(opts: SweepOptions, hooks: SweepHooks = {}): Promise<SweepResult> {
  checkSweep(opts);
  const data = loadDataset({ ...(opts.base.train.data === null ? {} : { data: opts.base.train.data }), tokenizer: opts.base.train.tokenizer, blockSize: opts.base.model.blockSize });
  const o: SweepOptions = { ...opts, base: { ...opts.base, model: { ...opts.base.model, vocabSize: data.tokenizer.vocabSize } } };
  const planned = planIsoflop(o);
  const phase1 = planned.filter((r) => plannedEpochs(r, data.train.length) <= o.maxEpochs);
  const skipped = planned.filter((r) => !phase1.includes(r));
  for (const r of skipped) hooks.onNotice?.(`${r.planned.name}: skipped, ${plannedEpochs(r, data.train.length).toFixed(1)} epochs is past --max-epochs=${o.maxEpochs}`);
  ensureDir(o.out);
  hooks.onPlan?.(phase1, claimRunsBound(o));
  const done1 = await executeRuns(phase1.map((r) => r.planned), hooks, o.resume);
  const aborted = { aborted: true, runs: [], curves: [], report: null, written: [] };
  if (done1 === null) return aborted;
  const finished = phase1.map((r, i) => finish(r, done1[i]!, data.train.length));
  const hasMod = finished.some((r) => r.budget === o.claimsBudget && r.arm === 'mod');
  const modCurve = o.claimSeeds > 0 && hasMod ? curve(finished, o.claimsBudget, 'mod', o.sizes) : null;
  const phase2 = modCurve === null ? [] : planClaims(o, modCurve.nearest.size, phase1);
  hooks.onClaimsPlan?.(phase2, phase1.length);
  const done2 = await executeRuns(phase2.map((r) => r.planned), hooks, o.resume, phase1.length);
  if (done2 === null) return aborted;
  finished.push(...phase2.map((r, i) => finish(r, done2[i]!, data.train.length)));
  hooks.onTrained?.();
  const skippedRuns = skipped.map((r) => ({ name: r.planned.name, epochs: plannedEpochs(r, data.train.length) }));
  return { aborted: false, runs: finished, ...(await writeOutputs(o, finished, data.source, data.train.length, hooks, skippedRuns)) };
}

function finish(r: SweepRun, summary: RunSummary, trainTokens: number): FinishedRun {
  return { ...r, summary, epochs: summary.rows[summary.rows.length - 1]!.tokens / trainTokens };
}

/** Median ms per step of the model nearest each optimum, all timed interleaved. */
function timeOptima(curves: readonly Curve[], batchSize: number, repeats: number): Map<string, number> {
  const configs = new Map<string, ModelConfig>(curves.map((c) => [optimumKey(c.budget, c.arm), c.nearest.runs[0]!.summary.planned.run.model]));
  return timeTrainSteps(configs, { batchSize, repeats, warmup: 3 });
}

async function writeOutputs(opts: SweepOptions, runs: FinishedRun[], dataSource: string, trainTokens: number, hooks: SweepHooks, skipped: SkippedRun[]): Promise<{ curves: Curve[]; report: string; written: string[] }> {
  const file = (name: string): string => path.join(opts.out, name);
  // A (budget, variant) whose every run was past --max-epochs has no curve.
  const trained = (b: number, v: Arm): boolean => runs.some((r) => r.budget === b && r.arm === v);
  const curves = opts.budgets.flatMap((b) => opts.variants.filter((v) => trained(b, v)).map((v: Arm) => curve(runs, b, v, opts.sizes)));
  const seedSd = pooledSeedSd(runs);
  hooks.onNotice?.('timing the optimum models side by side...');
  const benchRepeats = hooks.benchRepeats ?? 20;
  const stepMs = timeOptima(curves, opts.base.train.batchSize, benchRepeats);
  const claims = claimsTable({ curves, runs, seedSd, claimsBudget: opts.claimsBudget, stepMs, budgets: opts.budgets });
  writeFileSync(file(SWEEP_FILES.csv), runsCsv(runs, (r) => paramCounts(r.summary.planned.run.model).nonEmbedding));
  writeFileSync(file(SWEEP_FILES.isoflop), await renderSvg(isoflopSpec(curves, `isoFLOP curves (${opts.base.preset})`)));
  writeFileSync(file(SWEEP_FILES.optimum), await renderSvg(optimumSpec(curves, `isoFLOP-optimal loss against budget (${opts.base.preset})`)));
  const report = sweepReportMarkdown({
    preset: opts.base.preset,
    dataSource,
    trainTokens,
    budgets: opts.budgets,
    curves,
    runs,
    claims,
    seedSd,
    stepMs,
    benchRepeats,
    seeds: opts.seeds,
    claimSeeds: opts.claimSeeds,
    claimsBudget: opts.claimsBudget,
    // --resume changes nothing in the results, so the command shown is the one that trains everything.
    command: `npx mod sweep ${opts.argv.filter((a) => !/^--resume(=true)?$/.test(a)).map(shellQuote).join(' ')}`,
    plots: { isoflop: SWEEP_FILES.isoflop, optimum: SWEEP_FILES.optimum },
    runsDir: opts.runsDir,
    skipped,
    maxEpochs: opts.maxEpochs,
  });
  writeFileSync(file(SWEEP_FILES.report), report);
  return { curves, report, written: Object.values(SWEEP_FILES) };
}
