// Ctrl-C handling for `mod train` and `mod compare`. The first SIGINT/SIGTERM aborts the trainer's AbortSignal, which
// stops the loop after the current step and saves a checkpoint; a second one ends the process at once, leaving the
// previous checkpoint, which the crash-safe writer keeps valid even mid-save. Training is synchronous between
// steps, so a signal is seen when the loop yields to the event loop (after every step and every evaluation batch).
//
// A signal arriving within DUPLICATE_MS of the first is taken as the same Ctrl-C: `npx` (npm) forwards the
// terminal's SIGINT to the shell that runs the command, and where that shell execs the command (bash), this
// process gets one Ctrl-C twice. Two signals that arrive during one step are handled together, so they count once.

import { constants } from 'node:os';

const DUPLICATE_MS = 500;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The conventional exit status after a signal: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export interface StopSignalOptions {
  /** Told once, when the first signal arrives. */
  onFirst(signal: NodeJS.Signals): void;
  /** The second signal: must not return (e.g. print and process.exit). */
  onAbort(signal: NodeJS.Signals): never;
}

export class StopSignal {
  private firstAt = -1;
  /** The first signal received, or null. */
  signal: NodeJS.Signals | null = null;
  /** Aborted by the first signal: pass `.signal` to the trainer. */
  readonly controller = new AbortController();
  private readonly handler = (signal: NodeJS.Signals): void => this.receive(signal);

  constructor(private readonly opts: StopSignalOptions) {
    for (const s of SIGNALS) process.on(s, this.handler);
  }

  get requested(): boolean {
    return this.firstAt >= 0;
  }

  /** Removes the handlers (Node's default handling returns). */
  dispose(): void {
    for (const s of SIGNALS) process.removeListener(s, this.handler);
  }

  private receive(signal: NodeJS.Signals): void {
    const now = performance.now();
    if (this.firstAt < 0) {
      this.firstAt = now;
      this.signal = signal;
      this.opts.onFirst(signal);
      this.controller.abort(signal);
    } else if (now - this.firstAt > DUPLICATE_MS) {
      this.opts.onAbort(signal);
    }
  }
}
