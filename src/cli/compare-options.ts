// `mod compare` arguments: its own options, and the preset + `--key=value` overrides that `mod train` takes.
import path from 'node:path';
import { type CompareOptions, MATCHES, type Match, VARIANTS, type Variant } from '../compare/plan.js';
import { ConfigError } from '../errors.js';
import { type FieldSpec, specOf } from '../model/schema.js';
import { type KeyKind, parseValue, splitArgs } from './config-args.js';
import { resolveRun, runSchema } from './run-config.js';

export const COMPARE_DEFAULTS = { variants: ['dense', 'mod', 'random'] as Variant[], seeds: 1, match: 'none' as Match, evals: 10, out: 'out/compare' };

const specs: Record<'budget' | 'seeds' | 'evals' | 'match', FieldSpec> = {
  budget: { type: 'number', min: 0, minExclusive: true, doc: 'training FLOPs per run' },
  seeds: { type: 'int', min: 1, max: 100, doc: 'seeds per variant' },
  evals: { type: 'int', min: 1, max: 1000, doc: 'evaluations per run' },
  match: { type: 'enum', values: MATCHES, doc: 'size the MoD variants to dense FLOPs' },
};

/** Keys `mod compare` sets itself from the budget; the user may not. */
const BUDGET_KEYS = ['maxIters', 'lrDecayIters', 'evalInterval', 'seed', 'out', 'resume'];
const OWN_KEYS = ['budget', 'variants', 'seeds', 'match', 'evals', 'out', 'runs', 'reuse'];

/** A command's own options (and --seed), and the rest as `mod train` arguments for resolveRun. */
export interface SplitArgs {
  own: Map<string, string>;
  rest: string[];
  /** Config keys set on the command line. */
  userKeys: Set<string>;
}

/**
 * Pulls a command's own options out of its arguments (`flags` may stand alone); the budget keys, which the
 * command sets itself, are refused; the rest go to resolveRun as `--key=value`.
 */
export function splitOwnArgs(args: readonly string[], command: string, ownKeys: readonly string[], flags: readonly string[]): SplitArgs {
  const pairs = splitArgs(args, (key) => keyKind(key, ownKeys, flags));
  const own = new Map<string, string>();
  const rest: string[] = [];
  const userKeys = new Set<string>();
  for (const [key, value] of pairs) {
    if (ownKeys.includes(key) || key === 'seed') own.set(key, value);
    else if (BUDGET_KEYS.includes(key)) throw new ConfigError(`--${key} cannot be set for mod ${command}: the budget decides it (see mod ${command} --help)`);
    else {
      rest.push(`--${key}=${value}`);
      userKeys.add(key);
    }
  }
  if (own.has('seed')) rest.push(`--seed=${own.get('seed')!}`);
  return { own, rest, userKeys };
}

/** Parses `mod compare` arguments: own options first pulled out, the rest resolved as for `mod train`. */
export function parseCompareArgs(args: readonly string[]): CompareOptions {
  const { own, rest, userKeys } = splitOwnArgs(args, 'compare', OWN_KEYS, ['reuse']);
  const base = resolveRun(rest, 'train');
  if (!own.has('budget')) throw new ConfigError('mod compare needs --budget FLOPS: the training FLOPs each run may spend, e.g. --budget=3e13');
  const seeds = get<number>(own, 'seeds', COMPARE_DEFAULTS.seeds);
  const out = parseOut('out', own.get('out')) ?? COMPARE_DEFAULTS.out;
  if (base.train.seed + seeds - 1 > 4294967295) throw new ConfigError(`--seed=${base.train.seed} with --seeds=${seeds} runs past the largest seed 4294967295`);
  return {
    base,
    budget: get<number>(own, 'budget', 0),
    variants: parseVariants(own.get('variants')),
    seeds,
    match: get<Match>(own, 'match', COMPARE_DEFAULTS.match),
    evals: get<number>(own, 'evals', COMPARE_DEFAULTS.evals),
    out,
    runsDir: parseOut('runs', own.get('runs')) ?? path.join(out, 'runs'),
    reuse: own.has('reuse') ? parseValue({ type: 'boolean', doc: '' }, own.get('reuse')!, '--reuse') === true : false,
    userKeys,
    argv: [...args],
  };
}

function get<T>(own: Map<string, string>, key: keyof typeof specs, fallback: T): T {
  const raw = own.get(key);
  return raw === undefined ? fallback : (parseValue(specs[key], raw, `--${key}`) as T);
}

/** Boolean config keys and the command's flags may stand alone (`--bias`); unknown keys are reported by resolveRun. */
function keyKind(key: string, ownKeys: readonly string[], flags: readonly string[]): KeyKind {
  if (flags.includes(key)) return 'flag';
  if (ownKeys.includes(key) || key === 'preset') return 'value';
  try {
    return specOf(runSchema, key).type === 'boolean' ? 'flag' : 'value';
  } catch {
    return 'unknown';
  }
}

export function parseOut(flag: string, raw: string | undefined): string | undefined {
  if (raw === '' || raw === 'null') throw new ConfigError(`--${flag}='${raw}' is not a directory: give a path`);
  return raw;
}

/** `dense,mod` → ['dense', 'mod']: known names, no repeats, in the order given. */
export function parseVariants(raw: string | undefined, fallback: readonly Variant[] = COMPARE_DEFAULTS.variants): Variant[] {
  if (raw === undefined) return [...fallback];
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new ConfigError(`--variants='${raw}' is empty: give some of ${VARIANTS.join(', ')}`);
  const out: Variant[] = [];
  for (const n of names) {
    if (!(VARIANTS as readonly string[]).includes(n)) throw new ConfigError(`--variants: unknown variant '${n}': must be some of ${VARIANTS.join(', ')}`);
    if (out.includes(n as Variant)) throw new ConfigError(`--variants: '${n}' is listed twice`);
    out.push(n as Variant);
  }
  return out;
}
