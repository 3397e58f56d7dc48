// The Mixture-of-Depths routed block, checked against the paper's definition detail by detail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backward, noGrad, releaseGraph, tapeNodes } from '../../src/engine/autograd.js';
import { add, sequencePositions } from '../../src/engine/ops.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import { type ModConfig, type ModelConfig, routedK } from '../../src/model/config.js';
import { Block } from '../../src/model/gpt.js';
import { gatherPositions, RoutedBlock, type RoutingMode } from '../../src/model/mod.js';
import type { LayerCache } from '../../src/nn/layer-cache.js';
import { gradCheck } from '../engine/gradcheck.js';
import { randArray, realisticWeights } from '../helpers.js';

const base: ModelConfig = {
  vocabSize: 11,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 8,
  mlpRatio: 4,
  bias: true,
  tiedEmbeddings: true,
  positions: 'learned',
};
// The top-k path alone: the router is the causal rule and no BCE is added (test/model/causal.test.ts covers those).
const learned: ModConfig = { capacity: 0.25, every: 2, routerWeight: 'raw', routing: 'learned', causal: 'aux', auxWeight: 0, predictorHidden: 4 };

function makeBlock(mod: Partial<ModConfig> = {}, cfg: Partial<ModelConfig> = {}, seed = 1): RoutedBlock {
  const m = { ...learned, ...mod };
  return new RoutedBlock({ ...base, ...cfg, mod: m }, m, new Rng(seed), new Rng(seed + 100));
}

/** The realistic-scale checks' config: C = 16 in 2 heads of 8, rotary positions. */
const wide: ModelConfig = { ...base, blockSize: 32, nEmbd: 16, positions: 'rope' };
/** Tolerance of the definition checks (outputs are O(1)); every broken variant must miss by >= 100× this. */
const TOL = 1e-4;

/** A realistic-scale routed block of config `wide`, built as class K (RoutedBlock or a broken subclass). */
function wideBlock(mod: Partial<ModConfig>, seed: number, K: typeof RoutedBlock = RoutedBlock, routingRng: Rng = new Rng(seed + 100)): RoutedBlock {
  const m = { ...learned, ...mod };
  const rb = new K({ ...wide, mod: m }, m, new Rng(seed), routingRng);
  // std 0.2 at C = 16: attention logits spread over several units and the update r·f is O(1), not O(1e-4).
  realisticWeights(rb, new Rng(seed + 7), 0.2);
  return rb;
}

/** A (B, T, C) residual stream of unit-scale normal entries. */
function stream(b: number, t: number, c: number, seed: number): Tensor {
  return Tensor.from(new Rng(seed).fillNormal(new Float32Array(b * t * c), 1), [b, t, c]);
}

function input(b: number, t: number, c: number, seed: number): Tensor {
  return Tensor.from(randArray(b * t * c, seed), [b, t, c], true);
}

/** Router weights that make the scores of x well separated (so small perturbations keep the selection). */
function spreadRouter(rb: RoutedBlock, seed: number): void {
  const w = rb.router!.weight.data;
  w.set(randArray(w.length, seed, 2));
}

/** A dense Block of config cfg holding rb's weights (it has every parameter of the dense block). */
function denseTwin(rb: RoutedBlock, cfg: ModelConfig): Block {
  const dense = new Block(cfg, new Rng(0));
  const weights = new Map(rb.namedParameters());
  for (const [name, p] of dense.namedParameters()) {
    const w = weights.get(name);
    assert.ok(w !== undefined && w.size === p.size, `routed block lacks the dense parameter ${name}`);
    p.data.set(w.data);
  }
  return dense;
}

/** Rows `rows` of sequence `s` of x (B, T, C) as a (1, N, C) tensor. */
function rowsOf(x: Tensor, s: number, rows: number[]): Tensor {
  const [, t, c] = x.shape as [number, number, number];
  return Tensor.from(rows.flatMap((i) => Array.from(x.data.subarray((s * t + i) * c, (s * t + i + 1) * c))), [1, rows.length, c]);
}

/**
 * The routed block against the paper's definition, computed without RoutedBlock's own code: per sequence, a dense
 * Block with the same weights runs on the processed rows at their ORIGINAL positions (f = Block(x̃) − x̃), and
 * y_i = x_i + w_i·f_i for processed i, y_i = x_i otherwise, where r_i = router · x_i (recomputed here in float64) and
 * w = r or sigmoid(r) as configured or as `weight` says, or 1 under `unscaled`. mode: top-k or the causal rule (the
 * processed rows are the block's decision; test/model/causal.test.ts checks the decision itself). Returns the
 * largest |y − block output|, the largest |w·f| (the size of the update being checked) and the rows processed.
 */
function definitionError(rb: RoutedBlock, x: Tensor, cfg: ModelConfig, weight: 'configured' | 'raw' | 'sigmoid' | 'unscaled' = 'configured', mode: RoutingMode = 'topk'): { err: number; update: number; rows: number } {
  const rule = weight === 'configured' ? rb.mod.routerWeight : weight;
  const [b, t, c] = x.shape as [number, number, number];
  const pos = sequencePositions(b, t);
  const dense = denseTwin(rb, cfg);
  const router = rb.router?.weight.data;
  return noGrad(() => {
    const out = rb.forward(x, pos, mode);
    assert.equal(out.mode, mode);
    const y = out.x.data.slice();
    const want = x.data.slice();
    let update = 0;
    let processed = 0;
    for (let s = 0; s < b; s++) {
      const rows = Array.from(out.processed[s]!);
      processed += rows.length;
      if (rows.length === 0) continue;
      const xs = rowsOf(x, s, rows);
      const f = dense.forward(xs, Int32Array.from(rows)).data;
      rows.forEach((row, j) => {
        let r = 0;
        for (let q = 0; q < c && router !== undefined; q++) r += router[q]! * xs.data[j * c + q]!;
        const w = rule === 'unscaled' ? 1 : rule === 'sigmoid' ? 1 / (1 + Math.exp(-r)) : r;
        for (let q = 0; q < c; q++) {
          const u = w * (f[j * c + q]! - xs.data[j * c + q]!);
          want[(s * t + row) * c + q]! += u;
          update = Math.max(update, Math.abs(u));
        }
      });
    }
    releaseGraph();
    return { err: y.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0), update, rows: processed };
  });
}

/** Sets rb's causal threshold to the median of its causal logits on x, so that about half the tokens pass. */
function medianBias(rb: RoutedBlock, x: Tensor): RoutedBlock {
  const z = noGrad(() => Float64Array.from(rb.causalLogits(x).data).sort());
  releaseGraph();
  const mid = z.length >> 1;
  rb.causalBias = (z[mid - 1]! + z[mid]!) / 2;
  return rb;
}

/** Broken on purpose: attention at the squeezed positions 0..k-1 instead of the original ones. */
class SqueezedPositions extends RoutedBlock {
  override update(x: Tensor, pos: Int32Array, cache?: LayerCache): Tensor {
    return super.update(x, Int32Array.from(pos, (_, j) => j), cache);
  }
}

/** Broken on purpose: the MLP reads ln_2(x) instead of ln_2(x + a). */
class MlpSkipsAttention extends RoutedBlock {
  override update(x: Tensor, pos: Int32Array): Tensor {
    const a = this.attn.forward(this.ln1.forward(x), pos);
    return add(a, this.mlp.forward(this.ln2.forward(x)));
  }
}

/** Broken on purpose: `random` routing whose scores are constant, so top-k takes the first k tokens every time. */
class ConstantRng extends Rng {
  override next(): number {
    return 0.5;
  }
}

/** Pearson's statistic Σ (O − E)² / E of counts against a uniform expectation. */
function chiSquare(counts: number[], expected: number): number {
  return counts.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
}

/** The χ² critical value at p = 0.001 for 15 degrees of freedom (T = 16 cells). */
const CHI2_15_P001 = 37.697;

/** How often each of T positions is chosen by `random` routing over passes × B sequences. */
function selectionCounts(rb: RoutedBlock, passes: number, b: number, t: number, c: number): number[] {
  const counts = new Array<number>(t).fill(0);
  const x = Tensor.from(randArray(b * t * c, 40), [b, t, c]);
  for (let p = 0; p < passes; p++) {
    noGrad(() => {
      for (const i of rb.forward(x, sequencePositions(b, t)).topk!.idx) counts[i]!++;
    });
    releaseGraph();
  }
  return counts;
}

describe('routedK', () => {
  it('is ceil(capacity·T), at least 1 and at most T', () => {
    assert.equal(routedK(0.125, 64), 8);
    assert.equal(routedK(0.125, 256), 32);
    assert.equal(routedK(0.125, 12), 2);
    assert.equal(routedK(0.125, 1), 1);
    assert.equal(routedK(1, 17), 17);
    assert.equal(routedK(0.5, 3), 2);
    assert.equal(routedK(0.3, 0), 0);
  });
});

describe('RoutedBlock', () => {
  it('at capacity 1.0 equals the dense block update scaled by r (realistic weights; ln_2(x) instead of ln_2(x + a) fails)', () => {
    const x = stream(2, 12, 16, 3);
    for (const seed of [1, 2, 3]) {
      const { err, update } = definitionError(wideBlock({ capacity: 1 }, seed), x, wide);
      assert.ok(update > 0.5, `the update r·f is O(1) (${update})`);
      assert.ok(err < TOL, `seed ${seed}: |y − (x + r·f)| = ${err}`);
      const broken = definitionError(wideBlock({ capacity: 1 }, seed, MlpSkipsAttention), x, wide).err;
      assert.ok(broken > 100 * TOL, `seed ${seed}: the broken MLP input misses by only ${broken}`);
    }
  });

  it('with sigmoid router weights scales by sigmoid(r), not by r', () => {
    const x = stream(1, 8, 16, 5);
    const rb = wideBlock({ capacity: 1, routerWeight: 'sigmoid' }, 4);
    assert.ok(definitionError(rb, x, wide).err < TOL);
    assert.ok(definitionError(rb, x, wide, 'raw').err > 100 * TOL, 'control: the check tells sigmoid(r) from r');
    const raw = wideBlock({ capacity: 1, routerWeight: 'raw' }, 4);
    assert.ok(definitionError(raw, x, wide, 'sigmoid').err > 100 * TOL, 'control: and r from sigmoid(r)');
  });

  it('passes unselected tokens through bit-identical and changes the selected ones', () => {
    const rb = makeBlock({ capacity: 0.25 });
    spreadRouter(rb, 9);
    const [b, t, c] = [3, 8, 8];
    const x = input(b, t, c, 4);
    noGrad(() => {
      const out = rb.forward(x, sequencePositions(b, t));
      const y = out.x;
      const { idx, k } = out.topk!;
      assert.equal(k, 2);
      for (let s = 0; s < b; s++) {
        const chosen: Set<number> = new Set(Array.from(idx.subarray(s * k, s * k + k)));
        for (let i = 0; i < t; i++) {
          const row = (s * t + i) * c;
          const same = y.data.subarray(row, row + c).every((v, j) => Object.is(v, x.data[row + j]));
          assert.equal(same, !chosen.has(i), `sequence ${s} token ${i}: ${chosen.has(i) ? 'selected but unchanged' : 'skipped but changed'}`);
        }
      }
      releaseGraph();
    });
  });

  it('runs attention and MLP on the k selected rows only (no compute-then-mask)', () => {
    const rb = makeBlock({ capacity: 0.25 });
    const [b, t, c] = [2, 16, 8];
    const x = input(b, t, c, 6);
    rb.forward(x, sequencePositions(b, t));
    const k = routedK(0.25, t);
    const shapes = tapeNodes().map((n) => `${n.op}:${n.inputs[0]!.shape.join('x')}`);
    releaseGraph();
    // The router reads all T tokens; every matmul of attention and MLP sees B·K rows.
    const linears = shapes.filter((s) => s.startsWith('linear:'));
    assert.deepEqual(linears[0], `linear:${b}x${t}x${c}`, 'router over all tokens');
    for (const s of linears.slice(1)) assert.ok(s.startsWith(`linear:${b}x${k}x`), `${s} should run on K = ${k} rows`);
    const attn = shapes.filter((s) => s.startsWith('attention:'));
    assert.deepEqual(attn, [`attention:${b}x${k}x${3 * c}`]);
  });

  it('picks top-k per sequence, never across the batch', () => {
    const rb = makeBlock({ capacity: 0.25 });
    spreadRouter(rb, 2);
    const [b, t, c] = [3, 8, 8];
    const x = input(b, t, c, 8);
    // Make sequence 0's tokens score far higher than the others: a batch-wide top-k would take only those.
    const w = rb.router!.weight.data;
    for (let i = 0; i < t; i++) for (let j = 0; j < c; j++) x.data[i * c + j] = 10 * Math.sign(w[j]!) + x.data[i * c + j]!;
    const batched = noGrad(() => {
      const out = rb.forward(x, sequencePositions(b, t));
      const y = out.x.data.slice();
      const idx = out.topk!.idx.slice();
      assert.equal(out.mode, 'topk');
      assert.deepEqual(out.processed.map((p) => Array.from(p)), [0, 1, 2].map((s) => Array.from(idx.subarray(s * 2, s * 2 + 2))), 'processed = the top-k rows');
      releaseGraph();
      return { y, idx };
    });
    const k = routedK(0.25, t);
    for (let s = 0; s < b; s++) {
      const xs = Tensor.from(x.data.subarray(s * t * c, (s + 1) * t * c), [1, t, c]);
      noGrad(() => {
        const { x: y, topk } = rb.forward(xs, sequencePositions(1, t));
        assert.deepEqual(Array.from(topk!.idx), Array.from(batched.idx.subarray(s * k, (s + 1) * k)), `sequence ${s} selection`);
        const want = batched.y.subarray(s * t * c, (s + 1) * t * c);
        for (let i = 0; i < y.size; i++) assert.ok(Math.abs(y.data[i]! - want[i]!) < 1e-6);
        releaseGraph();
      });
    }
  });

  it('chooses exactly k tokens when all scores tie, the earliest positions first', () => {
    const rb = makeBlock({ capacity: 0.375 });
    rb.router!.weight.data.fill(0);
    const [b, t] = [2, 8];
    noGrad(() => {
      const { topk } = rb.forward(input(b, t, 8, 10), sequencePositions(b, t));
      assert.deepEqual(Array.from(topk!.idx), [0, 1, 2, 0, 1, 2]);
      releaseGraph();
    });
  });

  it('keeps the original positions of the selected tokens (RoPE is not squeezed to 0..k-1)', () => {
    // Realistic weights: attention is far from uniform, so where the keys sit matters by O(0.1) or more.
    const [b, t, c] = [2, 16, 16];
    const x = stream(b, t, c, 12);
    const pos = sequencePositions(b, t);
    for (const seed of [11, 12, 13]) {
      const rb = wideBlock({ capacity: 0.5 }, seed);
      const { idx, k } = noGrad(() => rb.forward(x, pos).topk!);
      const orig = Array.from(gatherPositions(pos, idx, b, t, k));
      releaseGraph();
      assert.deepEqual(orig, Array.from(idx), 'the positions of the chosen rows are their original positions');
      assert.ok(orig.slice(0, k).some((p, j) => p !== j), 'the selection has gaps, so squeezing would move tokens');
      const { err, update } = definitionError(rb, x, wide);
      assert.ok(update > 0.5, `the update r·f is O(1) (${update})`);
      assert.ok(err < TOL, `seed ${seed}: output = x + r·f(x̃) at the original positions, off by ${err}`);
      const squeezed = definitionError(wideBlock({ capacity: 0.5 }, seed, SqueezedPositions), x, wide).err;
      assert.ok(squeezed > 100 * TOL, `seed ${seed}: squeezed positions miss by only ${squeezed}`);
    }
  });

  it('is causal among the selected tokens: earlier outputs ignore later tokens', () => {
    const rb = makeBlock({ capacity: 0.5 });
    const [k, c] = [4, 8];
    const pos = Int32Array.from([1, 3, 4, 7]);
    const xs = input(1, k, c, 13);
    noGrad(() => {
      const before = rb.update(xs, pos).data.slice();
      releaseGraph();
      const later = Tensor.from(xs.data, [1, k, c]);
      for (let j = 2 * c; j < k * c; j++) later.data[j] = later.data[j]! + 1;
      const after = rb.update(later, pos).data;
      for (let j = 0; j < 2 * c; j++) assert.ok(Object.is(after[j], before[j]), `element ${j} changed`);
      assert.ok(after.subarray(2 * c).some((v, j) => v !== before[2 * c + j]), 'later rows do change');
      releaseGraph();
    });
  });

  it('passes the gradient check, router included', () => {
    const rb = makeBlock({ capacity: 0.5 });
    spreadRouter(rb, 14);
    const [b, t, c] = [2, 6, 8];
    const x = input(b, t, c, 15);
    const pos = sequencePositions(b, t);
    const sel = noGrad(() => {
      const s = rb.forward(x, pos).topk!.idx.slice();
      releaseGraph();
      return s;
    });
    const f = (): Tensor => {
      const { x: y, topk } = rb.forward(x, pos);
      assert.deepEqual(Array.from(topk!.idx), Array.from(sel), 'a perturbation changed the selection; widen the score gaps');
      return y;
    };
    const params = [rb.router!.weight, rb.attn.cAttn.weight, rb.mlp.cFc.weight, rb.ln1.weight];
    gradCheck('routed block', f, [x, ...params], { eps: 1e-3, rtol: 2e-2, atol: 2e-3, sample: 40 });
  });

  it('names its parameters as the checkpoint does: router.weight (no bias), predictor.fc/proj weight and bias', () => {
    const names = (mod: Partial<ModConfig>): string[] => makeBlock(mod).namedParameters().map(([n]) => n).filter((n) => /router|predictor/.test(n));
    assert.deepEqual(names({ causal: 'aux' }), ['router.weight']);
    assert.deepEqual(names({ causal: 'predictor' }).sort(), ['predictor.fc.bias', 'predictor.fc.weight', 'predictor.proj.bias', 'predictor.proj.weight', 'router.weight']);
    assert.deepEqual(names({ causal: 'predictor', routing: 'random' }).sort(), ['predictor.fc.bias', 'predictor.fc.weight', 'predictor.proj.bias', 'predictor.proj.weight']);
  });

  it("refuses causal = 'aux' without a router (random routing)", () => {
    assert.throws(() => makeBlock({ routing: 'random', causal: 'aux' }), /causal='aux' needs a router, which routing='random' lacks/);
  });

  for (const [name, mod, weight] of [
    ['learned, raw r', { causal: 'aux' }, 'configured'],
    ['learned, sigmoid(r), predictor rule', { causal: 'predictor', routerWeight: 'sigmoid' }, 'configured'],
    ['random routing, unscaled', { routing: 'random', causal: 'predictor' }, 'unscaled'],
  ] as const) {
    it(`causal routing applies the same update to the tokens it processes: ${name}`, () => {
      const [b, t] = [2, 12];
      const x = stream(b, t, 16, 31);
      const rb = medianBias(wideBlock(mod, 32), x);
      const { err, update, rows } = definitionError(rb, x, wide, weight, 'causal');
      assert.ok(rows > 4 && rows < b * t - 4, `a partial selection (${rows} of ${b * t})`);
      assert.ok(update > 0.1 && err < TOL, `|y − (x + w·f)| = ${err} (update ${update})`);
      const other = weight === 'unscaled' ? 'raw' : mod.routerWeight === 'sigmoid' ? 'raw' : 'sigmoid';
      if (rb.router !== null) assert.ok(definitionError(rb, x, wide, other, 'causal').err > 100 * TOL, `control: ${other} weights miss`);
      const squeezed = medianBias(wideBlock(mod, 32, SqueezedPositions), x);
      assert.ok(definitionError(squeezed, x, wide, weight, 'causal').err > 100 * TOL, 'control: squeezed positions miss');
    });
  }

  it('random routing has no router and no router gradient', () => {
    const rb = makeBlock({ routing: 'random', capacity: 0.5, causal: 'predictor' });
    assert.equal(rb.router, null);
    assert.ok(!rb.namedParameters().some(([n]) => n.includes('router')));
    const [b, t, c] = [2, 6, 8];
    const x = input(b, t, c, 16);
    const { x: y, topk } = rb.forward(x, sequencePositions(b, t));
    assert.equal(topk!.scores.requiresGrad, false);
    assert.equal(topk!.scores.node, null, 'the random scores are not on the tape');
    backward(y, new Float32Array(y.size).fill(1));
    const predictor = new Set(rb.predictor!.parameters());
    assert.ok(rb.parameters().every((p) => p.grad !== null || predictor.has(p)), 'every block parameter gets a gradient');
    releaseGraph();
  });

  it('random routing adds the update unscaled: y = x + f (a router weight r fails the check)', () => {
    const x = stream(2, 12, 16, 17);
    for (const seed of [21, 22]) {
      const rb = wideBlock({ routing: 'random', causal: 'predictor', capacity: 0.5 }, seed);
      const { err, update } = definitionError(rb, x, wide, 'unscaled');
      assert.ok(update > 0.5 && err < TOL, `seed ${seed}: |y − (x + f)| = ${err}`);
      // Control: the same check on a learned block (same weights plus a router) sees its r·f ≠ f.
      const weighted = definitionError(wideBlock({ capacity: 0.5 }, seed), x, wide, 'unscaled').err;
      assert.ok(weighted > 100 * TOL, `a router weight changes the output by only ${weighted}`);
    }
  });

  it('random routing draws new selections on every forward pass (constant scores fail)', () => {
    const x = stream(3, 16, 16, 18);
    const pos = sequencePositions(3, 16);
    const selections = (rb: RoutedBlock): string[] =>
      [0, 1, 2, 3].map(() => {
        const s = noGrad(() => Array.from(rb.forward(x, pos).topk!.idx).join(','));
        releaseGraph();
        return s;
      });
    const drawn = selections(wideBlock({ routing: 'random', causal: 'predictor', capacity: 0.25 }, 23));
    assert.equal(new Set(drawn).size, 4, 'four passes, four different selections');
    const constant = selections(wideBlock({ routing: 'random', causal: 'predictor', capacity: 0.25 }, 23, RoutedBlock, new ConstantRng(0)));
    assert.equal(new Set(constant).size, 1, 'control: constant scores repeat the selection');
    assert.equal(constant[0], '0,1,2,3,0,1,2,3,0,1,2,3', 'control: ties go to the first k positions');
  });

  it("random routing's scores are the routing stream's uniform draws, one per token, pass after pass", () => {
    const [b, t] = [2, 8];
    const rb = wideBlock({ routing: 'random', causal: 'predictor', capacity: 0.25 }, 25, RoutedBlock, new Rng(77));
    const stream77 = new Rng(77);
    const x = stream(b, t, 16, 26);
    for (let pass = 0; pass < 3; pass++) {
      const scores = noGrad(() => Array.from(rb.forward(x, sequencePositions(b, t)).topk!.scores.data));
      releaseGraph();
      assert.deepEqual(scores, Array.from({ length: b * t }, () => Math.fround(stream77.next())), `pass ${pass}`);
    }
  });

  it('random routing chooses each position at rate k/T (chi-square, fixed seed; constant scores fail)', () => {
    // 25 passes × 16 sequences = 400 draws of k = 4 of T = 16: expected 100 per position. Draws without replacement
    // make the statistic slightly smaller than χ²(15), so the p = 0.001 critical value is conservative.
    const [passes, b, t, c, k] = [25, 16, 16, 16, 4];
    const expected = (passes * b * k) / t;
    const make = (rng: Rng): RoutedBlock => wideBlock({ routing: 'random', causal: 'predictor', capacity: k / t }, 24, RoutedBlock, rng);
    const counts = selectionCounts(make(new Rng(2024)), passes, b, t, c);
    assert.equal(counts.reduce((a, n) => a + n, 0), passes * b * k);
    const stat = chiSquare(counts, expected);
    assert.ok(stat < CHI2_15_P001, `χ² = ${stat.toFixed(1)} over counts ${counts.join(' ')}`);
    const constant = chiSquare(selectionCounts(make(new ConstantRng(0)), passes, b, t, c), expected);
    assert.ok(constant > 100 * CHI2_15_P001, `control: constant scores give χ² = ${constant}`);
  });
});
