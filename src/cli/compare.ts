// `mod compare`: dense vs Mixture-of-Depths (learned and random routing) at equal training FLOPs (docs/compare.md).
// A run stopped by Ctrl-C (SIGINT) or SIGTERM keeps its checkpoint and exits with 128 + the signal's number.
import type { Command } from 'commander';
import type { Io } from './io.js';
import { addConfigHelp } from './run-config.js';

export function registerCompare(program: Command, io: Io): void {
  const cmd = program
    .command('compare')
    .description('train dense and Mixture-of-Depths models at equal training FLOPs; write curves, plots and a report')
    .usage('--budget FLOPS [--preset NAME] [--variants dense,mod,random] [--seeds N] [--match none|depth|width] [--evals N] [--out DIR] [--runs DIR] [--reuse] [--key=value ...]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, self: Command) => {
      const { parseCompareArgs } = await import('../compare/options.js');
      const opts = parseCompareArgs(self.args);
      const { runComparison } = await import('../compare/run.js');
      const result = await runComparison(opts, io);
      if (result.stoppedBy !== null) {
        const { signalExitCode } = await import('../train/trainer.js');
        process.exit(signalExitCode(result.stoppedBy));
      }
    });
  addConfigHelp(cmd, true, [
    '',
    'Command options:',
    '  --budget=FLOPS       training FLOPs every run spends (required; e.g. 3e13); sets maxIters and lrDecayIters per variant',
    '  --variants=LIST      some of dense, mod, random (default all three): dense drops the mod section; mod routes with',
    '                       a learned router (capacity/every from --mod.* or the preset, default 0.125 every 2nd block);',
    '                       random routes the same blocks at the same capacity by random scores',
    '  --seeds=N            repeat over seeds seed, seed+1, ... (default 1); the report gives mean ± sd',
    '  --match=none|depth|width  grow the MoD models to the dense FLOPs per forward pass (= per step): more layers in',
    '                       groups of `every`, or nEmbd in steps of 2·nHead; the closest size wins (default none)',
    '  --evals=N            evaluations per run at evenly spaced FLOPs (default 10)',
    '  --out=DIR            curves.csv, report.md and the SVG plots (default out/compare)',
    '  --runs=DIR           run directories <variant>-s<seed> with checkpoints (default DIR/runs)',
    '  --reuse              keep finished runs of the same settings in the run directories instead of training again',
    '                       (rewrites the outputs; a run stopped part-way is trained again from the start)',
    '',
    'maxIters, lrDecayIters, evalInterval and out are set from the budget; warmupIters keeps its share of the preset\'s',
    'maxIters unless given. Ctrl-C stops the current run after its step and saves its checkpoint (no report).',
  ]);
}
