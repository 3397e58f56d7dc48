// The sweep's figures as vega-lite specs (rendered by src/compare/plots.ts renderSvg): the isoFLOP curves (the shape
// of the paper's isoFLOP figure) and the optimal loss against budget.
import type { TopLevelSpec } from 'vega-lite';
import type { Curve } from './analysis.js';
import { evalParabola } from './fit.js';

const WIDTH = 560;
const HEIGHT = 360;
/** Points per fitted parabola drawn. */
const CURVE_SAMPLES = 40;

function budgetLabel(b: number): string {
  return `${b.toExponential(0)} FLOPs`;
}

/** The losses (mean over seeds, sd bars), fitted parabolas in ln(params) and optima (large marks), per budget and variant. */
export function isoflopSpec(curves: readonly Curve[], title: string): TopLevelSpec {
  const points = curves.flatMap((c) => c.points.map((p) => ({
    budget: budgetLabel(c.budget), variant: c.arm, params: p.params, loss: p.loss.mean, lo: p.loss.mean - p.loss.sd, hi: p.loss.mean + p.loss.sd,
  })));
  const fits = curves.flatMap((c) => {
    const fit = c.fit.parabola;
    if (fit === null) return [];
    const xs = c.points.map((p) => Math.log(p.params));
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return Array.from({ length: CURVE_SAMPLES }, (_, i) => {
      const x = lo + ((hi - lo) * i) / (CURVE_SAMPLES - 1);
      return { budget: budgetLabel(c.budget), variant: c.arm, params: Math.exp(x), loss: evalParabola(fit, x) };
    });
  });
  const optima = curves.map((c) => ({ budget: budgetLabel(c.budget), variant: c.arm, params: Math.exp(c.fit.optimum.x), loss: c.fit.optimum.loss }));
  const x = { field: 'params', type: 'quantitative' as const, title: 'parameters', scale: { type: 'log' as const, nice: false, padding: 12 }, axis: { format: '.2s' } };
  const y = { field: 'loss', type: 'quantitative' as const, title: 'val loss, whole split (nats/token)', scale: { zero: false } };
  const color = { field: 'budget', type: 'nominal' as const, title: 'budget', sort: [...new Set(curves.map((c) => c.budget))].sort((a, b) => a - b).map(budgetLabel) };
  const dash = { field: 'variant', type: 'nominal' as const, title: 'variant' };
  // One variant legend (the marks' shapes); the lines' dashes follow the same order.
  const lineDash = { ...dash, legend: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: 'points: runs (mean over seeds, bars ±1 sd); lines: parabolas in ln(params), dashed for mod; large marks: optima' },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      { data: { values: fits }, mark: { type: 'line', opacity: 0.8 }, encoding: { x, y, color, strokeDash: lineDash, detail: dash } },
      { data: { values: points }, mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color, shape: dash } },
      { data: { values: optima }, mark: { type: 'point', filled: false, size: 260, strokeWidth: 2.5 }, encoding: { x, y, color, shape: dash } },
    ],
  } as TopLevelSpec;
}

/** The optimum's loss against budget, one line per variant, bars ±1 sd of the seed fits' optima when measured. */
export function optimumSpec(curves: readonly Curve[], title: string): TopLevelSpec {
  const values = curves.map((c) => {
    const losses = c.seedOptima.map((p) => p.loss);
    const sd = losses.length < 2 ? 0 : Math.sqrt(losses.reduce((s, l) => s + (l - mean(losses)) ** 2, 0) / (losses.length - 1));
    return { budget: c.budget, variant: c.arm, loss: c.fit.optimum.loss, lo: c.fit.optimum.loss - sd, hi: c.fit.optimum.loss + sd, params: Math.exp(c.fit.optimum.x) };
  });
  const x = { field: 'budget', type: 'quantitative' as const, title: 'training FLOPs', scale: { type: 'log' as const, nice: false, padding: 12 }, axis: { format: '.0e' } };
  const color = { field: 'variant', type: 'nominal' as const, title: 'variant' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: 'loss of each isoFLOP optimum (the fitted vertex, or the lowest point); bars: ±1 sd over seeds when several' },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'optimal val loss (nats/token)', scale: { zero: false } }, color } },
      { mark: 'rule', encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
    ],
  } as TopLevelSpec;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
