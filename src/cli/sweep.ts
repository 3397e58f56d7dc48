// `mod sweep`: isoFLOP curves of dense and Mixture-of-Depths models, fitted optima and the paper's claims checked
// with seeds and spread (docs/sweep.md). Ctrl-C (SIGINT) or SIGTERM stops the current run after its step with a
// checkpoint and exits with 128 + the signal's number; `--resume` continues.
import type { Command } from 'commander';
import type { SweepOptions, SweepRun } from '../sweep/plan.js';
import type { SweepHooks, SweepResult } from '../sweep/run.js';
import type { ProgressRun } from './compare-progress.js';
import type { Io } from './io.js';
import { addConfigHelp } from './run-config.js';
import { RunsView } from './runs-view.js';

export function registerSweep(program: Command, io: Io): void {
  const cmd = program
    .command('sweep')
    .description('isoFLOP sweep: a ladder of model sizes per budget, dense vs Mixture-of-Depths, fitted optima and the paper\'s claims')
    .usage('--budgets LIST [--preset NAME] [--sizes LADDER] [--variants dense,mod[,random]] [--seeds N] [--claim-seeds N] [--claims-budget FLOPS] [--evals N] [--max-epochs E] [--out DIR] [--runs DIR] [--resume] [--key=value ...]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, self: Command) => {
      const { parseSweepArgs } = await import('./sweep-options.js');
      await sweepCommand(parseSweepArgs(self.args), io);
    });
  addConfigHelp(cmd, true, [
    '',
    'Command options:',
    '  --budgets=LIST       training FLOPs of each isoFLOP curve (required; e.g. 3e12,1e13,3e13); every run spends exactly its budget',
    '  --sizes=LADDER       model sizes L<layers>C<width>[H<heads>] (heads of size 32 unless given)',
    '                       (default L2C64,L3C96,L4C128,L5C160,L6C192: 0.12M to 2.7M parameters on byte-level Brown)',
    '  --variants=LIST      isoFLOP curves for some of dense, mod, random (default dense,mod)',
    '  --seeds=N            seeds per isoFLOP point: seed, seed+1, ... (default 1); the report gives mean ± sd',
    '  --claim-seeds=N      seeds of learned and of random routing at the MoD optimum size (claim c; default 3;',
    '                       0 trains no claim runs); claim e adds capacity 0.5 and routing every 4th block there',
    '  --claims-budget=FLOPS  the budget of claims c-e (one of --budgets; default the largest)',
    '  --evals=N            evaluations and checkpoints per run at evenly spaced FLOPs (default 4)',
    '  --max-epochs=E       skip isoFLOP runs that would repeat the training split more than E times (default: none;',
    '                       the report lists them, and flags runs past 4 epochs either way)',
    '  --out=DIR            runs.csv, isoflop.svg, optimum.svg and report.md (default out/sweep)',
    '  --runs=DIR           run directories b<budget>/<size>-<arm>-s<seed> (default DIR/runs)',
    '  --resume             keep finished runs of the same settings and continue a stopped run from its checkpoint',
    '',
    'maxIters, lrDecayIters, evalInterval and out are set from the budget; warmupIters keeps its share of the preset\'s',
    'maxIters unless given. Ctrl-C stops the current run after its step and saves its checkpoint (no report).',
  ]);
}

function progressRun(r: SweepRun): ProgressRun {
  const p = r.planned;
  return { name: p.name, variant: r.arm, steps: p.run.train.maxIters, flopsPerStep: p.flopsPerStep };
}

async function sweepCommand(opts: SweepOptions, io: Io): Promise<void> {
  const { runSweep } = await import('../sweep/run.js');
  const view = new RunsView(io, 'the sweep');
  const hooks: SweepHooks = {
    ...view.hooks(),
    onPlan: (runs, claimRuns) => {
      printPlan(io, opts, runs, claimRuns);
      // Claim runs are placeholders of one budget each until the MoD optimum is known.
      const placeholders = Array.from({ length: claimRuns }, (_, i): ProgressRun => ({ name: `claim run ${i + 1}`, variant: 'mod', steps: 1, flopsPerStep: opts.claimsBudget }));
      view.show([...runs.map(progressRun), ...placeholders]);
    },
    onClaimsPlan: (runs, first) => {
      view.say(`claims at the MoD optimum: ${runs.length} more runs (${runs.map((r) => r.planned.name).join(', ') || 'none'})`);
      view.setRuns(first, runs.map(progressRun));
    },
    onRunDone: (r) => view.say(`${r.planned.name}: val loss ${r.figures.valLoss.toFixed(4)} (whole split), ${r.trainStepMs.toFixed(1)} ms/step`),
  };
  let result: SweepResult;
  try {
    result = await runSweep(opts, hooks);
  } finally {
    view.dispose();
  }
  if (result.aborted) view.exitStopped(opts.out, 'Run the same command with --resume to continue.');
  printResult(io, result, opts);
}

function printPlan(io: Io, opts: SweepOptions, runs: readonly SweepRun[], claimRuns: number): void {
  io.out(`mod sweep: preset ${opts.base.preset}, budgets ${opts.budgets.map((b) => b.toExponential(1)).join(', ')}, ${runs.length} isoFLOP runs`
    + ` + up to ${claimRuns} claim runs, output in ${opts.out}\n`);
  for (const r of runs.filter((x) => x.budget === opts.budgets[0] && x.planned.seed === opts.base.train.seed)) {
    io.out(`  ${r.planned.name.padEnd(28)} ${r.params.toLocaleString('en-US').padStart(10)} params | ${r.planned.forwardFlops.toExponential(3)} FLOPs/forward | ${r.planned.run.train.maxIters} steps\n`);
  }
}

function printResult(io: Io, result: SweepResult, opts: SweepOptions): void {
  // The claims table: the '|' lines right after the "## Claims" heading and its blank line.
  const lines = (result.report ?? '').split('\n');
  const after = lines.slice(lines.indexOf('## Claims') + 2);
  const end = after.findIndex((l) => !l.startsWith('|'));
  io.out(`\n${after.slice(0, end < 0 ? after.length : end).join('\n')}\n\n`);
  io.out(`wrote ${result.written.join(', ')} in ${opts.out}\n`);
}
