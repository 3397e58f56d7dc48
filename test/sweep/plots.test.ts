// The sweep's plots from synthetic curves: a fitted line per (budget, variant), points, optima marks, valid SVG.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderSvg } from '../../src/compare/plots.js';
import type { Curve } from '../../src/sweep/analysis.js';
import { isoFit } from '../../src/sweep/fit.js';
import { isoflopSpec, optimumSpec } from '../../src/sweep/plots.js';
import { checkXml } from '../compare/xml.js';

function synthetic(budget: number, arm: 'dense' | 'mod', opt: number, loss: number): Curve {
  const params = [4e4, 8e4, 1.6e5, 3.2e5];
  const points = params.map((p) => ({
    size: { nLayer: 4, nEmbd: 32, nHead: 2 },
    params: p,
    runs: [],
    loss: { mean: loss + 0.1 * (Math.log(p) - Math.log(opt)) ** 2, sd: 0.01, n: 2 },
  }));
  const fit = isoFit(points.map((p) => ({ x: Math.log(p.params), loss: p.loss.mean })));
  return { budget, arm, points, fit, seedOptima: [fit.optimum, { x: fit.optimum.x + 0.1, loss: fit.optimum.loss + 0.01 }], nearest: points[1]! };
}

describe('sweep plots', () => {
  const curves = [synthetic(1e11, 'dense', 6e4, 3), synthetic(1e11, 'mod', 9e4, 2.9), synthetic(3e11, 'dense', 1e5, 2.6), synthetic(3e11, 'mod', 1.4e5, 2.5)];

  test('isoflop.svg: a fitted line per budget and variant, a point per run, an optimum mark per curve', async () => {
    const svg = await renderSvg(isoflopSpec(curves, 'isoFLOP'));
    const doc = checkXml(svg);
    assert.equal(doc.root, 'svg');
    assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 4);
    assert.equal((svg.match(/aria-roledescription="point"/g) ?? []).length, 16 + 4);
    assert.match(doc.text, /^1e\+11 FLOPs$/m);
  });

  test('optimum.svg: a line per variant through the budgets', async () => {
    const svg = await renderSvg(optimumSpec(curves, 'optimum'));
    assert.equal(checkXml(svg).root, 'svg');
    assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 2);
  });
});
