// `mod bench gemm|block`: the engine's micro-benchmarks, as a table or as JSON (`--json`: stdout holds only it).
import type { Command } from 'commander';
import type { BusyResults, Competitor } from '../bench/busy.js';
import { ConfigError } from '../errors.js';
import { median } from '../bench/stats.js';
import { formatRows } from './format.js';
import type { Io } from './io.js';
import { optionValue, positiveInt } from './options.js';

interface BenchOpts {
  json?: boolean;
  repeats?: string;
  busy?: string | true;
  rounds?: string;
  preset?: string;
}

export interface GemmRow {
  m: number;
  k: number;
  n: number;
  gflops: number;
  threads: number;
}

export interface BlockTimes {
  fwdMs: number;
  fwdBwdMs: number;
}

/** One `mod bench NAME` subcommand: run the benchmark, then print its JSON (`--json`) or its table and the backend. */
interface BenchSpec<R> {
  name: string;
  description: string;
  repeatsDoc: string;
  run(opts: { repeats?: number; preset?: string; busy?: boolean }): Promise<R>;
  json(result: R): string;
  table(result: R): string;
  /** `--busy`: the table of the runs at N and 1 threads, quiet and beside a competitor process, over the rounds. */
  busyTable?(rounds: readonly BusyResults<R>[], competitor: Competitor): string;
  /** `--preset NAME`: what the benchmark measures of the preset. */
  presetDoc?: string;
}

function addBench<R>(bench: Command, io: Io, spec: BenchSpec<R>): void {
  const cmd = bench
    .command(spec.name)
    .description(spec.description)
    .option('--json', `print only {"${spec.name}": ...} on stdout`)
    .option('--repeats <n>', spec.repeatsDoc);
  if (spec.presetDoc !== undefined) cmd.option('--preset <name>', spec.presetDoc);
  const busyTable = spec.busyTable;
  if (busyTable) {
    cmd.option('--busy [competitor]', 'also measure beside a competitor process, at N threads and at 1 thread: loop (a busy loop, the default) or train (a second brown-small training run)');
    cmd.option('--rounds <n>', 'with --busy: repeat the whole measurement n times and report the medians over the rounds and their spread');
  }
  cmd.action(async (opts: BenchOpts) => {
    const runOpts = { ...repeatsOpt(opts), ...(opts.preset === undefined ? {} : { preset: opts.preset }), busy: opts.busy !== undefined };
    const run = (): Promise<R> => spec.run(runOpts);
    if (opts.busy !== undefined && busyTable) {
      const { parseCompetitor, runBusy } = await import('../bench/busy.js');
      const competitor = parseCompetitor(opts.busy);
      const rounds = optionValue('rounds', positiveInt('rounds'), opts.rounds, 1);
      const r = await runBusy(run, competitor, rounds);
      io.out(opts.json ? busyJson(spec, r, competitor) : busyTable(r, competitor) + (await backendLine()));
      return;
    }
    if (opts.rounds !== undefined) throw new ConfigError('--rounds repeats a --busy measurement: add --busy, or drop --rounds');
    const result = await run();
    io.out(opts.json ? spec.json(result) : spec.table(result) + (await backendLine()));
  });
}

/** `{"NAME":{"threads":N,"competitor":…,"rounds":[{"quiet":…,"quiet1":…,"busy":…,"busy1":…}, …]}}`, parts as --json. */
function busyJson<R>(spec: BenchSpec<R>, rounds: readonly BusyResults<R>[], competitor: Competitor): string {
  const part = (x: R): unknown => (JSON.parse(spec.json(x)) as Record<string, unknown>)[spec.name];
  const parts = rounds.map((r) => ({ quiet: part(r.quiet), quiet1: part(r.quiet1), busy: part(r.busy), busy1: part(r.busy1) }));
  return JSON.stringify({ [spec.name]: { threads: rounds[0]!.threads, competitor, rounds: parts } }) + '\n';
}

export function registerBench(program: Command, io: Io): void {
  const bench = program.command('bench').description('micro-benchmarks of the engine on the active backend');
  addBench(bench, io, {
    name: 'gemm',
    description: 'matmul throughput (GFLOP/s) at several shapes',
    repeatsDoc: 'timed repeats per shape (median)',
    run: async (o) => {
      const { busySampleSeconds, runGemmBench } = await import('../bench/gemm.js');
      return runGemmBench({ ...o, ...(o.busy === true ? { sampleSeconds: busySampleSeconds } : {}) });
    },
    json: gemmJson,
    table: gemmTable,
    busyTable: gemmBusyTable,
  });
  addBench(bench, io, {
    name: 'block',
    description: 'forward and forward+backward time of one transformer block',
    repeatsDoc: 'timed repeats (median)',
    run: async (o) => (await import('../bench/block.js')).runBlockBench(o),
    json: blockJson,
    table: blockTable,
  });
  addBench(bench, io, {
    name: 'train',
    description: 'ms per training step, dense vs Mixture-of-Depths (capacity 0.125 and 0.5, every 2nd block)',
    repeatsDoc: 'timed steps per variant (median)',
    run: async (o) => (await import('../bench/train.js')).runTrainBench(o),
    json: trainJson,
    table: trainTable,
    busyTable: trainBusyTable,
    presetDoc: "time the preset's model (without routing, then with it at capacity 0.125 and 0.5) at its batch size instead of d 256 L8, e.g. brown-small",
  });
  addBench(bench, io, {
    name: 'decode',
    description: 'greedy KV-cache decode tokens/s, dense vs Mixture-of-Depths (capacity 0.125, every 2nd block)',
    repeatsDoc: 'timed decodes per variant (median)',
    run: async (o) => (await import('../bench/decode.js')).runDecodeBench(o),
    json: decodeJson,
    table: decodeTable,
  });
}

export interface DecodeRow {
  variant: 'dense' | 'mod';
  tokensPerSec: number;
  processedFraction?: number;
}

/** Exactly `{"decode":[{"variant":"dense","tokensPerSec":…},{"variant":"mod","tokensPerSec":…,"processedFraction":…}]}`. */
export function decodeJson(rows: readonly DecodeRow[]): string {
  const clean = rows.map((r) => (r.processedFraction === undefined
    ? { variant: r.variant, tokensPerSec: r.tokensPerSec }
    : { variant: r.variant, tokensPerSec: r.tokensPerSec, processedFraction: r.processedFraction }));
  return JSON.stringify({ decode: clean }) + '\n';
}

/** Tokens/s per variant with the speedup over dense (the first row) and the MoD blocks' realised load. */
export function decodeTable(rows: readonly DecodeRow[]): string {
  const dense = rows[0]!;
  return alignRight([
    ['variant', 'tokens/s', 'speedup', 'processed (routed blocks)'],
    ...rows.map((r) => [
      r.variant,
      r.tokensPerSec.toFixed(0),
      (r.tokensPerSec / dense.tokensPerSec).toFixed(2) + 'x',
      r.processedFraction === undefined ? '-' : `${(100 * r.processedFraction).toFixed(1)} %`,
    ]),
  ]);
}

export interface TrainRow {
  variant: 'dense' | 'mod';
  capacity: number;
  msPerStep: number;
  flopsPerStep: number;
}

/** Exactly `{"train":[{"variant":…,"capacity":…,"msPerStep":…,"flopsPerStep":…}, …]}` and a newline. */
export function trainJson(rows: readonly TrainRow[]): string {
  const clean = rows.map((r) => ({ variant: r.variant, capacity: r.capacity, msPerStep: r.msPerStep, flopsPerStep: r.flopsPerStep }));
  return JSON.stringify({ train: clean }) + '\n';
}

/** Each variant's step time and FLOPs, with both ratios against the dense row (the first). */
export function trainTable(rows: readonly TrainRow[]): string {
  const dense = rows[0]!;
  const cells = [
    ['variant', 'capacity', 'ms/step', 'GFLOP/step', 'time ratio', 'FLOP ratio'],
    ...rows.map((r) => [
      r.variant,
      String(r.capacity),
      r.msPerStep.toFixed(1),
      (r.flopsPerStep / 1e9).toFixed(2),
      (r.msPerStep / dense.msPerStep).toFixed(3),
      (r.flopsPerStep / dense.flopsPerStep).toFixed(3),
    ]),
  ];
  return alignRight(cells);
}

/** How a busy table reads one row of a benchmark: its label cells, its speed (larger is faster) and how to print it. */
interface BusyColumns<Row> {
  head: string[];
  label(row: Row): string[];
  speed(row: Row): number;
  show(speed: number): string;
  unit: string;
}

const competitorDoc: Record<Competitor, string> = {
  loop: 'one CPU-bound busy-loop process',
  train: 'a second brown-small training process',
};

/** (max − min) / median of xs, as a percentage. */
function spread(xs: readonly number[]): string {
  return `${((100 * (Math.max(...xs) - Math.min(...xs))) / median(xs)).toFixed(1)} %`;
}

/**
 * Per row: medians over the rounds of the quiet and busy speeds at N and 1 threads, and of the busy N-thread speed
 * over the busy 1-thread one; with several rounds also the lowest such ratio and the spread, (max − min) / median, of
 * the N-thread medians quiet (how much the machine itself moves between rounds) and busy, and of the busy 1-thread
 * medians (how much the competitor's load moves, whatever the thread count).
 */
function busyTable<Row>(rounds: readonly BusyResults<readonly Row[]>[], competitor: Competitor, c: BusyColumns<Row>): string {
  const n = rounds[0]!.threads;
  const many = rounds.length > 1;
  const head = [...c.head, `quiet ${n}t`, 'quiet 1t', `busy ${n}t`, 'busy 1t', `busy ${n}t/1t`, ...(many ? [`${n}t/1t lowest`, `quiet ${n}t spread`, `busy ${n}t spread`, 'busy 1t spread'] : [])];
  const rows = rounds[0]!.quiet.map((row, i) => {
    const at = (part: keyof Omit<BusyResults<Row>, 'threads'>): number[] => rounds.map((r) => c.speed(r[part][i]!));
    const [quiet, busy, busy1] = [at('quiet'), at('busy'), at('busy1')];
    const ratios = busy.map((b, k) => b / busy1[k]!);
    const cells = [...c.label(row), ...[quiet, at('quiet1'), busy, busy1].map((xs) => c.show(median(xs))), median(ratios).toFixed(2) + 'x'];
    if (many) cells.push(Math.min(...ratios).toFixed(2) + 'x', spread(quiet), spread(busy), spread(busy1));
    return cells;
  });
  const over = many ? `medians over ${rounds.length} rounds; ` : '';
  return alignRight([head, ...rows]) + `${c.unit}; ${over}busy = beside ${competitorDoc[competitor]}\n`;
}

/** GFLOP/s per shape at N and 1 threads, quiet and busy, and the N-thread speed over the 1-thread one when busy. */
export function gemmBusyTable(rounds: readonly BusyResults<readonly GemmRow[]>[], competitor: Competitor): string {
  return busyTable(rounds, competitor, {
    head: ['m', 'k', 'n'],
    label: (r) => [String(r.m), String(r.k), String(r.n)],
    speed: (r) => r.gflops,
    show: (g) => g.toFixed(1),
    unit: 'GFLOP/s (median)',
  });
}

/** ms per step per variant at N and 1 threads, quiet and busy, and the N-thread speed over the 1-thread one when busy. */
export function trainBusyTable(rounds: readonly BusyResults<readonly TrainRow[]>[], competitor: Competitor): string {
  return busyTable(rounds, competitor, {
    head: ['variant', 'capacity'],
    label: (r) => [r.variant, String(r.capacity)],
    speed: (r) => 1 / r.msPerStep,
    show: (s) => (1 / s).toFixed(1),
    unit: 'ms per step (median); the ratios are speeds (1-thread ms / N-thread ms)',
  });
}

/** Rows of cells, right-aligned in columns two spaces apart. */
function alignRight(cells: readonly string[][]): string {
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((row) => row[j]!.length)));
  return cells.map((row) => row.map((c, j) => c.padStart(widths[j]!)).join('  ')).join('\n') + '\n';
}

/** Exactly `{"gemm":[{"m":…,"k":…,"n":…,"gflops":…,"threads":…}, …]}` and a newline. */
export function gemmJson(rows: readonly GemmRow[]): string {
  return JSON.stringify({ gemm: rows.map((r) => ({ m: r.m, k: r.k, n: r.n, gflops: r.gflops, threads: r.threads })) }) + '\n';
}

/** Exactly `{"block":{"fwdMs":…,"fwdBwdMs":…}}` and a newline. */
export function blockJson(t: BlockTimes): string {
  return JSON.stringify({ block: { fwdMs: t.fwdMs, fwdBwdMs: t.fwdBwdMs } }) + '\n';
}

export function gemmTable(rows: readonly GemmRow[]): string {
  return alignRight([['m', 'k', 'n', 'GFLOP/s', 'threads'], ...rows.map((r) => [r.m, r.k, r.n, r.gflops.toFixed(1), r.threads].map(String))]);
}

export function blockTable(t: BlockTimes): string {
  return formatRows([
    ['forward', `${t.fwdMs.toFixed(2)} ms`],
    ['forward + backward', `${t.fwdBwdMs.toFixed(2)} ms`],
  ], '');
}

function repeatsOpt(opts: BenchOpts): { repeats?: number } {
  const repeats = optionValue<number | undefined>('repeats', positiveInt('repeats'), opts.repeats, undefined);
  return repeats === undefined ? {} : { repeats };
}

async function backendLine(): Promise<string> {
  const { backendInfo } = await import('../kernels/index.js');
  return `backend: ${backendInfo()}\n`;
}
