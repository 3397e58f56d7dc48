// `mod compare`: dense vs Mixture-of-Depths (learned and random routing) at equal training FLOPs (docs/compare.md).
// A run stopped by Ctrl-C (SIGINT) or SIGTERM keeps its checkpoint and exits with 128 + the signal's number.
import type { Command } from 'commander';
import type { CompareHooks, CompareResult } from '../compare/run.js';
import type { CompareOptions, Plan } from '../compare/plan.js';
import type { Io } from './io.js';
import { addConfigHelp } from './run-config.js';
import { RunsView } from './runs-view.js';

export function registerCompare(program: Command, io: Io): void {
  const cmd = program
    .command('compare')
    .description('train dense and Mixture-of-Depths models at equal training FLOPs; write curves, plots and a report')
    .usage('--budget FLOPS [--preset NAME] [--variants dense,mod,random] [--seeds N] [--match none|depth|width] [--evals N] [--out DIR] [--runs DIR] [--reuse] [--key=value ...]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, self: Command) => {
      const { parseCompareArgs } = await import('./compare-options.js');
      await compareCommand(parseCompareArgs(self.args), io);
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
    '  --reuse              keep finished runs of the same settings in the run directories instead of training again,',
    '                       and continue a run stopped part-way from its checkpoint (rewrites the outputs)',
    '',
    'maxIters, lrDecayIters, evalInterval and out are set from the budget; warmupIters keeps its share of the preset\'s',
    'maxIters unless given. Ctrl-C stops the current run after its step and saves its checkpoint (no report).',
  ]);
}

async function compareCommand(opts: CompareOptions, io: Io): Promise<void> {
  const { runComparison } = await import('../compare/run.js');
  const view = new RunsView(io, 'the comparison');
  const hooks: CompareHooks = {
    ...view.hooks(),
    onPlan: (plan) => {
      printPlan(io, plan, opts);
      view.show(plan.runs.map((r) => ({ name: r.name, variant: r.variant, steps: r.run.train.maxIters, flopsPerStep: r.flopsPerStep })));
    },
    onRunDone: (r) => view.say(`${r.planned.name}: final val loss ${r.rows[r.rows.length - 1]!.valLoss.toFixed(4)}, ${r.trainStepMs.toFixed(1)} ms/step`),
  };
  let result: CompareResult;
  try {
    result = await runComparison(opts, hooks);
  } finally {
    view.dispose();
  }
  if (result.aborted) view.exitStopped(opts.out, 'No report was written.');
  printResult(io, result, opts);
}

function printPlan(io: Io, plan: Plan, opts: CompareOptions): void {
  io.out(`mod compare: preset ${opts.base.preset}, budget ${plan.budget.toExponential(3)} training FLOPs per run, ${plan.runs.length} runs, output in ${opts.out}\n`);
  for (const r of plan.runs.filter((x) => x.seed === opts.base.train.seed)) {
    const m = r.run.model;
    io.out(`  ${r.variant.padEnd(6)} nLayer=${m.nLayer} nEmbd=${m.nEmbd}${m.mod ? ` capacity=${m.mod.capacity} every=${m.mod.every} routing=${m.mod.routing}` : ''}`
      + ` | ${r.forwardFlops.toExponential(3)} FLOPs/forward | ${r.flopsPerStep.toExponential(3)} FLOPs/step | ${r.run.train.maxIters} steps | evals at ${r.evalIters.length} points\n`);
  }
}

function printResult(io: Io, result: CompareResult, opts: CompareOptions): void {
  const table = (result.report ?? '').split('\n').filter((l) => l.startsWith('|')).slice(0, 2 + opts.variants.length);
  io.out(`\n${table.join('\n')}\n\n`);
  io.out(`wrote ${result.written.join(', ')} in ${opts.out}\n`);
}
