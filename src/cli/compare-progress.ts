// Progress across a whole comparison: the current run, its step, overall progress and ETA, and the best val loss
// so far per variant. On a terminal one status line is redrawn in place (at most 4 times a second) and messages
// scroll above it; otherwise plain lines are printed at the start of each run and at each evaluation.
//
// Overall progress is measured in training FLOPs (`mod compare`: every run spends the same budget), and the ETA
// assumes the rest runs at the FLOP rate seen so far in this session, evaluation included: variants with different
// speeds make it drift a little. Reused runs and the resumed part of a run count as done but not towards the rate.
// `mod sweep` shows its whole sweep with it, the later runs as placeholders until they are planned.
import { formatDuration, formatSi } from '../format.js';
import type { ProgressStream } from './progress.js';

export interface ProgressRun {
  name: string;
  variant: string;
  steps: number;
  flopsPerStep: number;
}

export interface CompareProgressOptions {
  runs: readonly ProgressRun[];
  stream: ProgressStream;
  /** Default stream.isTTY. */
  tty?: boolean;
  /** Clock in ms (tests). */
  now?: () => number;
}

const REDRAW_MS = 250;

export class CompareProgress {
  private readonly runs: ProgressRun[];
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly t0: number;
  private totalFlops: number;
  /** FLOPs counted as done without being trained in this session. */
  private skippedFlops = 0;
  /** Iteration the current run started from (its checkpoint's when resumed). */
  private startIter = 0;
  private readonly best = new Map<string, number>();
  private current = -1;
  private iter = 0;
  private doneFlops = 0;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(opts: CompareProgressOptions) {
    this.runs = [...opts.runs];
    this.stream = opts.stream;
    this.tty = opts.tty ?? opts.stream.isTTY === true;
    this.now = opts.now ?? ((): number => performance.now());
    this.t0 = this.now();
    this.totalFlops = opts.runs.reduce((s, r) => s + r.steps * r.flopsPerStep, 0);
    for (const r of opts.runs) if (!this.best.has(r.variant)) this.best.set(r.variant, Number.NaN);
  }

  /** Run `index` of the plan starts. */
  startRun(index: number): void {
    this.finishCurrent();
    this.current = index;
    this.iter = 0;
    this.startIter = 0;
    const r = this.runs[index]!;
    this.log(`[${index + 1}/${this.runs.length}] ${r.name}: ${r.steps} steps of ${formatSi(r.flopsPerStep, 'FLOP')}`);
  }

  /** The current run is finished already: done, but not towards the rate. */
  reused(): void {
    const r = this.runs[this.current]!;
    this.skippedFlops += r.steps * r.flopsPerStep;
    this.startIter = r.steps;
    this.iter = r.steps;
  }

  /** The current run continues from its checkpoint at `iteration`. */
  resumed(iteration: number): void {
    this.skippedFlops += iteration * this.runs[this.current]!.flopsPerStep;
    this.startIter = iteration;
    this.iter = iteration;
  }

  /** Replaces the (placeholder) runs from `first` on, not started yet, by the planned ones. */
  setRuns(first: number, runs: readonly ProgressRun[]): void {
    this.runs.splice(first, this.runs.length - first, ...runs);
    this.totalFlops = this.runs.reduce((s, r) => s + r.steps * r.flopsPerStep, 0);
    for (const r of runs) if (!this.best.has(r.variant)) this.best.set(r.variant, Number.NaN);
  }

  private finishCurrent(): void {
    const r = this.runs[this.current];
    if (r !== undefined) this.doneFlops += (r.steps - this.startIter) * r.flopsPerStep;
  }

  step(iter: number): void {
    this.iter = iter;
    if (this.tty && this.now() - this.lastDraw >= REDRAW_MS) this.draw();
  }

  /** An evaluation of the current run. */
  evaluated(iter: number, valLoss: number): void {
    const r = this.runs[this.current]!;
    const b = this.best.get(r.variant)!;
    if (Number.isNaN(b) || valLoss < b) this.best.set(r.variant, valLoss);
    if (!this.tty) this.stream.write(`${this.status()} | val ${valLoss.toFixed(4)} at iter ${iter}\n`);
    else this.draw();
  }

  /** A message above the status line (a plain line off a terminal). */
  log(line: string): void {
    if (this.tty) {
      this.clear();
      this.stream.write(line + '\n');
      this.draw();
    } else {
      this.stream.write(line + '\n');
    }
  }

  stop(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** Training FLOPs done in this session (reused and resumed parts excluded). */
  private trainedFlops(): number {
    const r = this.runs[this.current];
    return this.doneFlops + (r === undefined ? 0 : (this.iter - this.startIter) * r.flopsPerStep);
  }

  /** Fraction of all training FLOPs done, in [0, 1]. */
  fraction(): number {
    const flops = this.skippedFlops + this.trainedFlops();
    return this.totalFlops === 0 ? 1 : Math.min(1, flops / this.totalFlops);
  }

  /** Seconds left, or NaN before any progress in this session. */
  etaSeconds(): number {
    const trained = this.trainedFlops();
    if (trained <= 0) return Number.NaN;
    const left = Math.max(0, this.totalFlops - this.skippedFlops - trained);
    return (((this.now() - this.t0) / 1000) * left) / trained;
  }

  /** `[2/3 mod-s1337] iter 40/90 | 51% | ETA 3m10s | best val: dense 2.1034, mod 2.1501, random ?` */
  status(): string {
    const r = this.runs[this.current];
    const head = r === undefined ? '[-]' : `[${this.current + 1}/${this.runs.length} ${r.name}] iter ${this.iter}/${r.steps}`;
    const best = [...this.best].map(([v, l]) => `${v} ${Number.isNaN(l) ? '?' : l.toFixed(4)}`).join(', ');
    return `${head} | ${(this.fraction() * 100).toFixed(0)}% | ETA ${formatDuration(this.etaSeconds())} | best val: ${best}`;
  }

  private draw(): void {
    this.lastDraw = this.now();
    // Cut to the terminal's width so the line never wraps (a wrapped line cannot be redrawn in place).
    const cols = (this.stream as { columns?: number }).columns ?? 0;
    const text = this.status();
    this.stream.write(`\r\x1b[2K${cols > 20 ? text.slice(0, cols - 1) : text}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
  }
}
