// The Mixture-of-Depths routed block, checked against the paper's definition detail by detail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backward, noGrad, releaseGraph, tapeNodes } from '../../src/engine/autograd.js';
import { sequencePositions } from '../../src/engine/ops.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import { type ModConfig, type ModelConfig, routedK } from '../../src/model/config.js';
import { Block } from '../../src/model/gpt.js';
import { gatherPositions, RoutedBlock } from '../../src/model/mod.js';
import { gradCheck } from '../engine/gradcheck.js';
import { randArray } from '../helpers.js';

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

function input(b: number, t: number, c: number, seed: number): Tensor {
  return Tensor.from(randArray(b * t * c, seed), [b, t, c], true);
}

/** Router weights that make the scores of x well separated (so small perturbations keep the selection). */
function spreadRouter(rb: RoutedBlock, seed: number): void {
  const w = rb.router!.weight.data;
  w.set(randArray(w.length, seed, 2));
}

/** The dense block's update f(x) = Block(x) − x, rows (B·T, C): a dense Block (config `base`) with rb's weights. */
function denseUpdate(rb: RoutedBlock, x: Tensor, pos: Int32Array): Float32Array {
  const dense = new Block(base, new Rng(0));
  const weights = new Map(rb.namedParameters());
  for (const [name, p] of dense.namedParameters()) {
    const w = weights.get(name);
    assert.ok(w !== undefined && w.size === p.size, `routed block lacks the dense parameter ${name}`);
    p.data.set(w.data);
  }
  return noGrad(() => {
    const y = dense.forward(x, pos);
    const f = new Float32Array(y.size);
    for (let i = 0; i < y.size; i++) f[i] = y.data[i]! - x.data[i]!;
    releaseGraph();
    return f;
  });
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
  it('at capacity 1.0 equals the dense block update scaled by r', () => {
    const rb = makeBlock({ capacity: 1 });
    const [b, t, c] = [2, 5, 8];
    const x = input(b, t, c, 3);
    const pos = sequencePositions(b, t);
    const f = denseUpdate(rb, x, pos);
    noGrad(() => {
      const { x: y, topk } = rb.forward(x, pos);
      const r = topk!.scores.data.slice();
      assert.equal(topk!.k, t);
      for (let row = 0; row < b * t; row++) {
        for (let j = 0; j < c; j++) {
          const want = x.data[row * c + j]! + r[row]! * f[row * c + j]!;
          assert.ok(Math.abs(y.data[row * c + j]! - want) < 1e-5, `row ${row} col ${j}: ${y.data[row * c + j]} vs ${want}`);
        }
      }
      releaseGraph();
    });
  });

  it('with sigmoid router weights scales by sigmoid(r)', () => {
    const rb = makeBlock({ capacity: 1, routerWeight: 'sigmoid' });
    const x = input(1, 4, 8, 5);
    const pos = sequencePositions(1, 4);
    const f = denseUpdate(rb, x, pos);
    noGrad(() => {
      const { x: y, topk } = rb.forward(x, pos);
      const r = topk!.scores.data;
      for (let i = 0; i < y.size; i++) {
        const row = Math.floor(i / 8);
        const want = x.data[i]! + f[i]! / (1 + Math.exp(-r[row]!));
        assert.ok(Math.abs(y.data[i]! - want) < 1e-5);
      }
      releaseGraph();
    });
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
    const rb = makeBlock({ capacity: 0.5 }, { positions: 'rope' });
    spreadRouter(rb, 11);
    const [b, t, c] = [1, 8, 8];
    const x = input(b, t, c, 12);
    // Push tokens 0, 2, 5, 7 to the top: a selection with uneven gaps, which squeezing would distort.
    const w = rb.router!.weight.data;
    for (const i of [0, 2, 5, 7]) for (let j = 0; j < c; j++) x.data[i * c + j] = x.data[i * c + j]! + 5 * Math.sign(w[j]!);
    const pos = sequencePositions(b, t);
    noGrad(() => {
      const { x: y, topk } = rb.forward(x, pos);
      const { idx, k, scores } = topk!;
      const orig = gatherPositions(pos, idx, b, t, k);
      assert.deepEqual(Array.from(orig), [0, 2, 5, 7], 'positions of the chosen rows are their original positions');
      const xs = Tensor.from(Array.from(idx).flatMap((i) => Array.from(x.data.subarray(i * c, (i + 1) * c))), [b, k, c]);
      const r = Array.from(idx).map((i) => scores.data[i]!);
      const check = (p: Int32Array): boolean => {
        const f = rb.update(xs, p);
        return Array.from(idx).every((row, j) =>
          Array.from({ length: c }, (_, q) => q).every((q) => Math.abs(y.data[row * c + q]! - (x.data[row * c + q]! + r[j]! * f.data[j * c + q]!)) < 1e-5),
        );
      };
      assert.ok(check(orig), 'output = x + r·f(x̃) with attention at the original positions');
      assert.ok(!check(Int32Array.from({ length: k }, (_, j) => j)), 'squeezed positions would give another output');
      releaseGraph();
    });
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

  it('random routing has no router and no router gradient, and adds the update unscaled', () => {
    const rb = makeBlock({ routing: 'random', capacity: 0.5, causal: 'predictor' });
    assert.equal(rb.router, null);
    assert.ok(!rb.namedParameters().some(([n]) => n.includes('router')));
    const [b, t, c] = [2, 6, 8];
    const x = input(b, t, c, 16);
    const { x: y, topk } = rb.forward(x, sequencePositions(b, t));
    const { k, scores } = topk!;
    const idx = topk!.idx.slice();
    const yData = y.data.slice();
    assert.equal(scores.requiresGrad, false);
    assert.equal(scores.node, null, 'the random scores are not on the tape');
    backward(y, new Float32Array(y.size).fill(1));
    const predictor = new Set(rb.predictor!.parameters());
    assert.ok(rb.parameters().every((p) => p.grad !== null || predictor.has(p)), 'every block parameter gets a gradient');
    releaseGraph();
    // Unscaled: sequence 0 equals x + f(x̃) exactly as the block computes it.
    noGrad(() => {
      const rows = Array.from(idx.subarray(0, k));
      const xs = Tensor.from(rows.flatMap((i) => Array.from(x.data.subarray(i * c, (i + 1) * c))), [1, k, c]);
      const f = rb.update(xs, Int32Array.from(rows));
      const y2 = Float32Array.from(x.data.subarray(0, t * c));
      rows.forEach((row, j) => {
        for (let q = 0; q < c; q++) y2[row * c + q] = y2[row * c + q]! + f.data[j * c + q]!;
      });
      for (let i = 0; i < t * c; i++) assert.ok(Math.abs(y2[i]! - yData[i]!) < 1e-6, `element ${i}`);
      releaseGraph();
    });
  });
});
