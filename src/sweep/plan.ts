// What `mod sweep` trains. Phase 1, the isoFLOP curves: every budget × ladder size × variant × seed, each run
// planned to its budget as `mod compare` plans one (src/compare/plan.ts plannedRun). Phase 2, the claims, once the
// MoD optimum of the claims budget is known: learned against random routing at that size over claimSeeds seeds
// (claim c), and capacity 0.5 and routing every 4th block beside the MoD default (claim e). Runs are named by what
// they train, so a phase-2 run that phase 1 already trained is the same run (and directory).
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { paramCounts } from '../model/flops.js';
import type { TrainRun } from '../train/config.js';
import { modSection, plannedRun, type PlannedRun, type Variant, variantModel } from '../compare/plan.js';
import { type Size, sizedModel, sizeName } from './ladder.js';

/** A model family of the sweep: a variant, or the MoD variant with capacity 0.5 / routed every 4th block (claim e). */
export const ARMS = ['dense', 'mod', 'random', 'mod-c0.5', 'mod-every4'] as const;
export type Arm = (typeof ARMS)[number];

/** Capacity and routing period of the claim-e arms. */
export const CLAIM_E = { capacity: 0.5, every: 4 } as const;

export interface SweepOptions {
  base: TrainRun & { preset: string };
  budgets: number[];
  sizes: Size[];
  /** Variants of the isoFLOP curves. */
  variants: Variant[];
  /** Seeds of every isoFLOP point: base.train.seed, +1, ... */
  seeds: number;
  /** Seeds of learned and random routing at the MoD optimum (claim c); 0 trains no claim runs. */
  claimSeeds: number;
  /** The budget of claims c and e (one of budgets). */
  claimsBudget: number;
  /** Evaluations (and so checkpoints to resume from) per run, at evenly spaced FLOPs. */
  evals: number;
  /** Isoflop runs planned to repeat the training split more often than this are not trained (Infinity: none). */
  maxEpochs: number;
  out: string;
  runsDir: string;
  /** Reuse finished runs and continue stopped ones from their checkpoints. */
  resume: boolean;
  userKeys: Set<string>;
  argv: string[];
}

export interface SweepRun {
  planned: PlannedRun;
  budget: number;
  size: Size;
  arm: Arm;
  params: number;
}

/** `3e12`: the budget as a directory name. */
export function budgetName(budget: number): string {
  return budget.toExponential().replace('e+', 'e');
}

/** The model of an arm at a size. */
export function armModel(base: ModelConfig, size: Size, arm: Arm): ModelConfig {
  const sized = sizedModel(base, size);
  if (arm === 'dense' || arm === 'mod' || arm === 'random') return variantModel(sized, arm);
  const mod = modSection(sized);
  return { ...variantModel(sized, 'dense'), mod: arm === 'mod-c0.5' ? { ...mod, capacity: CLAIM_E.capacity } : { ...mod, every: CLAIM_E.every } };
}

/** One run: `b3e12/L4C128H4-mod-s1337` under runsDir. */
export function sweepRun(opts: SweepOptions, budget: number, size: Size, arm: Arm, seed: number): SweepRun {
  const model = armModel(opts.base.model, size, arm);
  const variant: Variant = arm === 'dense' || arm === 'random' ? arm : 'mod';
  const name = `${sizeName(size)}-${arm}-s${seed}`;
  const runsDir = path.join(opts.runsDir, `b${budgetName(budget)}`);
  const planned = plannedRun({ ...opts, budget, runsDir, budgetFlag: '--budgets' }, variant, model, seed, name);
  return { planned: { ...planned, name: `b${budgetName(budget)}/${name}` }, budget, size, arm, params: paramCounts(model).total };
}

/** Training tokens / training-split tokens of a planned run. */
export function plannedEpochs(r: SweepRun, trainTokens: number): number {
  const t = r.planned.run.train;
  return (t.maxIters * t.batchSize * t.gradAccumSteps * r.planned.run.model.blockSize) / trainTokens;
}

/** Phase 1: budget-major, then size, variant and seed. */
export function planIsoflop(opts: SweepOptions): SweepRun[] {
  const runs: SweepRun[] = [];
  for (const b of opts.budgets) {
    for (const s of opts.sizes) {
      for (const v of opts.variants) for (let i = 0; i < opts.seeds; i++) runs.push(sweepRun(opts, b, s, v, opts.base.train.seed + i));
    }
  }
  return runs;
}

/** Whether routing every CLAIM_E.every-th block routes any block of a model with nLayer layers. */
export function routesEvery4(nLayer: number): boolean {
  return nLayer >= CLAIM_E.every;
}

/** Phase 2 at the MoD optimum size: the claim runs phase 1 has not trained (none when claimSeeds is 0). */
export function planClaims(opts: SweepOptions, optimum: Size, done: readonly SweepRun[]): SweepRun[] {
  if (opts.claimSeeds === 0) return [];
  const b = opts.claimsBudget;
  const seed = opts.base.train.seed;
  const runs: SweepRun[] = [];
  for (let i = 0; i < opts.claimSeeds; i++) runs.push(sweepRun(opts, b, optimum, 'mod', seed + i), sweepRun(opts, b, optimum, 'random', seed + i));
  runs.push(sweepRun(opts, b, optimum, 'mod-c0.5', seed));
  if (routesEvery4(optimum.nLayer)) runs.push(sweepRun(opts, b, optimum, 'mod-every4', seed));
  const names = new Set(done.map((r) => r.planned.name));
  return runs.filter((r) => !names.has(r.planned.name));
}

/** How many phase-2 runs there will be at most (the progress counts them before the optimum is known). */
export function claimRunsBound(opts: SweepOptions): number {
  if (opts.claimSeeds === 0) return 0;
  const extra = Math.max(0, opts.claimSeeds - opts.seeds);
  return extra + (opts.variants.includes('random') ? extra : opts.claimSeeds) + 2;
}

/** Checks what the options cannot say alone; a ConfigError names the bad value. */
export function checkSweep(opts: SweepOptions): void {
  if (!opts.budgets.includes(opts.claimsBudget)) {
    throw new ConfigError(`--claims-budget=${opts.claimsBudget} is not one of --budgets (${opts.budgets.join(', ')}): pick one of them`);
  }
  if (opts.claimSeeds > 0 && !opts.variants.includes('mod')) {
    throw new ConfigError(`--claim-seeds=${opts.claimSeeds} needs the mod variant (the claims are measured at its optimum): add mod to --variants or give --claim-seeds=0`);
  }
}
