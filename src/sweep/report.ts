// runs.csv and report.md of a sweep. Model descriptions, mean ± sd and the train commands are `mod compare`'s
// (src/compare/report.ts).
import { formatShort, formatSi } from '../format.js';
import { describeModel, fmtStats, trainCommand } from '../compare/report.js';
import type { Curve, FinishedRun } from './analysis.js';
import { runLoss } from './analysis.js';
import type { Claim } from './claims.js';
import { optimumKey } from './claims.js';
import { sizeName } from './ladder.js';

/** Runs that repeat the training text more than this often are flagged: past about 4 epochs repeated tokens are
 *  worth clearly less than fresh ones (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models"). */
export const EPOCH_FLAG = 4;

export const RUNS_CSV_COLUMNS = [
  'budget', 'size', 'arm', 'seed', 'params', 'nonEmbeddingParams', 'capacity', 'every', 'forwardFlops', 'steps', 'tokens', 'epochs',
  'overfitRisk', 'trainFlops', 'msPerStep', 'evalValLoss', 'valLoss', 'causalValLoss', 'run',
] as const;

export function runsCsv(runs: readonly FinishedRun[], nonEmbedding: (r: FinishedRun) => number): string {
  const rows = runs.map((r) => {
    const p = r.summary.planned;
    const mod = p.run.model.mod;
    const cells: Record<(typeof RUNS_CSV_COLUMNS)[number], string | number> = {
      budget: r.budget,
      size: sizeName(r.size),
      arm: r.arm,
      seed: p.seed,
      params: r.params,
      nonEmbeddingParams: nonEmbedding(r),
      capacity: mod?.capacity ?? '',
      every: mod?.every ?? '',
      forwardFlops: p.forwardFlops,
      steps: p.run.train.maxIters,
      tokens: r.summary.rows[r.summary.rows.length - 1]!.tokens,
      epochs: Number(r.epochs.toFixed(3)),
      overfitRisk: r.epochs > EPOCH_FLAG ? 'yes' : 'no',
      trainFlops: r.summary.spentFlops,
      msPerStep: Number(r.summary.trainStepMs.toFixed(2)),
      evalValLoss: Number(r.summary.rows[r.summary.rows.length - 1]!.valLoss.toFixed(5)),
      valLoss: Number(runLoss(r).toFixed(5)),
      causalValLoss: r.summary.figures.causalLoss === null ? '' : Number(r.summary.figures.causalLoss.toFixed(5)),
      run: p.name,
    };
    return RUNS_CSV_COLUMNS.map((c) => String(cells[c])).join(',');
  });
  return [RUNS_CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

export interface SweepReportInput {
  preset: string;
  dataSource: string;
  trainTokens: number;
  budgets: number[];
  curves: Curve[];
  runs: FinishedRun[];
  claims: Claim[];
  seedSd: { sd: number; df: number } | null;
  stepMs: Map<string, number>;
  benchRepeats: number;
  seeds: number;
  claimSeeds: number;
  claimsBudget: number;
  command: string;
  plots: { isoflop: string; optimum: string };
  runsDir: string;
  /** Isoflop runs not trained because they were planned past --max-epochs. */
  skipped: SkippedRun[];
  maxEpochs: number;
}

export interface SkippedRun {
  name: string;
  epochs: number;
}

function curveTable(input: SweepReportInput, budget: number): string[] {
  const curves = input.curves.filter((c) => c.budget === budget);
  const lines = [
    `| size | model | params | ${curves.map((c) => `${c.arm}: steps | ${c.arm}: epochs | ${c.arm}: val loss`).join(' | ')} |`,
    `| --- | --- | ---: | ${curves.map(() => '---: | ---: | ---:').join(' | ')} |`,
  ];
  const points = curves.flatMap((c) => c.points).sort((a, b) => a.params - b.params);
  const sizes = [...new Map(points.map((p) => [sizeName(p.size), p.size])).values()];
  for (const size of sizes) {
    const cells = curves.map((c) => {
      const p = c.points.find((q) => sizeName(q.size) === sizeName(size));
      if (p === undefined) return 'n/a | n/a | n/a';
      const r = p.runs[0]!;
      const flag = r.epochs > EPOCH_FLAG ? ' ⚠' : '';
      return `${r.summary.planned.run.train.maxIters} | ${r.epochs.toFixed(2)}${flag} | ${fmtStats(p.loss)}`;
    });
    const p0 = points.find((q) => sizeName(q.size) === sizeName(size))!;
    lines.push(`| ${sizeName(size)} | ${describeModel(p0.runs[0]!.summary.planned.run.model).replace(/,.*| dense$/, '')} | ${p0.params.toLocaleString('en-US')} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function optimumTable(input: SweepReportInput): string[] {
  const lines = [
    '| budget | variant | optimum: params | optimum: val loss | spread over seeds (sd) | found by | nearest size | steps | ms / step | FLOPs / forward | epochs |',
    '| ---: | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const c of input.curves) {
    const n = c.nearest.runs[0]!;
    const ms = input.stepMs.get(optimumKey(c.budget, c.arm));
    const sd = c.seedOptima.length < 2 ? 'n/a (1 seed)' : `${sdOf(c.seedOptima.map((p) => p.loss)).toFixed(4)} loss, ×${Math.exp(sdOf(c.seedOptima.map((p) => p.x))).toFixed(2)} params`;
    lines.push(`| ${c.budget.toExponential(1)} | ${c.arm} | ${formatShort(Math.round(Math.exp(c.fit.optimum.x)))} | ${c.fit.optimum.loss.toFixed(4)} | ${sd} | ${c.fit.method} `
      + `| ${sizeName(c.nearest.size)} | ${n.summary.planned.run.train.maxIters} | ${ms === undefined ? 'n/a' : ms.toFixed(1)} | ${formatSi(n.summary.planned.forwardFlops, 'FLOP')} | ${n.epochs.toFixed(2)} |`);
  }
  return lines;
}

function sdOf(xs: readonly number[]): number {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

function claimsLines(claims: readonly Claim[]): string[] {
  return [
    '| | claim (paper) | measured here | verdict | rule |',
    '| --- | --- | --- | --- | --- |',
    ...claims.map((c) => `| ${c.id} | ${c.claim} | ${c.measured} | **${c.verdict}** | ${c.why} |`),
  ];
}

function extraRunsTable(input: SweepReportInput): string[] {
  const iso = new Set(input.curves.flatMap((c) => c.points.flatMap((p) => p.runs.map((r) => r.summary.planned.name))));
  const extra = input.runs.filter((r) => !iso.has(r.summary.planned.name));
  if (extra.length === 0) return ['No runs beyond the isoFLOP curves.'];
  return [
    '| run | model | steps | epochs | val loss | causal val loss |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...extra.map((r) => `| ${r.summary.planned.name} | ${describeModel(r.summary.planned.run.model)} | ${r.summary.planned.run.train.maxIters} | ${r.epochs.toFixed(2)} `
      + `| ${runLoss(r).toFixed(4)} | ${r.summary.figures.causalLoss?.toFixed(4) ?? 'n/a'} |`),
  ];
}

/** The runs --max-epochs left out, for the paragraph on epochs. */
function skippedText(input: SweepReportInput): string {
  if (input.skipped.length === 0) return '';
  const list = input.skipped.map((r) => `${r.name} (${r.epochs.toFixed(1)})`).join(', ');
  return ` Not trained, because they would have run past \`--max-epochs=${input.maxEpochs}\` (epochs in brackets): ${list}; their curves have fewer points.`;
}

export function sweepReportMarkdown(input: SweepReportInput): string {
  const flagged = input.runs.filter((r) => r.epochs > EPOCH_FLAG);
  const seedText = input.seedSd === null
    ? 'no point was trained with several seeds, so no verdict can rest on the spread'
    : `the seed-to-seed sd of one run's loss, pooled over every point with several seeds, is ${input.seedSd.sd.toFixed(4)} (${input.seedSd.df} degrees of freedom)`;
  const out = [
    `# ${input.preset}: isoFLOP sweep, dense vs Mixture-of-Depths`,
    '',
    `Preset \`${input.preset}\` on ${input.dataSource} (${input.trainTokens.toLocaleString('en-US')} training tokens). Budgets ${input.budgets.map((b) => b.toExponential(1)).join(', ')} training FLOPs`
      + ` (docs/flops.md: 3 × forward, matmuls only); at each budget every ladder size${input.skipped.length === 0 ? '' : ' (but the runs past --max-epochs, below)'} is trained to exactly the budget, ${input.seeds === 1 ? '1 seed' : `${input.seeds} seeds`} per point.`
      + ` A run's loss is its final checkpoint on the whole validation split, as \`mod eval\` scores it (top-k routing for MoD).`
      + ` Claims c–e at ${input.claimsBudget.toExponential(1)} FLOPs with ${input.claimSeeds} seeds; ${seedText}.`,
    '',
    '## Claims',
    '',
    ...claimsLines(input.claims),
    '',
    'Verdicts are computed by `mod sweep` from the numbers (src/sweep/claims.ts): a loss difference Δ (negative = the claimed direction)'
      + ' holds beyond two standard errors, does not hold beyond two standard errors the other way, and is inconclusive within the spread.',
    '',
    '## Optima',
    '',
    ...optimumTable(input),
    '',
    `Optimum: the vertex of the parabola fitted to loss against ln(parameters) (mean over seeds), or the lowest measured point when the fit has no minimum inside the ladder.`
      + ` Steps, ms / step (median of ${input.benchRepeats} interleaved training steps of the dense and MoD optimum models after training; the machine is shared),`
      + ' FLOPs / forward (one sequence) and epochs are those of the ladder size nearest the optimum.',
    '',
    '## isoFLOP curves',
    '',
    `![isoFLOP curves](${input.plots.isoflop})`,
    '',
    `![optimal loss against budget](${input.plots.optimum})`,
    '',
    ...input.budgets.flatMap((b) => [`### ${b.toExponential(1)} training FLOPs`, '', ...curveTable(input, b), '']),
    `Epochs: training tokens / training-split tokens. ⚠: more than ${EPOCH_FLAG} epochs, where repeated data is worth clearly less than fresh`
      + ` (Muennighoff et al. 2023) and overfitting may confound the comparison. ${flagged.length === 0 ? 'No run is flagged.' : `${flagged.length} of ${input.runs.length} runs are flagged.`}`
      + skippedText(input),
    '',
    '## Claim runs',
    '',
    ...extraRunsTable(input),
    '',
    '## Commands',
    '',
    'The whole sweep (add `--resume` to keep finished runs and continue a stopped one):',
    '',
    '```sh',
    input.command,
    '```',
    '',
    `Each run alone (same model, batches and schedule). Checkpoints were written to \`${input.runsDir}\`:`,
    '',
    '```sh',
    ...input.runs.map((r) => trainCommand(r.summary.planned.run)),
    '```',
    '',
  ];
  return out.join('\n');
}
