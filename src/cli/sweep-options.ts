// `mod sweep` arguments: its own options, and the preset + `--key=value` overrides that `mod train` takes (split
// as `mod compare` splits them, src/cli/compare-options.ts).
import path from 'node:path';
import type { Variant } from '../compare/plan.js';
import { ConfigError } from '../errors.js';
import type { FieldSpec } from '../model/schema.js';
import { DEFAULT_LADDER, parseLadder } from '../sweep/ladder.js';
import type { SweepOptions } from '../sweep/plan.js';
import { parseValue } from './config-args.js';
import { parseOut, parseVariants, splitOwnArgs } from './compare-options.js';
import { resolveRun } from './run-config.js';

export const SWEEP_DEFAULTS = { variants: ['dense', 'mod'] as Variant[], seeds: 1, claimSeeds: 3, evals: 4, out: 'out/sweep', sizes: DEFAULT_LADDER };

const specs: Record<'budget' | 'seeds' | 'claimSeeds' | 'evals' | 'maxEpochs', FieldSpec> = {
  budget: { type: 'number', min: 0, minExclusive: true, doc: 'training FLOPs per run' },
  seeds: { type: 'int', min: 1, max: 100, doc: 'seeds per isoFLOP point' },
  claimSeeds: { type: 'int', min: 0, max: 100, doc: 'seeds of learned and random routing at the MoD optimum' },
  evals: { type: 'int', min: 1, max: 1000, doc: 'evaluations (checkpoints) per run' },
  maxEpochs: { type: 'number', min: 0, minExclusive: true, doc: 'skip isoFLOP runs planned past this many epochs' },
};

const OWN_KEYS = ['budgets', 'sizes', 'variants', 'seeds', 'claim-seeds', 'claims-budget', 'evals', 'max-epochs', 'out', 'runs', 'resume'];

export function parseSweepArgs(args: readonly string[]): SweepOptions {
  const { own, rest, userKeys } = splitOwnArgs(args, 'sweep', OWN_KEYS, ['resume']);
  const base = resolveRun(rest, 'train');
  if (!own.has('budgets')) throw new ConfigError('mod sweep needs --budgets LIST: training FLOPs of each isoFLOP curve, e.g. --budgets=3e12,1e13,3e13');
  const budgets = parseBudgets(own.get('budgets')!);
  const seeds = num(own, 'seeds', 'seeds', SWEEP_DEFAULTS.seeds);
  const claimSeeds = num(own, 'claim-seeds', 'claimSeeds', SWEEP_DEFAULTS.claimSeeds);
  if (base.train.seed + Math.max(seeds, claimSeeds) - 1 > 4294967295) throw new ConfigError(`--seed=${base.train.seed} with ${Math.max(seeds, claimSeeds)} seeds runs past the largest seed 4294967295`);
  const claimsRaw = own.get('claims-budget');
  const out = parseOut('out', own.get('out')) ?? SWEEP_DEFAULTS.out;
  return {
    base,
    budgets,
    sizes: parseLadder(own.get('sizes') ?? SWEEP_DEFAULTS.sizes),
    variants: parseVariants(own.get('variants'), SWEEP_DEFAULTS.variants),
    seeds,
    claimSeeds,
    claimsBudget: claimsRaw === undefined ? Math.max(...budgets) : (parseValue(specs.budget, claimsRaw, '--claims-budget') as number),
    evals: num(own, 'evals', 'evals', SWEEP_DEFAULTS.evals),
    maxEpochs: num(own, 'max-epochs', 'maxEpochs', Number.POSITIVE_INFINITY),
    out,
    runsDir: parseOut('runs', own.get('runs')) ?? path.join(out, 'runs'),
    resume: own.has('resume') ? parseValue({ type: 'boolean', doc: '' }, own.get('resume')!, '--resume') === true : false,
    userKeys,
    argv: [...args],
  };
}

function num(own: Map<string, string>, flag: string, key: keyof typeof specs, fallback: number): number {
  const raw = own.get(flag);
  return raw === undefined ? fallback : (parseValue(specs[key], raw, `--${flag}`) as number);
}

/** `3e12,1e13` → ascending budgets, each > 0, no repeats. */
export function parseBudgets(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new ConfigError(`--budgets='${raw}' is empty: give training FLOPs such as 3e12,1e13`);
  const budgets = parts.map((p) => parseValue(specs.budget, p, '--budgets') as number);
  if (new Set(budgets).size !== budgets.length) throw new ConfigError(`--budgets='${raw}' lists a budget twice`);
  return budgets.sort((a, b) => a - b);
}
