// What `mod compare` trains: one TrainRun per (variant, seed), each stopped at the same training-FLOP budget, with
// evaluations at the same evenly spaced FLOP points. docs/compare.md explains every choice made here.
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { checkRoutedBlocks, type ModConfig, modConfigDefaults, type ModelConfig, validateModelConfig } from '../model/config.js';
import { forwardFlops, trainingFlops } from '../model/flops.js';
import type { TrainRun } from '../train/config.js';

export const VARIANTS = ['dense', 'mod', 'random'] as const;
export type Variant = (typeof VARIANTS)[number];

/** How the MoD variants are sized against dense: the same dims, or more layers / a wider residual stream. */
export const MATCHES = ['none', 'depth', 'width'] as const;
export type Match = (typeof MATCHES)[number];

/** A whole `mod compare`: the base run and what to vary (src/cli/compare-options.ts parses it from argv). */
export interface CompareOptions {
  base: TrainRun & { preset: string };
  budget: number;
  variants: Variant[];
  seeds: number;
  match: Match;
  evals: number;
  out: string;
  /** Run directories (default out/runs). */
  runsDir: string;
  /** Reuse finished runs (same model, train settings and evaluation points) instead of training them again. */
  reuse: boolean;
  /** Config keys set on the command line. */
  userKeys: Set<string>;
  /** The arguments as given (for the report's command). */
  argv: string[];
}

export interface PlanOptions {
  /** The resolved preset + overrides (its `mod` section, if any, gives capacity and pattern). */
  base: TrainRun & { preset: string };
  /** Training FLOPs each run may spend. */
  budget: number;
  variants: readonly Variant[];
  /** Seeds base.train.seed, +1, ... */
  seeds: number;
  match: Match;
  /** Evaluations per run, at budget·j/evals FLOPs, j = 1..evals. */
  evals: number;
  /** Directory of the run directories <variant>-s<seed> (checkpoint, log.jsonl, train.log). */
  runsDir: string;
  /** Keys the user set on the command line (a user-set warmupIters is kept instead of scaled). */
  userKeys: ReadonlySet<string>;
}

export interface PlannedRun {
  variant: Variant;
  seed: number;
  /** Directory name under runs/. */
  name: string;
  run: TrainRun;
  /** Training FLOPs of one optimizer step (all micro-batches). */
  flopsPerStep: number;
  /** Forward FLOPs of one sequence of blockSize tokens. */
  forwardFlops: number;
  /** Iterations after which to evaluate (ascending; the last is maxIters). */
  evalIters: number[];
}

export interface Plan {
  budget: number;
  runs: PlannedRun[];
  /** The model config of each variant (vocabSize as in the preset; training replaces it by the tokenizer's). */
  models: Map<Variant, ModelConfig>;
}

/** The MoD section of the MoD variants: the base run's (set by --mod.* flags or a MoD preset) or the defaults. */
export function modSection(base: ModelConfig): ModConfig {
  return { ...(base.mod ?? modConfigDefaults), routing: 'learned' };
}

/** The model of each variant before size matching: dense drops the mod section, random routes randomly. */
export function variantModel(base: ModelConfig, variant: Variant): ModelConfig {
  const { mod: _mod, ...dense } = base;
  if (variant === 'dense') return dense;
  const mod = modSection(base);
  return { ...dense, mod: variant === 'mod' ? mod : { ...mod, routing: 'random' } };
}

export interface SizeCandidate {
  config: ModelConfig;
  forwardFlops: number;
}

/**
 * The MoD model whose forward FLOPs per sequence are closest to `target` (the dense model's), growing `model`:
 * `depth` adds layers in groups of `every` (so the routed/full pattern is kept: one routed block per group),
 * `width` adds 2·nHead to nEmbd at a time (whole, even head sizes). Candidates are tried from the unchanged model
 * up to the first one at or above the target; ties go to the smaller model. Returns the candidates considered and
 * the pick, so that tests and the report can show the choice.
 */
export function matchSize(model: ModelConfig, target: number, match: Match): { pick: SizeCandidate; candidates: SizeCandidate[] } {
  const first: SizeCandidate = { config: model, forwardFlops: forwardFlops(model).perSequence };
  if (match === 'none') return { pick: first, candidates: [first] };
  const candidates: SizeCandidate[] = [first];
  const every = model.mod?.every ?? 1;
  for (let j = 1; candidates[candidates.length - 1]!.forwardFlops < target && j <= 4096; j++) {
    const grown = match === 'depth' ? { ...model, nLayer: model.nLayer + j * every } : { ...model, nEmbd: model.nEmbd + j * 2 * model.nHead };
    const config = tryValidate(grown);
    if (config !== null) candidates.push({ config, forwardFlops: forwardFlops(config).perSequence });
  }
  let pick = candidates[0]!;
  for (const c of candidates) if (Math.abs(c.forwardFlops - target) < Math.abs(pick.forwardFlops - target)) pick = c;
  return { pick, candidates };
}

/** A config, or null when it is invalid (e.g. mlpRatio·nEmbd not whole). */
function tryValidate(config: ModelConfig): ModelConfig | null {
  try {
    return validateModelConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) return null;
    throw e;
  }
}

/** The model of every variant: `mod` is size-matched to dense, and `random` takes mod's size (only routing differs). */
export function variantModels(base: ModelConfig, variants: readonly Variant[], match: Match): Map<Variant, ModelConfig> {
  const dense = variantModel(base, 'dense');
  const target = forwardFlops(dense).perSequence;
  const mod = matchSize(variantModel(base, 'mod'), target, match).pick.config;
  if (variants.some((v) => v !== 'dense')) checkRoutedBlocks(mod); // else mod and random would be dense's twins
  const models = new Map<Variant, ModelConfig>();
  for (const v of variants) {
    if (v === 'dense') models.set(v, dense);
    else if (v === 'mod') models.set(v, mod);
    else models.set(v, { ...mod, mod: { ...mod.mod!, routing: 'random' } });
  }
  return models;
}

/** Training FLOPs of one optimizer step: per sequence × batchSize × gradAccumSteps. */
export function stepFlops(model: ModelConfig, run: TrainRun): number {
  return trainingFlops(model).perSequence * run.train.batchSize * run.train.gradAccumSteps;
}

/**
 * Steps that spend the budget: round(budget / flopsPerStep), so |steps·flopsPerStep − budget| <= flopsPerStep/2
 * and any two variants' spends differ by less than one step of the larger. At least one step is required.
 */
export function budgetSteps(budget: number, flopsPerStep: number, label: string, flag = '--budget'): number {
  const steps = Math.round(budget / flopsPerStep);
  if (steps < 1) {
    throw new ConfigError(`${flag}=${budget.toExponential(3)} is less than half a training step of the ${label} model `
      + `(${flopsPerStep.toExponential(3)} FLOPs per step): raise ${flag}`);
  }
  return steps;
}

/** The iterations at which budget·j/evals FLOPs are spent, j = 1..evals (rounded; duplicates dropped). */
export function evalPoints(steps: number, evals: number): number[] {
  const points = new Set<number>();
  for (let j = 1; j <= evals; j++) points.add(Math.max(1, Math.round((j * steps) / evals)));
  return [...points].sort((a, b) => a - b);
}

/** What planning one run to a budget needs (`mod sweep` plans many budgets with it). */
export type BudgetRunOptions = Pick<PlanOptions, 'base' | 'budget' | 'evals' | 'runsDir' | 'userKeys'> & {
  /** The option that set the budget, for the error when it is too small (default --budget). */
  budgetFlag?: string;
};

/**
 * One run of `model` that spends opts.budget: maxIters and the cosine from the budget, warmup scaled with the run
 * length, its directory runsDir/name.
 */
export function plannedRun(opts: BudgetRunOptions, variant: Variant, model: ModelConfig, seed: number, name = `${variant}-s${seed}`): PlannedRun {
  const draft: TrainRun = { ...opts.base, model, train: { ...opts.base.train } };
  const flopsPerStep = stepFlops(model, draft);
  const label = name === `${variant}-s${seed}` ? variant : name;
  const steps = budgetSteps(opts.budget, flopsPerStep, label, opts.budgetFlag);
  const t = opts.base.train;
  const warmup = opts.userKeys.has('warmupIters') ? t.warmupIters : Math.round((t.warmupIters * steps) / t.maxIters);
  const train = {
    ...t,
    seed,
    maxIters: steps,
    lrDecayIters: steps,
    warmupIters: Math.min(warmup, steps),
    evalInterval: steps,
    out: path.join(opts.runsDir, name),
  };
  return {
    variant,
    seed,
    name,
    run: { ...draft, train, resume: false, overwrite: true }, // the comparison owns its run directories
    flopsPerStep,
    forwardFlops: forwardFlops(model).perSequence,
    evalIters: evalPoints(steps, opts.evals),
  };
}

/** Every run of the comparison, seed-major (all variants of the first seed, then the next seed). */
export function planComparison(opts: PlanOptions): Plan {
  if (!(opts.budget > 0)) throw new ConfigError(`--budget=${opts.budget} is out of range: must be a number of training FLOPs > 0`);
  const models = variantModels(opts.base.model, opts.variants, opts.match);
  const runs: PlannedRun[] = [];
  for (let i = 0; i < opts.seeds; i++) {
    for (const v of opts.variants) runs.push(plannedRun(opts, v, models.get(v)!, opts.base.train.seed + i));
  }
  return { budget: opts.budget, runs, models };
}
