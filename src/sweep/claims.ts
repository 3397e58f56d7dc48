// The claims table: each row a claim of the Mixture-of-Depths paper (Raposo et al. 2024), what this sweep measured,
// and a verdict. A loss difference d with standard error se is judged at two standard errors: the claim holds when
// d lies beyond 2·se on its side, does not hold when beyond 2·se on the other, and is inconclusive within the
// spread between. se comes from repeated seeds: of the fitted optima when the curves have several seeds, else the
// seed-to-seed spread of one run's loss pooled over every point trained with several seeds (claim c's runs).
import { type Stats, stats } from '../compare/report.js';
import { formatShort } from '../format.js';
import { type Curve, type FinishedRun, runLoss } from './analysis.js';
import { sizeName } from './ladder.js';
import { type Arm, CLAIM_E, routesEvery4 } from './plan.js';

export type Verdict = 'holds' | 'does not hold' | 'inconclusive';

export interface Claim {
  id: string;
  claim: string;
  measured: string;
  verdict: Verdict;
  /** Why the verdict (the rule applied, or what is missing). */
  why: string;
}

export interface ClaimsInput {
  curves: Curve[];
  runs: FinishedRun[];
  /** Seed-to-seed sd of one run's loss (pooled), or null. */
  seedSd: { sd: number; df: number } | null;
  claimsBudget: number;
  /** Median ms per training step of the optimum-nearest models, keyed by optimumKey. */
  stepMs: Map<string, number>;
  /** The budgets in the order of the table. */
  budgets: number[];
}

export function optimumKey(budget: number, arm: Arm): string {
  return `${budget} ${arm}`;
}

/** A loss difference judged against its standard error: negative is the claimed direction. */
export function judge(d: number, se: number | null): { verdict: Verdict; why: string } {
  if (se === null || !(se > 0)) return { verdict: 'inconclusive', why: 'no seed spread measured (one seed everywhere)' };
  const z = d / se;
  const why = `Δ = ${sgn(d)}, 2·se = ${(2 * se).toFixed(4)}`;
  if (z <= -2) return { verdict: 'holds', why };
  if (z >= 2) return { verdict: 'does not hold', why };
  return { verdict: 'inconclusive', why: `${why}: within the spread` };
}

function sgn(x: number): string {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
}

function find(curves: readonly Curve[], budget: number, arm: Arm): Curve | undefined {
  return curves.find((c) => c.budget === budget && c.arm === arm);
}

/** The sd of a curve's fitted optimum loss over seeds, or null with fewer than 2 seed fits. */
function optimumSd(c: Curve): number | null {
  return c.seedOptima.length < 2 ? null : stats(c.seedOptima.map((p) => p.loss)).sd / Math.sqrt(c.seedOptima.length);
}

function claimA(input: ClaimsInput): Claim[] {
  return input.budgets.flatMap((b) => {
    const d = find(input.curves, b, 'dense');
    const m = find(input.curves, b, 'mod');
    if (d === undefined || m === undefined) return [];
    const diff = m.fit.optimum.loss - d.fit.optimum.loss;
    const sdD = optimumSd(d);
    const sdM = optimumSd(m);
    const se = sdD !== null && sdM !== null ? Math.hypot(sdD, sdM) : input.seedSd === null ? null : input.seedSd.sd * Math.SQRT2;
    const j = judge(diff, se);
    return [{
      id: 'a',
      claim: `at ${b.toExponential(1)} FLOPs the MoD optimum's loss is at most the dense optimum's`,
      measured: `MoD ${m.fit.optimum.loss.toFixed(4)} at ${fmtParams(m.fit.optimum.x)} vs dense ${d.fit.optimum.loss.toFixed(4)} at ${fmtParams(d.fit.optimum.x)}`,
      ...j,
    }];
  });
}

function fmtParams(x: number): string {
  return `${formatShort(Math.round(Math.exp(x)))} params`;
}

/** Step time within ±5 % is called a tie: timings on a shared machine wander by that much. */
const SPEED_TOLERANCE = 0.05;

function claimB(input: ClaimsInput): Claim[] {
  return input.budgets.flatMap((b) => {
    const d = find(input.curves, b, 'dense');
    const m = find(input.curves, b, 'mod');
    if (d === undefined || m === undefined) return [];
    const flops = m.nearest.runs[0]!.summary.planned.forwardFlops / d.nearest.runs[0]!.summary.planned.forwardFlops;
    const msD = input.stepMs.get(optimumKey(b, 'dense'));
    const msM = input.stepMs.get(optimumKey(b, 'mod'));
    const ms = msD === undefined || msM === undefined ? Number.NaN : msM / msD;
    const measured = `${sizeName(m.nearest.size)} MoD vs ${sizeName(d.nearest.size)} dense: FLOPs/forward ×${flops.toFixed(2)}, ms/step ×${ms.toFixed(2)}`
      + ` (${msM?.toFixed(1) ?? '?'} vs ${msD?.toFixed(1) ?? '?'} ms)`;
    const verdict: Verdict = flops < 1 && ms < 1 - SPEED_TOLERANCE ? 'holds' : flops >= 1 || ms > 1 + SPEED_TOLERANCE ? 'does not hold' : 'inconclusive';
    return [{
      id: 'b',
      claim: `at ${b.toExponential(1)} FLOPs the MoD optimum needs fewer FLOPs per forward pass and steps faster than the dense optimum`,
      measured,
      verdict,
      why: `both ratios < 1 (step time beyond ±${SPEED_TOLERANCE * 100} %, interleaved medians) to hold`,
    }];
  });
}

/** The runs of an arm at the claims budget and the MoD optimum size. */
function claimRuns(input: ClaimsInput, arm: Arm): FinishedRun[] {
  const m = find(input.curves, input.claimsBudget, 'mod');
  if (m === undefined) return [];
  const size = sizeName(m.nearest.size);
  return input.runs.filter((r) => r.budget === input.claimsBudget && r.arm === arm && sizeName(r.size) === size);
}

function fmt(s: Stats): string {
  return s.n > 1 ? `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)} (${s.n} seeds)` : `${s.mean.toFixed(4)} (1 seed)`;
}

function claimC(input: ClaimsInput): Claim {
  const learned = stats(claimRuns(input, 'mod').map(runLoss));
  const random = stats(claimRuns(input, 'random').map(runLoss));
  const claim = 'at the MoD optimum size, learned routing beats random routing (3+ seeds)';
  if (learned.n === 0 || random.n === 0) return { id: 'c', claim, measured: 'not measured', verdict: 'inconclusive', why: 'no random-routing runs at the MoD optimum (--claim-seeds=0?)' };
  const se = learned.n > 1 && random.n > 1 ? Math.sqrt(learned.sd ** 2 / learned.n + random.sd ** 2 / random.n) : null;
  const j = judge(learned.mean - random.mean, se);
  const few = Math.min(learned.n, random.n) < 3 ? ' (fewer than 3 seeds)' : '';
  return { id: 'c', claim, measured: `learned ${fmt(learned)} vs random ${fmt(random)}${few}`, ...j };
}

function claimD(input: ClaimsInput): Claim {
  const runs = claimRuns(input, 'mod').filter((r) => r.summary.figures.causalLoss !== null);
  const claim = 'at the MoD optimum, sampling with causal routing (predictor) loses little against top-k routing';
  if (runs.length === 0) return { id: 'd', claim, measured: 'not measured', verdict: 'inconclusive', why: 'no causal evaluation of the MoD optimum' };
  const gap = stats(runs.map((r) => r.summary.figures.causalLoss! - r.summary.figures.valLoss));
  const topk = stats(runs.map(runLoss));
  const measured = `top-k ${topk.mean.toFixed(4)}, causal − top-k ${sgn(gap.mean)}${gap.n > 1 ? ` ± ${gap.sd.toFixed(4)}` : ''}`;
  if (input.seedSd === null) return { id: 'd', claim, measured, verdict: 'inconclusive', why: 'no seed spread to compare the gap with' };
  const s = input.seedSd.sd;
  const verdict: Verdict = gap.mean <= s ? 'holds' : gap.mean > 2 * s ? 'does not hold' : 'inconclusive';
  return { id: 'd', claim, measured, verdict, why: `the gap against the seed sd ${s.toFixed(4)}: ≤ 1 sd holds, > 2 sd does not` };
}

function claimE(input: ClaimsInput): Claim[] {
  const ref = stats(claimRuns(input, 'mod').map(runLoss));
  const m = find(input.curves, input.claimsBudget, 'mod');
  const modCfg = m?.nearest.runs[0]!.summary.planned.run.model.mod;
  const rows: Claim[] = [];
  const one = (arm: Arm, claim: string, other: string): void => {
    const alt = stats(claimRuns(input, arm).map(runLoss));
    if (ref.n === 0 || alt.n === 0) {
      const why = arm === 'mod-every4' && m !== undefined && !routesEvery4(m.nearest.size.nLayer)
        ? `the MoD optimum ${sizeName(m.nearest.size)} has fewer than ${CLAIM_E.every} layers, so routing every ${CLAIM_E.every}th block routes none`
        : 'not trained (--claim-seeds=0?)';
      rows.push({ id: 'e', claim, measured: 'not measured', verdict: 'inconclusive', why });
      return;
    }
    const se = input.seedSd === null ? null : input.seedSd.sd * Math.sqrt(1 / ref.n + 1 / alt.n);
    rows.push({ id: 'e', claim, measured: `${fmt(ref)} vs ${other} ${fmt(alt)}`, ...judge(ref.mean - alt.mean, se) });
  };
  const c = modCfg?.capacity ?? 0.125;
  const every = modCfg?.every ?? 2;
  one('mod-c0.5', `at ${input.claimsBudget.toExponential(1)} FLOPs and the MoD optimum size, capacity ${c * 100} % beats ${CLAIM_E.capacity * 100} %`, `capacity ${CLAIM_E.capacity * 100} %`);
  one('mod-every4', `at ${input.claimsBudget.toExponential(1)} FLOPs and the MoD optimum size, routing every ${every === 2 ? '2nd' : `${every}th`} block beats every ${CLAIM_E.every}th`, `every ${CLAIM_E.every}th`);
  return rows;
}

export function claimsTable(input: ClaimsInput): Claim[] {
  return [...claimA(input), ...claimB(input), claimC(input), claimD(input), ...claimE(input)];
}
