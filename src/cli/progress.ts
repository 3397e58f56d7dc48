// Training progress: on a terminal a cli-progress bar (iter/total, loss, tokens/s, ETA); otherwise one plain line
// every `logInterval` iterations (and at the last), so logs stay readable when piped to a file.
import cliProgress from 'cli-progress';
import { formatDuration, formatSi } from '../format.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Last iteration (maxIters). */
  total: number;
  /** Iteration training starts from (non-zero on --resume). */
  start?: number;
  /** Plain mode: print every this many iterations. */
  logInterval: number;
  /** Default process.stdout. */
  stream?: ProgressStream;
  /** Default stream.isTTY. */
  tty?: boolean;
}

export interface ProgressStats {
  loss: number;
  tokensPerSec: number;
}

export interface Progress {
  /** Iteration `iter` (1-based: steps done) has finished. */
  update(iter: number, stats: ProgressStats): void;
  /** A message (e.g. an evaluation result) printed above the bar, or as a plain line. */
  log(line: string): void;
  /** Ends the output; required on a terminal, where the bar runs a redraw timer. */
  stop(): void;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stdout;
  const tty = opts.tty ?? stream.isTTY === true;
  return tty ? new BarProgress(opts, stream) : new LineProgress(opts, stream);
}

/** Seconds left, from the mean time per iteration since the first update. */
class Eta {
  private t0 = 0;
  private i0 = -1;
  constructor(private readonly total: number) {}
  seconds(iter: number): number {
    const now = performance.now();
    if (this.i0 < 0) {
      this.t0 = now;
      this.i0 = iter;
      return Number.NaN;
    }
    if (iter <= this.i0) return Number.NaN;
    return (((now - this.t0) / 1000) * (this.total - iter)) / (iter - this.i0);
  }
}

function statsText(stats: ProgressStats): string {
  return `loss ${stats.loss.toFixed(4)} | ${formatSi(stats.tokensPerSec, 'tok/s')}`;
}

class LineProgress implements Progress {
  private readonly eta: Eta;
  constructor(private readonly opts: ProgressOptions, private readonly stream: ProgressStream) {
    this.eta = new Eta(opts.total);
  }
  update(iter: number, stats: ProgressStats): void {
    const eta = this.eta.seconds(iter);
    if (iter % this.opts.logInterval !== 0 && iter !== this.opts.total) return;
    this.stream.write(`iter ${iter}/${this.opts.total} | ${statsText(stats)} | ETA ${formatDuration(eta)}\n`);
  }
  log(line: string): void {
    this.stream.write(line + '\n');
  }
  stop(): void {}
}

class BarProgress implements Progress {
  private readonly bars: cliProgress.MultiBar;
  private readonly bar: cliProgress.SingleBar;
  private readonly eta: Eta;
  constructor(opts: ProgressOptions, stream: ProgressStream) {
    this.eta = new Eta(opts.total);
    this.bars = new cliProgress.MultiBar({
      format: 'iter {value}/{total} {bar} {stats} | ETA {etaText}',
      stream: stream as NodeJS.WritableStream,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      forceRedraw: false,
    });
    this.bar = this.bars.create(opts.total, opts.start ?? 0, { stats: 'loss ? | ? tok/s', etaText: '?' });
  }
  update(iter: number, stats: ProgressStats): void {
    this.bar.update(iter, { stats: statsText(stats), etaText: formatDuration(this.eta.seconds(iter)) });
  }
  log(line: string): void {
    this.bars.log(line + '\n');
    this.bars.update(); // flush now: cli-progress only writes logged lines at its next redraw
  }
  stop(): void {
    this.bars.stop();
  }
}
