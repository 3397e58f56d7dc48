// The isoFLOP fit: a parabola in ln(parameters) recovers a known optimum; edge cases fall back to the lowest point.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalParabola, fitParabola, isoFit, type Point } from '../../src/sweep/fit.js';
import { rng } from '../helpers.js';

/** Loss a·(x − x*)² + L* at ln(params) of a ladder ×2 apart, plus optional noise. */
function curve(optParams: number, optLoss: number, a: number, params: number[], noise = 0, seed = 1): Point[] {
  const r = rng(seed);
  const xs = Math.log(optParams);
  return params.map((p) => ({ x: Math.log(p), loss: a * (Math.log(p) - xs) ** 2 + optLoss + noise * (r() - 0.5) }));
}

const LADDER = [1e5, 2e5, 4e5, 8e5, 1.6e6, 3.2e6];

describe('the isoFLOP parabola', () => {
  test('an exact parabola is recovered: coefficients, vertex and optimal loss', () => {
    const pts = curve(6e5, 1.62, 0.05, LADDER);
    const p = fitParabola(pts)!;
    const xs = Math.log(6e5);
    assert.ok(Math.abs(p.a - 0.05) < 1e-9, `a = ${p.a}`);
    assert.ok(Math.abs(p.b - -2 * 0.05 * xs) < 1e-7, `b = ${p.b}`);
    const fit = isoFit(pts);
    assert.equal(fit.method, 'vertex');
    assert.ok(Math.abs(Math.exp(fit.optimum.x) - 6e5) / 6e5 < 1e-6, `optimum ${Math.exp(fit.optimum.x)}`);
    assert.ok(Math.abs(fit.optimum.loss - 1.62) < 1e-9);
    for (const q of pts) assert.ok(Math.abs(evalParabola(p, q.x) - q.loss) < 1e-9);
  });

  test('with noise, the optimum lands near the true one; between ladder points too', () => {
    for (const [opt, seed] of [[3e5, 2], [1.2e6, 3], [2.5e6, 4]] as const) {
      const fit = isoFit(curve(opt, 1.9, 0.08, LADDER, 0.004, seed));
      assert.equal(fit.method, 'vertex');
      const ratio = Math.exp(fit.optimum.x) / opt;
      assert.ok(ratio > 0.8 && ratio < 1.25, `optimum ${opt}: fitted ${Math.exp(fit.optimum.x)}`);
      assert.ok(Math.abs(fit.optimum.loss - 1.9) < 0.005);
    }
  });

  test('a monotone curve has its vertex outside the ladder: the lowest point is the optimum', () => {
    const fit = isoFit(curve(1e7, 1.5, 0.05, LADDER));
    assert.equal(fit.method, 'lowest point (vertex outside the ladder)');
    assert.ok(Math.abs(Math.exp(fit.optimum.x) - 3.2e6) < 1);
  });

  test('a curve bending down has no minimum; fewer than 3 sizes cannot be fitted', () => {
    const down = curve(6e5, 2, -0.05, LADDER);
    assert.equal(isoFit(down).method, 'lowest point (the fit has no minimum)');
    assert.equal(isoFit(down).optimum.loss, Math.min(...down.map((p) => p.loss)));
    const two = curve(6e5, 2, 0.05, [1e5, 2e5]);
    assert.equal(fitParabola(two), null);
    assert.equal(isoFit(two).method, 'lowest point (fewer than 3 sizes)');
    assert.ok(Math.abs(Math.exp(isoFit(two).optimum.x) - 2e5) < 1);
  });
});
