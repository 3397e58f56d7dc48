// `mod sweep` arguments: defaults, and a one-line error naming the value for a bad value of every option.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { EXIT_USER_ERROR, main } from '../../src/cli/main.js';
import { parseSweepArgs } from '../../src/cli/sweep-options.js';
import { DEFAULT_LADDER, parseLadder, sizedModel } from '../../src/sweep/ladder.js';
import { planClaims, planIsoflop } from '../../src/sweep/plan.js';
import { paramCounts } from '../../src/model/flops.js';
import { getPreset } from '../../src/train/presets.js';

describe('mod sweep options', () => {
  test('defaults: dense and mod, 1 seed, 3 claim seeds at the largest budget, the default ladder', () => {
    const o = parseSweepArgs(['--budgets=1e13,3e12']);
    assert.deepEqual(o.budgets, [3e12, 1e13]);
    assert.deepEqual(o.variants, ['dense', 'mod']);
    assert.deepEqual([o.seeds, o.claimSeeds, o.claimsBudget, o.evals, o.out, o.runsDir, o.resume], [1, 3, 1e13, 4, 'out/sweep', 'out/sweep/runs', false]);
    assert.equal(o.sizes.length, 5);
    assert.equal(parseSweepArgs(['--budgets=1e13', '--resume']).resume, true);
    assert.equal(o.maxEpochs, Number.POSITIVE_INFINITY);
    assert.equal(parseSweepArgs(['--budgets=1e13', '--max-epochs=8']).maxEpochs, 8);
  });

  test('the default ladder spans about 0.1M to 3M parameters on byte-level Brown', () => {
    const base = getPreset('brown-small').model;
    const params = parseLadder(DEFAULT_LADDER).map((s) => paramCounts(sizedModel(base, s)).total);
    assert.ok(params[0]! > 0.1e6 && params[0]! < 0.15e6, `smallest ${params[0]}`);
    assert.ok(params[params.length - 1]! > 2.5e6 && params[params.length - 1]! < 3e6, `largest ${params[params.length - 1]}`);
    for (let i = 1; i < params.length; i++) assert.ok(params[i]! / params[i - 1]! > 1.5, 'log-spaced');
  });

  test('isoFLOP runs: budget × size × variant × seed, named by what they train; claim runs already trained are not repeated', () => {
    const o = parseSweepArgs(['--budgets=1e13,3e13', '--sizes=L2C64,L4C128', '--seeds=2', '--variants=dense,mod,random', '--runs=/tmp/r']);
    const runs = planIsoflop(o);
    assert.equal(runs.length, 2 * 2 * 3 * 2);
    assert.equal(runs[0]!.planned.name, 'b1e13/L2C64H2-dense-s1337');
    assert.equal(runs[0]!.planned.run.train.out, '/tmp/r/b1e13/L2C64H2-dense-s1337');
    for (const r of runs) assert.ok(Math.abs(r.planned.run.train.maxIters * r.planned.flopsPerStep - r.budget) <= r.planned.flopsPerStep / 2);
    const claims = planClaims(o, o.sizes[1]!, runs);
    // 3 claim seeds: the third learned and random seeds, capacity 0.5 and every 4th (L4 routes block 3).
    assert.deepEqual(claims.map((r) => r.planned.name), ['b3e13/L4C128H4-mod-s1339', 'b3e13/L4C128H4-random-s1339', 'b3e13/L4C128H4-mod-c0.5-s1337', 'b3e13/L4C128H4-mod-every4-s1337']);
    assert.deepEqual(claims.map((r) => [r.planned.run.model.mod?.capacity, r.planned.run.model.mod?.every, r.planned.run.model.mod?.routing]),
      [[0.125, 2, 'learned'], [0.125, 2, 'random'], [0.5, 2, 'learned'], [0.125, 4, 'learned']]);
    assert.ok(!planClaims(o, o.sizes[0]!, runs).some((r) => r.arm === 'mod-every4'), 'a 2-layer optimum cannot route every 4th block');
  });

  const BAD: Array<[string[], RegExp]> = [
    [[], /mod sweep needs --budgets LIST/],
    [['--budgets='], /--budgets='' is empty/],
    [['--budgets=abc'], /--budgets/],
    [['--budgets=0'], /--budgets=0 is out of range/],
    [['--budgets=-1e12'], /--budgets=-1000000000000 is out of range/],
    [['--budgets=1e12,1e12'], /--budgets='1e12,1e12' lists a budget twice/],
    [['--budgets=1', '--sizes=L2C64'], /--budgets=1\.000e\+0 is less than half a training step of the L2C64H2-dense-s1337 model .*raise --budgets/],
    [['--budgets=1e12', '--sizes=L4'], /--sizes: 'L4' is not a size: write L<layers>C<width>\[H<heads>\]/],
    [['--budgets=1e12', '--sizes=L4C48'], /--sizes: 'L4C48': width 48 is not a multiple of 32, so give the heads, e\.g\. L4C48H3/],
    [['--budgets=1e12', '--sizes=L0C32'], /--sizes: 'L0C32' needs at least 1 layer/],
    [['--budgets=1e12', '--sizes=L4C32H3'], /--sizes: 'L4C32H3': width 32 does not split into 3 heads/],
    [['--budgets=1e12', '--sizes=L4C32,L4C32H1'], /--sizes: L4C32H1 is listed twice/],
    [['--budgets=1e12', '--sizes=,'], /--sizes=',' is empty/],
    [['--budgets=1e12', '--variants=dense,moe'], /--variants: unknown variant 'moe'/],
    [['--budgets=1e12', '--variants=mod,mod'], /--variants: 'mod' is listed twice/],
    [['--budgets=1e12', '--seeds=0'], /--seeds=0 is out of range/],
    [['--budgets=1e12', '--seeds=two'], /--seeds/],
    [['--budgets=1e12', '--claim-seeds=-1'], /--claim-seeds=-1 is out of range/],
    [['--budgets=1e12', '--variants=dense'], /--claim-seeds=3 needs the mod variant/],
    [['--budgets=1e12,1e13', '--claims-budget=3e12'], /--claims-budget=3000000000000 is not one of --budgets/],
    [['--budgets=1e12', '--claims-budget=x'], /--claims-budget/],
    [['--budgets=1e12', '--evals=0'], /--evals=0 is out of range/],
    [['--budgets=1e12', '--max-epochs=0'], /--max-epochs=0 is out of range/],
    [['--budgets=1e12', '--max-epochs=many'], /--max-epochs/],
    [['--budgets=1e12', '--out='], /--out='' is not a directory/],
    [['--budgets=1e12', '--runs=null'], /--runs='null' is not a directory/],
    [['--budgets=1e12', '--resume=maybe'], /--resume/],
    [['--budgets=1e12', '--maxIters=10'], /--maxIters cannot be set for mod sweep: the budget decides it/],
    [['--budgets=1e12', '--nLayers=4'], /nLayers/],
  ];
  for (const [args, re] of BAD) {
    test(`bad value: ${args.join(' ') || '(none)'}`, async () => {
      const io = captureIo();
      // Every case fails before a run starts (and before the output directory is made).
      assert.equal(await main(['sweep', ...args], io), EXIT_USER_ERROR, io.stdout);
      assert.match(io.stderr, /^error: [^\n]+\n$/, 'one line');
      assert.match(io.stderr, re);
    });
  }
});
