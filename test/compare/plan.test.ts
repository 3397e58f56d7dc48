// `mod compare` planning: the budget → steps, evaluation points, variants and size matching; argument parsing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCompareArgs } from '../../src/cli/compare-options.js';
import { budgetSteps, evalPoints, matchSize, planComparison, variantModel, variantModels } from '../../src/compare/plan.js';
import { ConfigError } from '../../src/errors.js';
import { forwardFlops } from '../../src/model/flops.js';
import { getPreset } from '../../src/train/presets.js';

const TINY = ['--nLayer=2', '--nEmbd=32', '--blockSize=32', '--batchSize=4', '--evalIters=2'];

describe('the budget', () => {
  test('every variant spends the budget within half a step, so any two within one step', () => {
    const opts = parseCompareArgs(['--budget=3e13', '--preset=brown-small', '--out=/tmp/x']);
    const plan = planComparison(opts);
    assert.deepEqual(plan.runs.map((r) => r.variant), ['dense', 'mod', 'random']);
    for (const r of plan.runs) {
      const spent = r.run.train.maxIters * r.flopsPerStep;
      assert.ok(Math.abs(spent - 3e13) <= r.flopsPerStep / 2, `${r.name}: ${spent} vs 3e13`);
      assert.equal(r.run.train.lrDecayIters, r.run.train.maxIters);
      assert.ok(r.run.train.warmupIters <= r.run.train.maxIters);
    }
    const dense = plan.runs[0]!;
    // 10.9 GFLOP per dense step (docs/flops.md): 3e13 / 1.0878e10 = 2757.9 → 2758 steps.
    assert.equal(dense.run.train.maxIters, 2758);
    assert.ok(plan.runs[1]!.run.train.maxIters > dense.run.train.maxIters, 'the cheaper MoD model takes more steps');
  });

  test('a budget below half a step is an error; steps round to the nearest', () => {
    assert.throws(() => budgetSteps(4, 10, 'dense'), /less than half a training step of the dense model/);
    assert.equal(budgetSteps(25, 10, 'dense'), 3);
    assert.equal(budgetSteps(24.9, 10, 'dense'), 2);
  });

  test('evaluations fall at evenly spaced FLOPs: iteration round(j·steps/evals)', () => {
    assert.deepEqual(evalPoints(100, 4), [25, 50, 75, 100]);
    assert.deepEqual(evalPoints(10, 3), [3, 7, 10]);
    assert.deepEqual(evalPoints(2, 5), [1, 2], 'duplicates dropped');
  });

  test('seeds repeat the variants with seed, seed+1, ...; runs get their own directories', () => {
    const plan = planComparison(parseCompareArgs(['--budget', '1e9', ...TINY, '--seeds=2', '--seed=5', '--variants=mod,dense', '--out=/tmp/cmp-x']));
    assert.deepEqual(plan.runs.map((r) => r.name), ['mod-s5', 'dense-s5', 'mod-s6', 'dense-s6']);
    assert.deepEqual(plan.runs.map((r) => r.run.train.out), ['mod-s5', 'dense-s5', 'mod-s6', 'dense-s6'].map((n) => `/tmp/cmp-x/runs/${n}`));
    assert.equal(plan.runs[0]!.run.train.maxIters, plan.runs[2]!.run.train.maxIters);
  });
});

describe('variants', () => {
  test('dense drops the mod section, mod routes with a router, random at the same capacity by random scores', () => {
    const base = parseCompareArgs(['--budget=1e9', '--preset=brown-mod-small', '--mod.capacity=0.25', '--mod.every=3']).base.model;
    assert.equal(variantModel(base, 'dense').mod, undefined);
    const mod = variantModel(base, 'mod').mod!;
    const random = variantModel(base, 'random').mod!;
    assert.deepEqual([mod.capacity, mod.every, mod.routing], [0.25, 3, 'learned']);
    assert.deepEqual([random.capacity, random.every, random.routing], [0.25, 3, 'random']);
  });

  test('a dense preset gets the default MoD section: capacity 0.125, every 2nd block', () => {
    const base = getPreset('brown-small').model;
    const mod = variantModel(base, 'mod').mod!;
    assert.deepEqual([mod.capacity, mod.every, mod.routing], [0.125, 2, 'learned']);
  });
});

describe('--match', () => {
  const base = getPreset('brown-small').model;
  const target = forwardFlops(base).perSequence;

  test('none keeps the dims', () => {
    const models = variantModels(base, ['dense', 'mod', 'random'], 'none');
    assert.equal(models.get('mod')!.nLayer, 4);
    assert.equal(models.get('mod')!.nEmbd, 128);
  });

  test('depth adds layers in groups of `every` and picks the closest forward FLOPs: brown-small → 8 layers', () => {
    const { pick, candidates } = matchSize(variantModel(base, 'mod'), target, 'depth');
    assert.deepEqual(candidates.map((c) => c.config.nLayer), [4, 6, 8], 'tried up to the first at or above dense');
    for (const c of candidates) assert.ok(Math.abs(pick.forwardFlops - target) <= Math.abs(c.forwardFlops - target));
    assert.equal(pick.config.nLayer, 8); // 1.113 × dense, against 0.844 × for 6 layers
    assert.equal(pick.config.nEmbd, 128);
  });

  test('width grows nEmbd in steps of 2·nHead and picks the closest: brown-small → 168', () => {
    const { pick, candidates } = matchSize(variantModel(base, 'mod'), target, 'width');
    assert.deepEqual(candidates.map((c) => c.config.nEmbd), [128, 136, 144, 152, 160, 168, 176]);
    assert.equal(pick.config.nEmbd, 168); // 0.960 × dense, against 1.048 × for 176
    assert.equal(pick.config.nLayer, 4);
  });

  test('random takes the matched size of mod; only the routing differs', () => {
    const models = variantModels(base, ['dense', 'mod', 'random'], 'width');
    const { mod: m1, ...a } = models.get('mod')!;
    const { mod: m2, ...b } = models.get('random')!;
    assert.deepEqual(a, b);
    assert.deepEqual({ ...m1, routing: 'random' }, m2);
    assert.equal(models.get('dense')!.nEmbd, 128);
  });
});

describe('arguments', () => {
  test('the budget takes 3e13-style numbers and is required', () => {
    assert.equal(parseCompareArgs(['--budget=3e13']).budget, 3e13);
    assert.equal(parseCompareArgs(['--budget', '2.5E12']).budget, 2.5e12);
    assert.throws(() => parseCompareArgs([]), /needs --budget/);
    assert.throws(() => parseCompareArgs(['--budget=lots']), ConfigError);
    assert.throws(() => parseCompareArgs(['--budget=0']), /out of range/);
  });

  test('keys the budget decides are refused; unknown variants and config keys are errors', () => {
    assert.throws(() => parseCompareArgs(['--budget=1e9', '--maxIters=10']), /--maxIters cannot be set for mod compare/);
    assert.throws(() => parseCompareArgs(['--budget=1e9', '--lrDecayIters=10']), /cannot be set/);
    assert.throws(() => parseCompareArgs(['--budget=1e9', '--variants=dense,moe']), /unknown variant 'moe'/);
    assert.throws(() => parseCompareArgs(['--budget=1e9', '--variants=mod,mod']), /listed twice/);
    assert.throws(() => parseCompareArgs(['--budget=1e9', '--nLayers=3']), /unknown config key 'nLayers'/);
    assert.throws(() => parseCompareArgs(['--budget=1e9', '--match=taller']), /one of none, depth, width/);
  });

  test('model and train overrides reach the base run; a user-set warmupIters is kept', () => {
    const o = parseCompareArgs(['--budget=1e9', ...TINY, '--warmupIters=3', '--out=/tmp/o', '--runs=/tmp/r']);
    assert.equal(o.base.model.nEmbd, 32);
    assert.equal(o.base.train.batchSize, 4);
    assert.equal(o.runsDir, '/tmp/r');
    const plan = planComparison(o);
    for (const r of plan.runs) assert.equal(r.run.train.warmupIters, 3);
    assert.ok(plan.runs.every((r) => r.run.train.out.startsWith('/tmp/r/')));
  });
});
