// curves.csv and report.md of a comparison.
import { formatSi } from '../format.js';
import type { ModelConfig } from '../model/config.js';
import { paramCounts } from '../model/flops.js';
import { defaultPresetName, getPreset } from '../train/presets.js';
import type { Plain } from '../model/schema.js';
import type { TrainRun } from '../train/config.js';
import type { PlannedRun, Variant } from './plan.js';
import type { CheckpointFigures } from './checkpoint-eval.js';
import type { CurveRow } from './plots.js';

export const CSV_COLUMNS = ['variant', 'seed', 'iter', 'trainFlops', 'tokens', 'wallMs', 'trainLoss', 'valLoss'] as const;

/** One row per evaluation, runs in plan order, each run's rows in iteration (so FLOP) order. */
export function curvesCsv(rows: readonly CurveRow[]): string {
  const lines = rows.map((r) => CSV_COLUMNS.map((c) => (typeof r[c] === 'number' ? String(r[c]) : r[c])).join(','));
  return [CSV_COLUMNS.join(','), ...lines].join('\n') + '\n';
}

/** Parses curves.csv back (tests, and re-plotting). */
export function parseCurvesCsv(text: string): CurveRow[] {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const o: Record<string, string | number> = {};
    cols.forEach((c, i) => (o[c] = c === 'variant' ? cells[i]! : Number(cells[i])));
    return o as unknown as CurveRow;
  });
}

/** What one finished run contributes to the report. */
export interface RunSummary {
  planned: PlannedRun;
  rows: CurveRow[];
  /** Median ms of the optimizer steps during training. */
  trainStepMs: number;
  /** Training FLOPs spent (the last evaluation's trainFlops). */
  spentFlops: number;
  /** The final checkpoint evaluated on the whole validation split. */
  figures: CheckpointFigures;
}

export interface ReportInput {
  title: string;
  preset: string;
  dataSource: string;
  budget: number;
  match: string;
  evals: number;
  seeds: number[];
  variants: Variant[];
  models: Map<Variant, ModelConfig>;
  runs: RunSummary[];
  /** Interleaved median ms per step per variant. */
  benchMs: Map<Variant, number>;
  benchRepeats: number;
  command: string;
  /** Relative names of the plot files. */
  plots: { flops: string; wall: string; routing: string | null };
  runsDir: string;
}

export interface Stats {
  mean: number;
  sd: number;
  n: number;
}

export function stats(xs: readonly number[]): Stats {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

export function fmtStats(s: Stats, digits = 4): string {
  return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : s.mean.toFixed(digits);
}

export function describeModel(m: ModelConfig): string {
  const base = `L${m.nLayer} C${m.nEmbd} H${m.nHead}`;
  if (m.mod === undefined || m.mod === null) return `${base} dense`;
  return `${base}, c=${m.mod.capacity} every ${m.mod.every} (${m.mod.routing})`;
}

function lastRow(r: RunSummary): CurveRow {
  return r.rows[r.rows.length - 1]!;
}

function mainTable(input: ReportInput): string[] {
  const denseRun = input.runs.find((r) => r.planned.variant === 'dense');
  const denseMs = input.benchMs.get('dense');
  const splitLoss = (v: Variant): Stats => stats(input.runs.filter((r) => r.planned.variant === v).map((r) => r.figures.valLoss));
  const denseSplit = denseRun === undefined ? null : splitLoss('dense').mean;
  const lines = [
    '| variant | model | params | FLOPs / forward | vs dense | steps | training FLOPs | final val loss (eval batches) | val loss (whole val split) | Δ vs dense | ms / step | speed vs dense | training time |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const v of input.variants) {
    const runs = input.runs.filter((r) => r.planned.variant === v);
    if (runs.length === 0) continue;
    const p = runs[0]!.planned;
    const model = input.models.get(v)!;
    const final = stats(runs.map((r) => lastRow(r).valLoss));
    const split = splitLoss(v);
    const ms = input.benchMs.get(v);
    const wall = stats(runs.map((r) => lastRow(r).wallMs / 1000));
    lines.push(`| ${v} | ${describeModel(model)} | ${paramCounts(model).total.toLocaleString('en-US')} `
      + `| ${formatSi(p.forwardFlops, 'FLOP')} | ${denseRun === undefined ? 'n/a' : (p.forwardFlops / denseRun.planned.forwardFlops).toFixed(3)} `
      + `| ${p.run.train.maxIters} | ${formatSi(stats(runs.map((r) => r.spentFlops)).mean, 'FLOP')} `
      + `| ${fmtStats(final)} | ${fmtStats(split)} | ${denseSplit === null ? 'n/a' : v === 'dense' ? '—' : signed(split.mean - denseSplit)} `
      + `| ${ms === undefined ? 'n/a' : ms.toFixed(1)} | ${ms === undefined || denseMs === undefined ? 'n/a' : `${(denseMs / ms).toFixed(2)}×`} `
      + `| ${fmtStats(wall, 1)} s |`);
  }
  return lines;
}

export function signed(x: number): string {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
}

function runTable(input: ReportInput): string[] {
  const lines = ['| run | steps | training FLOPs | budget error | final val loss | ms / step (during training, median) | training time |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of input.runs) {
    const last = lastRow(r);
    const err = (r.spentFlops - input.budget) / r.planned.flopsPerStep;
    lines.push(`| ${r.planned.name} | ${r.planned.run.train.maxIters} | ${r.spentFlops.toExponential(4)} | ${err >= 0 ? '+' : '−'}${Math.abs(err).toFixed(2)} steps `
      + `| ${last.valLoss.toFixed(4)} | ${r.trainStepMs.toFixed(1)} | ${(last.wallMs / 1000).toFixed(1)} s |`);
  }
  return lines;
}

function causalTable(input: ReportInput): string[] {
  const mods = input.variants.filter((v) => v !== 'dense');
  if (mods.length === 0) return ['No MoD variant in this comparison.'];
  const lines = [
    '| variant | val loss, top-k routing | val loss, causal routing | causal − top-k | causal-rule accuracy (mean; per routed block) |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const v of mods) {
    const figs = input.runs.filter((r) => r.planned.variant === v).map((r) => r.figures);
    const withCausal = figs.filter((f) => f.causalLoss !== null);
    const topk = stats(figs.map((f) => f.valLoss));
    if (withCausal.length === 0) {
      lines.push(`| ${v} | ${fmtStats(topk)} | n/a (causal routing not available in this build) | n/a | n/a |`);
      continue;
    }
    const causal = stats(withCausal.map((f) => f.causalLoss!));
    const acc = stats(withCausal.map((f) => mean(f.accuracy)));
    const perBlock = withCausal[0]!.accuracy.map((a) => (a * 100).toFixed(1)).join(', ');
    lines.push(`| ${v} | ${fmtStats(topk)} | ${fmtStats(causal)} | ${signed(causal.mean - topk.mean)} `
      + `| ${(acc.mean * 100).toFixed(1)} %${acc.n > 1 ? ` ± ${(acc.sd * 100).toFixed(1)}` : ''} (${perBlock}) |`);
  }
  const c = input.models.get(mods[0]!)?.mod?.capacity;
  if (c !== undefined) {
    lines.push('', 'Each final checkpoint evaluated as `mod eval --ckpt DIR` does, on the whole validation split (consecutive windows). '
      + 'Causal routing: each routed block processes the tokens its causal rule (predictor or aux-trained router) selects, as sampling does. '
      + `Accuracy: the causal rule against top-k membership; predicting "skip" for every token scores 1 − capacity = ${((1 - c) * 100).toFixed(1)} %.`);
  }
  return lines;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Flattened `key=value` of a config object (sections dotted). */
function flat(obj: Plain, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'object' && v !== null) for (const [kk, vv] of flat(v as Plain, `${prefix}${k}.`)) out.set(kk, vv);
    else out.set(`${prefix}${k}`, v);
  }
  return out;
}

/** A `mod train` command that trains the same model on the same batches with the same schedule. */
export function trainCommand(run: TrainRun): string {
  const presetName = run.preset ?? defaultPresetName;
  const preset = getPreset(presetName);
  const args = [`--preset=${presetName}`];
  const model = flat(run.model as unknown as Plain);
  const presetModel = flat(preset.model as unknown as Plain);
  if ((run.model.mod === undefined || run.model.mod === null) && preset.model.mod) args.push('--mod=null');
  for (const [k, v] of model) if (k !== 'vocabSize' && presetModel.get(k) !== v) args.push(`--${k}=${String(v)}`);
  const presetTrain = flat(preset.train as unknown as Plain);
  for (const [k, v] of flat(run.train as unknown as Plain)) if (presetTrain.get(k) !== v) args.push(`--${k}=${v === null ? 'null' : String(v)}`);
  return `npx mod train ${args.map(shellQuote).join(' ')}`;
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** report.md. */
export function reportMarkdown(input: ReportInput): string {
  const seedText = input.seeds.length === 1 ? `1 seed (${input.seeds[0]})` : `${input.seeds.length} seeds (${input.seeds.join(', ')}; mean ± sample standard deviation)`;
  const out = [
    `# ${input.title}`,
    '',
    `Preset \`${input.preset}\` on ${input.dataSource}; every run spends a budget of **${input.budget.toExponential(3)} training FLOPs**`
      + ` (counted as in docs/flops.md: 3 × forward, matmuls only), ${seedText}, size matching \`--match=${input.match}\`,`
      + ` ${input.evals} evaluations per run at evenly spaced FLOPs. Same seed → same initialisation stream and the same training batches for every variant.`,
    '',
    ...mainTable(input),
    '',
    `FLOPs / forward: one sequence of blockSize tokens. Final val loss: the trainer's last evaluation (evalIters fixed batches per split, the same for every run);`
      + ' whole val split: the final checkpoint as `mod eval` scores it (top-k routing for MoD), and Δ vs dense is taken on it.'
      + ` ms / step: median of ${input.benchRepeats} training steps of each model measured interleaved after training`
      + ' (same batch size; the machine is shared, so the interleaving keeps noise alike); speed vs dense = dense ms / variant ms.'
      + ' Training time: wall-clock of the optimizer steps of the run (evaluation and checkpoints excluded).',
    '',
    '## Runs',
    '',
    ...runTable(input),
    '',
    '## Causal routing (MoD checkpoints)',
    '',
    ...causalTable(input),
    '',
    '## Plots',
    '',
    `![val loss vs training FLOPs](${input.plots.flops})`,
    '',
    `![val loss vs training time](${input.plots.wall})`,
    '',
    input.plots.routing === null ? 'No routing heat-map (no `mod` variant).' : `![routing heat-map](${input.plots.routing})`,
    '',
    '## Commands',
    '',
    'The whole comparison:',
    '',
    '```sh',
    input.command,
    '```',
    '',
    `Each run alone (same model, batches and schedule; \`mod compare\` adds evaluations at its FLOP points). Checkpoints were written to \`${input.runsDir}\`:`,
    '',
    '```sh',
    ...input.runs.map((r) => trainCommand(r.planned.run)),
    '```',
    '',
  ];
  return out.join('\n');
}
