// `mod bench gemm|block`: the engine's micro-benchmarks, as a table or as JSON (`--json`: stdout holds only it).
import type { Command } from 'commander';
import type { BusyResults } from '../bench/busy.js';
import { formatRows } from './format.js';
import type { Io } from './io.js';
import { optionValue, positiveInt } from './options.js';

interface BenchOpts {
  json?: boolean;
  repeats?: string;
  busy?: boolean;
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
  run(opts: { repeats?: number }): Promise<R>;
  json(result: R): string;
  table(result: R): string;
  /** `--busy`: the table of the runs at N and 1 threads, quiet and beside a competitor process. */
  busyTable?(results: BusyResults<R>): string;
}

function addBench<R>(bench: Command, io: Io, spec: BenchSpec<R>): void {
  const cmd = bench
    .command(spec.name)
    .description(spec.description)
    .option('--json', `print only {"${spec.name}": ...} on stdout`)
    .option('--repeats <n>', spec.repeatsDoc);
  const busyTable = spec.busyTable;
  if (busyTable) cmd.option('--busy', 'also measure beside a CPU-bound competitor process, at N threads and at 1 thread');
  cmd.action(async (opts: BenchOpts) => {
    const run = (): Promise<R> => spec.run(repeatsOpt(opts));
    if (opts.busy && busyTable) {
      const r = await (await import('../bench/busy.js')).runBusy(run);
      io.out(opts.json ? busyJson(spec, r) : busyTable(r) + (await backendLine()));
      return;
    }
    const result = await run();
    io.out(opts.json ? spec.json(result) : spec.table(result) + (await backendLine()));
  });
}

/** `{"NAME":{"threads":N,"quiet":…,"quiet1":…,"busy":…,"busy1":…}}`, each part as the plain --json gives it. */
function busyJson<R>(spec: BenchSpec<R>, r: BusyResults<R>): string {
  const part = (x: R): unknown => (JSON.parse(spec.json(x)) as Record<string, unknown>)[spec.name];
  return JSON.stringify({ [spec.name]: { threads: r.threads, quiet: part(r.quiet), quiet1: part(r.quiet1), busy: part(r.busy), busy1: part(r.busy1) } }) + '\n';
}

export function registerBench(program: Command, io: Io): void {
  const bench = program.command('bench').description('micro-benchmarks of the engine on the active backend');
  addBench(bench, io, {
    name: 'gemm',
    description: 'matmul throughput (GFLOP/s) at several shapes',
    repeatsDoc: 'timed repeats per shape (median)',
    run: async (o) => (await import('../bench/gemm.js')).runGemmBench(o),
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

/** GFLOP/s per shape at N and 1 threads, quiet and busy, and the N-thread speed over the 1-thread one when busy. */
export function gemmBusyTable(r: BusyResults<readonly GemmRow[]>): string {
  const n = r.threads;
  return alignRight([
    ['m', 'k', 'n', `quiet ${n}t`, 'quiet 1t', `busy ${n}t`, 'busy 1t', `busy ${n}t/1t`],
    ...r.quiet.map((q, i) => {
      const [q1, b, b1] = [r.quiet1[i]!, r.busy[i]!, r.busy1[i]!];
      return [String(q.m), String(q.k), String(q.n), ...[q, q1, b, b1].map((x) => x.gflops.toFixed(1)), (b.gflops / b1.gflops).toFixed(2) + 'x'];
    }),
  ]) + 'GFLOP/s (median); busy = beside one CPU-bound competitor process\n';
}

/** ms per step per variant at N and 1 threads, quiet and busy, and the N-thread speed over the 1-thread one when busy. */
export function trainBusyTable(r: BusyResults<readonly TrainRow[]>): string {
  const n = r.threads;
  return alignRight([
    ['variant', 'capacity', `quiet ${n}t`, 'quiet 1t', `busy ${n}t`, 'busy 1t', `busy ${n}t/1t speed`],
    ...r.quiet.map((q, i) => {
      const [q1, b, b1] = [r.quiet1[i]!, r.busy[i]!, r.busy1[i]!];
      return [q.variant, String(q.capacity), ...[q, q1, b, b1].map((x) => x.msPerStep.toFixed(1)), (b1.msPerStep / b.msPerStep).toFixed(2) + 'x'];
    }),
  ]) + 'ms per step (median); busy = beside one CPU-bound competitor process\n';
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
