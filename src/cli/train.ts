// `mod train`: resolve preset + overrides, print the resolved config, run the trainer. A run stopped by Ctrl-C
// (SIGINT) or SIGTERM saves a checkpoint and exits with 128 + the signal's number (130, 143), as shells report it.
import type { Command } from 'commander';
import { resolveRun } from '../train/config.js';
import type { Io } from './io.js';
import { formatRouting } from './info.js';
import { addConfigHelp, formatRun } from './run-config.js';

export function registerTrain(program: Command, io: Io): void {
  const cmd = program
    .command('train')
    .description('train a model (default: the brown-small preset on the embedded Brown corpus)')
    .usage('[--preset NAME] [--key=value ...] [--out DIR] [--data PATH] [--resume]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, self: Command) => {
      const run = resolveRun(self.args, 'train');
      io.out(formatRun(run, true) + formatRouting(run));
      const { train, signalExitCode } = await import('../train/trainer.js');
      const result = await train(run, io);
      if (result.stoppedBy !== null) process.exit(signalExitCode(result.stoppedBy));
    });
  addConfigHelp(cmd, true, [
    '',
    'Command options:',
    '  --resume  continue from the checkpoint in --out (same model settings)',
    '',
    'Ctrl-C stops after the current step and saves a checkpoint (exit code 130); press it again to abort at once.',
  ]);
}
