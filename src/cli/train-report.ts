// What `mod train` shows while training, from the trainer's callbacks: the data, model and step lines before the
// first step, a progress bar on a terminal (plain lines every logInterval otherwise), one line per evaluation,
// Ctrl-C handling, and the closing lines. `mod compare` writes the same report of each of its runs to train.log.
import { median } from '../bench/stats.js';
import { formatCount, formatDuration, formatShort, formatSi } from '../format.js';
import { backendInfo } from '../kernels/index.js';
import type { TrainRun } from '../train/config.js';
import type { LogRecord } from '../train/run-log.js';
import type { TrainCallbacks, TrainResult, TrainStart } from '../train/trainer.js';
import type { Io } from './io.js';
import { createProgress, type Progress, type ProgressStream } from './progress.js';
import { signalExitCode, StopSignal } from './stop-signal.js';

export class TrainReport {
  private progressBar: Progress | null = null;
  private start = 0;
  /** Iteration of the last checkpoint on disk, or -1. */
  private savedAt = -1;

  constructor(private readonly run: TrainRun, private readonly io: Io, private readonly stream: ProgressStream) {}

  /** The trainer callbacks that print this report. */
  callbacks(): TrainCallbacks {
    return {
      onStart: (s) => this.started(s),
      onNotice: (message) => this.io.out(message + '\n'),
      onStep: (s) => this.progress().update(s.iteration, { loss: s.loss, tokensPerSec: s.tokensPerSec }),
      onEval: (r) => this.progress().log(evalLine(r)),
      onCheckpoint: (c) => (this.savedAt = c.iteration),
    };
  }

  /** Installs the Ctrl-C handlers: the first aborts the returned signal, the second ends the process. */
  stopSignal(): StopSignal {
    return new StopSignal({
      onFirst: (signal) => this.progress().log(`${signal}: stopping after this step and saving a checkpoint (press Ctrl-C again to abort without saving)`),
      onAbort: (signal) => {
        this.stop();
        const out = this.run.train.out;
        this.io.err(`${signal}: aborted; ${this.savedAt >= 0 ? `the checkpoint of iteration ${this.savedAt} in ${out} is intact` : 'no checkpoint was saved'}\n`);
        process.exit(signalExitCode(signal));
      },
    });
  }

  /** The closing lines: where training stopped, or the final losses and what to run next. */
  finish(r: TrainResult): void {
    this.stop();
    const out = this.run.train.out;
    if (r.aborted) {
      this.io.out(`stopped at iteration ${r.iteration}/${this.run.train.maxIters}; checkpoint saved in ${out}\n`
        + 'to continue, run the same `mod train` command again with --resume added\n');
      return;
    }
    if (r.iteration === this.start && r.last === null) return; // nothing was trained (the notice said why)
    const last = r.last;
    if (last !== null) {
      this.io.out(`done: iteration ${last.iter}, train loss ${last.trainLoss.toFixed(4)}, val loss ${last.valLoss.toFixed(4)}`
        + ` (best ${r.bestValLoss?.toFixed(4) ?? '?'}) in ${formatDuration(last.elapsedMs / 1000)}`
        + (r.stepMs.length > 0 ? `, median ${median(r.stepMs).toFixed(1)} ms/step\n` : '\n'));
    }
    this.io.out(`checkpoint: ${out} (config.json, model.safetensors, optimizer.safetensors; log.jsonl)\n`);
    this.io.out(`try: npx mod sample --ckpt ${out}   or   npx mod eval --ckpt ${out}\n`);
  }

  stop(): void {
    this.progressBar?.stop();
  }

  private started(s: TrainStart): void {
    this.start = s.iteration;
    this.savedAt = s.resumed ? s.iteration : -1;
    const { tokenizer: tok, train, val, source } = s.data;
    this.io.out(`data: ${source ?? 'token arrays'}\n`);
    this.io.out(`      ${tok.kind} tokenizer, vocab ${tok.vocabSize} | train ${formatCount(train.length)} tokens, val ${formatCount(val.length)} tokens\n`);
    this.io.out(`model: ${formatShort(s.model.numParams())} parameters | ${formatSi(s.flopsPerToken, 'FLOP')} training FLOPs per token`
      + ` | backend ${backendInfo()}\n`);
    this.io.out(`training: ${formatCount(s.tokensPerStep)} tokens per step, ${s.resumed ? `from iteration ${s.iteration} ` : ''}to ${this.run.train.maxIters}`
      + ` | checkpoint and log.jsonl in ${this.run.train.out}\n`);
  }

  private progress(): Progress {
    this.progressBar ??= createProgress({ total: this.run.train.maxIters, start: this.start, logInterval: this.run.train.logInterval, stream: this.stream });
    return this.progressBar;
  }
}

function evalLine(r: LogRecord): string {
  return `iter ${r.iter}: train loss ${r.trainLoss.toFixed(4)}, val loss ${r.valLoss.toFixed(4)} | lr ${r.lr.toExponential(2)}`
    + ` | ${formatSi(r.tokensSeen, 'tokens')} | ${formatSi(r.trainFlops, 'FLOP')} | ${formatDuration(r.elapsedMs / 1000)}`;
}
