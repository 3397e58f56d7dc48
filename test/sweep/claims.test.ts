// The verdict rule and the pooled seed spread behind the claims table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pooledSeedSd } from '../../src/sweep/analysis.js';
import { judge } from '../../src/sweep/claims.js';

/** What pooledSeedSd reads of a finished run. */
function run(budget: number, nEmbd: number, arm: 'dense' | 'mod', valLoss: number): Parameters<typeof pooledSeedSd>[0][number] {
  return { budget, arm, size: { nLayer: 4, nEmbd, nHead: 2 }, summary: { figures: { valLoss } } };
}

describe('claims', () => {
  test('a difference holds beyond −2 se, does not hold beyond +2 se, else is inconclusive; no spread → inconclusive', () => {
    assert.equal(judge(-0.05, 0.02).verdict, 'holds');
    assert.equal(judge(0.05, 0.02).verdict, 'does not hold');
    assert.equal(judge(-0.03, 0.02).verdict, 'inconclusive');
    assert.match(judge(-0.03, 0.02).why, /within the spread/);
    assert.equal(judge(-0.5, null).verdict, 'inconclusive');
    assert.match(judge(-0.5, null).why, /no seed spread/);
  });

  test('the seed spread is pooled over groups that differ only in seed, weighted by degrees of freedom', () => {
    // Group 1: 1.0, 1.2 (var 0.02, df 1); group 2: 2.0, 2.1, 2.2 (var 0.01, df 2); singletons ignored.
    const runs = [run(1e11, 16, 'mod', 1.0), run(1e11, 16, 'mod', 1.2), run(1e11, 24, 'dense', 2.0), run(1e11, 24, 'dense', 2.1), run(1e11, 24, 'dense', 2.2),
      run(1e11, 32, 'mod', 5), run(3e11, 16, 'mod', 7)];
    const pooled = pooledSeedSd(runs)!;
    assert.equal(pooled.df, 3);
    assert.ok(Math.abs(pooled.sd - Math.sqrt((0.02 + 2 * 0.01) / 3)) < 1e-12, String(pooled.sd));
    assert.equal(pooledSeedSd([run(1e11, 16, 'mod', 1), run(1e11, 24, 'mod', 2)]), null);
  });
});
