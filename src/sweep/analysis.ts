// From finished runs to the isoFLOP analysis: the mean and spread over seeds at every point, the fitted curve and
// optimum of every (budget, variant), the spread of the optimum over seeds, and the seed-to-seed spread of a run's
// loss pooled over every point with several seeds (what a one-seed comparison is judged against).
import { type Stats, stats } from '../compare/report.js';
import type { RunSummary } from '../compare/report.js';
import { type IsoFit, isoFit, type Point } from './fit.js';
import { type Size, sizeName } from './ladder.js';
import type { Arm, SweepRun } from './plan.js';

export interface FinishedRun extends SweepRun {
  summary: RunSummary;
  /** Training tokens / tokens in the train split. */
  epochs: number;
}

/** The loss a sweep scores a run by: its final checkpoint on the whole validation split (top-k routing for MoD). */
export function runLoss(r: { summary: { figures: { valLoss: number } } }): number {
  return r.summary.figures.valLoss;
}

export interface CurvePoint {
  size: Size;
  params: number;
  runs: FinishedRun[];
  loss: Stats;
}

export interface Curve {
  budget: number;
  arm: Arm;
  points: CurvePoint[];
  /** The fit of the mean losses. */
  fit: IsoFit;
  /** Each seed's own fit's optimum (when every point has that seed and there are several seeds). */
  seedOptima: Point[];
  /** The ladder size nearest the optimum in ln(parameters): its steps, step time and FLOPs stand for the optimum's. */
  nearest: CurvePoint;
}

/** The runs of one arm at one budget, grouped by size in ladder order. */
export function curvePoints(runs: readonly FinishedRun[], budget: number, arm: Arm, sizes: readonly Size[]): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const size of sizes) {
    const mine = runs.filter((r) => r.budget === budget && r.arm === arm && sizeName(r.size) === sizeName(size));
    if (mine.length > 0) points.push({ size, params: mine[0]!.params, runs: mine, loss: stats(mine.map(runLoss)) });
  }
  return points;
}

export function curve(runs: readonly FinishedRun[], budget: number, arm: Arm, sizes: readonly Size[]): Curve {
  const points = curvePoints(runs, budget, arm, sizes);
  const fit = isoFit(points.map((p) => ({ x: Math.log(p.params), loss: p.loss.mean })));
  const seeds = [...new Set(points.flatMap((p) => p.runs.map((r) => r.planned.seed)))];
  const seedOptima = seeds.length < 2 ? [] : seeds.flatMap((seed) => {
    const pts = points.map((p) => p.runs.find((r) => r.planned.seed === seed)).filter((r) => r !== undefined);
    return pts.length === points.length ? [isoFit(pts.map((r) => ({ x: Math.log(r.params), loss: runLoss(r) }))).optimum] : [];
  });
  const nearest = points.reduce((best, p) => (Math.abs(Math.log(p.params) - fit.optimum.x) < Math.abs(Math.log(best.params) - fit.optimum.x) ? p : best));
  return { budget, arm, points, fit, seedOptima, nearest };
}

/**
 * The standard deviation of one run's loss over seeds, pooled over every group of runs that differ only in seed:
 * sqrt(Σ (nᵢ − 1)·sᵢ² / Σ (nᵢ − 1)); null when no group has two seeds.
 */
export function pooledSeedSd(runs: ReadonlyArray<Pick<FinishedRun, 'budget' | 'size' | 'arm'> & { summary: { figures: { valLoss: number } } }>): { sd: number; df: number } | null {
  const groups = new Map<string, number[]>();
  for (const r of runs) {
    const key = `${r.budget} ${sizeName(r.size)} ${r.arm}`;
    groups.set(key, [...(groups.get(key) ?? []), runLoss(r)]);
  }
  let ss = 0;
  let df = 0;
  for (const losses of groups.values()) {
    if (losses.length < 2) continue;
    const s = stats(losses);
    ss += (s.n - 1) * s.sd * s.sd;
    df += s.n - 1;
  }
  return df === 0 ? null : { sd: Math.sqrt(ss / df), df };
}
