// The comparison's plots as vega-lite specs, rendered to SVG headless (vega's 'none' renderer: no canvas, no DOM).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { RoutingMap } from './routing-map.js';

/** One evaluation of one run: a row of curves.csv. */
export interface CurveRow {
  variant: string;
  seed: number;
  iter: number;
  trainFlops: number;
  tokens: number;
  /** Training wall time so far: optimizer steps only (evaluation and checkpoint writing excluded). */
  wallMs: number;
  trainLoss: number;
  valLoss: number;
}

/** Renders a vega-lite spec (with explicit width and height) to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const WIDTH = 560;
const HEIGHT = 340;

function variantColor(variants: readonly string[]): { field: string; type: 'nominal'; title: string; sort: string[] } {
  return { field: 'variant', type: 'nominal', title: 'variant', sort: [...variants] };
}

/**
 * Val loss against training FLOPs, one line per variant: the mean over seeds at each evaluation point (all seeds
 * of a variant evaluate at the same FLOPs), with the min–max band over seeds when there are several.
 */
export function lossVsFlopsSpec(rows: readonly CurveRow[], variants: readonly string[], title: string): TopLevelSpec {
  const seeds = new Set(rows.map((r) => r.seed)).size;
  const x = { field: 'trainFlops', type: 'quantitative' as const, title: 'training FLOPs', axis: { format: '.2s' } };
  const color = variantColor(variants);
  const line = {
    mark: { type: 'line' as const, point: true },
    encoding: { x, y: { aggregate: 'mean' as const, field: 'valLoss', type: 'quantitative' as const, title: 'val loss (nats/token)', scale: { zero: false } }, color },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: seeds > 1 ? `mean of ${seeds} seeds; band: min–max over seeds` : 'one seed' },
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows.map((r) => ({ ...r })) },
    layer: seeds > 1
      ? [{ mark: { type: 'errorband', extent: 'min-max', opacity: 0.2 }, encoding: { x, y: { field: 'valLoss', type: 'quantitative', title: 'val loss (nats/token)' }, color } }, line]
      : [line],
  } as TopLevelSpec;
}

/** Val loss against training wall time, one line per run (variant × seed). */
export function lossVsWallSpec(rows: readonly CurveRow[], variants: readonly string[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: 'training time: optimizer steps only (evaluation and checkpoints excluded)' },
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows.map((r) => ({ ...r, wallSeconds: r.wallMs / 1000 })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'wallSeconds', type: 'quantitative', title: 'training wall-clock time (s)' },
      y: { field: 'valLoss', type: 'quantitative', title: 'val loss (nats/token)', scale: { zero: false } },
      color: variantColor(variants),
      detail: { field: 'seed', type: 'nominal' },
    },
  };
}

const CELL = 12;
const ROW = 30;

/**
 * The routing heat-map: tokens of the sample (x) × routed blocks (y); colour is the router score, a dot marks the
 * k tokens the block processed. Positions are zero-padded into the x field so the ordinal axis keeps text order.
 */
export function routingSpec(map: RoutingMap, title: string): TopLevelSpec {
  const width = Math.max(map.tokens.length, 8) * CELL;
  const values = map.cells.map((c) => ({
    tok: `${String(c.pos).padStart(4, '0')} ${c.token}`,
    block: `block ${c.block}`,
    score: c.score,
    processed: c.selected ? 'processed' : 'skipped',
  }));
  const x = { field: 'tok', type: 'ordinal' as const, title: null, axis: { labelExpr: 'substring(datum.value, 5)', labelAngle: 0, labelFont: 'monospace', labelFontSize: 10, ticks: false } };
  const y = { field: 'block', type: 'ordinal' as const, title: 'routed block', sort: map.blocks.map((b) => `block ${b}`) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: `dot: one of the k = ${map.k} tokens the block processed; colour: router score` },
    width,
    height: Math.max(map.blocks.length, 1) * ROW,
    data: { values },
    layer: [
      { mark: 'rect', encoding: { x, y, color: { field: 'score', type: 'quantitative', title: 'router score', scale: { scheme: 'blueorange', domainMid: 0 } } } },
      {
        transform: [{ filter: "datum.processed === 'processed'" }],
        mark: { type: 'point', filled: true, color: 'black', size: 18 },
        encoding: { x, y, shape: { field: 'processed', type: 'nominal', title: null } },
      },
    ],
  };
}
