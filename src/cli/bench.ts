// `mod bench gemm|block`: the engine's micro-benchmarks, as a table or as JSON (`--json`: stdout holds only it).
import type { Command } from 'commander';
import { formatRows } from './format.js';
import type { Io } from './io.js';
import { optionValue, positiveInt } from './options.js';

interface BenchOpts {
  json?: boolean;
  repeats?: string;
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

export function registerBench(program: Command, io: Io): void {
  const bench = program.command('bench').description('micro-benchmarks of the engine on the active backend');
  bench
    .command('gemm')
    .description('matmul throughput (GFLOP/s) at several shapes')
    .option('--json', 'print only {"gemm": [...]} on stdout')
    .option('--repeats <n>', 'timed repeats per shape (median)')
    .action(async (opts: BenchOpts) => {
      const repeats = repeatsOpt(opts);
      const { runGemmBench } = await import('../bench/gemm.js');
      const rows = runGemmBench(repeats);
      io.out(opts.json ? gemmJson(rows) : gemmTable(rows) + (await backendLine()));
    });
  bench
    .command('block')
    .description('forward and forward+backward time of one transformer block')
    .option('--json', 'print only {"block": {...}} on stdout')
    .option('--repeats <n>', 'timed repeats (median)')
    .action(async (opts: BenchOpts) => {
      const repeats = repeatsOpt(opts);
      const { runBlockBench } = await import('../bench/block.js');
      const times = runBlockBench(repeats);
      io.out(opts.json ? blockJson(times) : blockTable(times) + (await backendLine()));
    });
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
  const cells = [['m', 'k', 'n', 'GFLOP/s', 'threads'], ...rows.map((r) => [r.m, r.k, r.n, r.gflops.toFixed(1), r.threads].map(String))];
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((row) => row[j]!.length)));
  return cells.map((row) => row.map((c, j) => c.padStart(widths[j]!)).join('  ')).join('\n') + '\n';
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
