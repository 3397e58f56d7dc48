// What `mod compare` and `mod sweep` show while they train many runs: the progress of the whole job (one status line
// on a terminal), notices above it, each run's own report in its train.log, and Ctrl-C handling (the first stops
// the current run after its step with a checkpoint, the second ends the process).
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutorHooks } from '../compare/executor.js';
import type { PlannedRun } from '../compare/plan.js';
import { ensureDir } from '../train/out-dir.js';
import { CompareProgress, type ProgressRun } from './compare-progress.js';
import type { Io } from './io.js';
import { signalExitCode, StopSignal } from './stop-signal.js';
import { progressStream } from './train.js';
import { TrainReport } from './train-report.js';

/** The hooks both commands share, plus onTrained (every run done: the status line ends). */
export type SharedHooks = Omit<ExecutorHooks, 'onRunDone'> & { onTrained(): void };

export class RunsView {
  private progress: CompareProgress | null = null;
  /** The run being trained, for the Ctrl-C and stop messages. */
  current: PlannedRun | null = null;
  readonly stop: StopSignal;

  /** `what` names the whole job in messages ("the comparison", "the sweep"). */
  constructor(private readonly io: Io, private readonly what: string) {
    this.stop = new StopSignal({
      onFirst: (signal) => this.say(`${signal}: stopping ${this.current?.name ?? what} after this step and saving its checkpoint (press Ctrl-C again to abort without saving)`),
      onAbort: (signal) => {
        this.progress?.stop();
        io.err(`${signal}: aborted\n`);
        process.exit(signalExitCode(signal));
      },
    });
  }

  /** A line above the status line, or a plain line when there is none. */
  readonly say = (line: string): void => (this.progress === null ? this.io.out(line + '\n') : this.progress.log(line));

  /** Starts the status line over these runs. */
  show(runs: ProgressRun[]): void {
    this.progress = new CompareProgress({ runs, stream: progressStream(this.io) });
  }

  /** Replaces the runs from index `first` on (runs planned once earlier ones are done). */
  setRuns(first: number, runs: ProgressRun[]): void {
    this.progress?.setRuns(first, runs);
  }

  hooks(): SharedHooks {
    return {
      signal: this.stop.controller.signal,
      onNotice: this.say,
      onRunStart: (i, planned) => {
        this.current = planned;
        this.progress?.startRun(i);
      },
      onRunReused: () => this.progress?.reused(),
      onRunResumed: (_i, iteration) => this.progress?.resumed(iteration),
      onStep: (iter) => this.progress?.step(iter),
      onEval: (r) => this.progress?.evaluated(r.iter, r.valLoss),
      onTrained: () => this.endProgress(),
      runReport: runLog,
    };
  }

  /** Ends the status line and the Ctrl-C handlers. */
  dispose(): void {
    this.endProgress();
    this.stop.dispose();
  }

  /** After a stopped job: says where the current run's checkpoint is, then exits as the signal asks. */
  exitStopped(fallbackOut: string, advice: string): never {
    this.io.out(`stopped during ${this.current?.name ?? this.what}; its checkpoint is in ${this.current?.run.train.out ?? fallbackOut}. ${advice}\n`);
    process.exit(signalExitCode(this.stop.signal ?? 'SIGINT'));
  }

  private endProgress(): void {
    this.progress?.stop();
    this.progress = null;
  }
}

/** A run's own report, as `mod train` prints it, in train.log of its run directory (appended to when resumed). */
export function runLog(planned: PlannedRun, resumed: boolean): ReturnType<NonNullable<ExecutorHooks['runReport']>> {
  const dir = planned.run.train.out;
  ensureDir(dir);
  const file = path.join(dir, 'train.log');
  if (!resumed) writeFileSync(file, '');
  const write = (text: string): void => appendFileSync(file, text);
  const report = new TrainReport(planned.run, { out: write, err: write }, { write });
  return { callbacks: report.callbacks(), finish: (r) => report.finish(r) };
}
