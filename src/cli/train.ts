// `mod train`: resolve preset + overrides, print the resolved config, run the trainer with its report. A run stopped
// by Ctrl-C (SIGINT) or SIGTERM saves a checkpoint and exits with 128 + the signal's number (130, 143), as shells
// report it.
import type { Command } from 'commander';
import { formatRouting } from './info.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import type { ProgressStream } from './progress.js';
import { addConfigHelp, formatRun, resolveRun } from './run-config.js';
import { signalExitCode } from './stop-signal.js';
import { TrainReport } from './train-report.js';

export function registerTrain(program: Command, io: Io): void {
  const cmd = program
    .command('train')
    .description('train a model (default: the brown-small preset on the embedded Brown corpus)')
    .usage('[--preset NAME] [--key=value ...] [--out DIR] [--data PATH] [--resume | --overwrite] [--force] [--skipNonFinite=N]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, self: Command) => {
      const run = resolveRun(self.args, 'train');
      io.out(formatRun(run, true) + formatRouting(run));
      const { train } = await import('../train/trainer.js');
      const report = new TrainReport(run, io, progressStream(io));
      const stop = report.stopSignal();
      try {
        const result = await train(run, { ...report.callbacks(), signal: stop.controller.signal });
        report.finish(result);
        if (result.aborted) process.exit(signalExitCode(stop.signal ?? 'SIGINT'));
      } finally {
        report.stop();
        stop.dispose();
      }
    });
  addConfigHelp(cmd, true, [
    '',
    'Command options:',
    '  --resume           continue from the checkpoint in --out (same model settings)',
    '  --overwrite        start a new run in an --out that holds a checkpoint (replaced at the first evaluation)',
    '  --force            train even when the memory estimate exceeds the memory available',
    '  --skipNonFinite=N  skip up to N steps whose loss or gradient norm is NaN/infinite (default 0: stop at the first)',
    '',
    'One run at a time per --out (a lock file, train.lock). A run that diverges (NaN/infinite loss) stops with an',
    'error and leaves its last good checkpoint.',
    '',
    'Ctrl-C stops after the current step and saves a checkpoint (exit code 130); press it again to abort at once.',
  ]);
}

/** The terminal for the process's own output; plain lines through io otherwise (tests, files). */
export function progressStream(io: Io): ProgressStream {
  return io === processIo ? process.stdout : { write: (text: string) => io.out(text) };
}
