// `mod train`: resolve preset + overrides, print the resolved config, run the trainer.
import type { Command } from 'commander';
import { resolveRun } from '../train/config.js';
import type { Io } from './io.js';
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
      io.out(formatRun(run, true));
      const { train } = await import('../train/trainer.js');
      await train(run, io);
    });
  addConfigHelp(cmd, true, ['', 'Command options:', '  --resume  continue from the checkpoint in --out (same configs)']);
}
