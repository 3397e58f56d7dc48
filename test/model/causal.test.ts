// Causal routing of Mixture-of-Depths blocks: the BCE towards top-k membership (aux and predictor), the stop-gradient
// of the predictor, and the full-sequence causal forward.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backward, noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { sequencePositions } from '../../src/engine/ops.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import { type ModConfig, type ModelConfig, modConfigDefaults, validateModelConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { addConfusion, RoutedBlock, topkTargets } from '../../src/model/mod.js';
import { randArray, randInts } from '../helpers.js';
import { randomModel } from '../sample/fixtures.js';

const base: ModelConfig = {
  vocabSize: 13,
  blockSize: 12,
  nLayer: 4,
  nHead: 2,
  nEmbd: 8,
  mlpRatio: 4,
  bias: true,
  tiedEmbeddings: true,
  positions: 'learned',
};

function modConfig(over: Partial<ModConfig> = {}): ModConfig {
  return { ...modConfigDefaults, capacity: 0.25, predictorHidden: 4, ...over };
}

function block(over: Partial<ModConfig>, seed = 1): RoutedBlock {
  const m = modConfig(over);
  return new RoutedBlock({ ...base, mod: m }, m, new Rng(seed), new Rng(seed + 100));
}

function bce(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

describe('causal rule training', () => {
  it('topkTargets marks each sequence\'s own top-k (hand-built, B = 3)', () => {
    // idx (B=3, K=2), T = 4: sequence 0 picks 1 and 3, sequence 1 picks 0 and 2, sequence 2 picks 2 and 3.
    const y = topkTargets(Int32Array.of(1, 3, 0, 2, 2, 3), 3, 4, 2);
    assert.deepEqual(Array.from(y), [0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1]);
  });

  it('aux: the BCE is on the router logits against each sequence\'s top-k, and trains the router', () => {
    const rb = block({ causal: 'aux', auxWeight: 1 });
    rb.router!.weight.data.set(randArray(8, 3, 2));
    const [b, t, c] = [3, 8, 8];
    const x = Tensor.from(randArray(b * t * c, 4), [b, t, c], true);
    const out = rb.forward(x, sequencePositions(b, t));
    const { idx, k, scores } = out.topk!;
    assert.equal(out.causalLogits, scores, 'aux: the causal logits are the router logits');
    const rows = [0, 1, 2].map((s) => Array.from(idx.subarray(s * k, s * k + k)).join(','));
    assert.ok(new Set(rows).size > 1, 'the fixture picks different positions in different sequences');
    let want = 0;
    for (let s = 0; s < b; s++) {
      const chosen = new Set(Array.from(idx.subarray(s * k, s * k + k)));
      for (let i = 0; i < t; i++) want += bce(scores.data[s * t + i]!, chosen.has(i) ? 1 : 0);
    }
    assert.ok(Math.abs(out.causalLoss!.item() - want / (b * t)) < 1e-5);
    backward(out.causalLoss!);
    assert.ok(rb.router!.weight.grad!.some((g) => g !== 0), 'the router gets the BCE gradient');
    releaseGraph();
  });

  it('predictor: the BCE reaches the predictor only, never x or the router', () => {
    const rb = block({ causal: 'predictor', auxWeight: 1 });
    const [b, t, c] = [2, 8, 8];
    const x = Tensor.from(randArray(b * t * c, 5), [b, t, c], true);
    const out = rb.forward(x, sequencePositions(b, t));
    const r = out.topk!;
    const y = topkTargets(r.idx, b, t, r.k);
    const want = Array.from(out.causalLogits.data).reduce((sum, z, i) => sum + bce(z, y[i]!), 0) / (b * t);
    assert.ok(Math.abs(out.causalLoss!.item() - want) < 1e-5);
    backward(out.causalLoss!);
    assert.equal(x.grad, null, 'no gradient into the block input');
    const predictor = new Set(rb.predictor!.parameters());
    for (const [name, p] of rb.namedParameters()) {
      if (predictor.has(p)) assert.ok(p.grad !== null && p.grad.some((g) => g !== 0), `${name} is trained`);
      else assert.ok(p.grad === null || p.grad.every((g) => g === 0), `${name} gets no gradient`);
    }
    releaseGraph();
  });

  it('no causal loss without grad, or with auxWeight 0', () => {
    const rb = block({ auxWeight: 0 });
    const x = Tensor.from(randArray(64, 6), [1, 8, 8], true);
    assert.equal(rb.forward(x, sequencePositions(1, 8)).causalLoss, null);
    releaseGraph();
    const rb2 = block({ auxWeight: 0.5 });
    assert.equal(noGrad(() => rb2.forward(x, sequencePositions(1, 8))).causalLoss, null);
    releaseGraph();
  });

  it('GPT: trainingLoss = loss + auxWeight · Σ blocks BCE; dense: trainingLoss is the loss', () => {
    const cfg = { ...base, mod: modConfig({ auxWeight: 0.3, every: 2 }) };
    const model = new GPT(cfg, new Rng(3));
    const ids = randInts(2 * 12, 13, 8);
    const out = model.forward(ids, 2, 12, randInts(2 * 12, 13, 9));
    const layers = model.routedBlocks().map((blk) => model.h.indexOf(blk));
    assert.deepEqual(out.routing.map((r) => r.layer), layers, 'one routing entry per routed block, in layer order');
    const bces = out.routing.map((r) => r.causalLoss!.item());
    assert.equal(bces.length, 2);
    assert.ok(Math.abs(out.causalLoss!.item() - (bces[0]! + bces[1]!)) < 1e-6);
    assert.ok(Math.abs(out.trainingLoss!.item() - (out.loss!.item() + 0.3 * out.causalLoss!.item())) < 1e-5);
    releaseGraph();
    const dense = new GPT(base, new Rng(3)).forward(ids, 2, 12, randInts(2 * 12, 13, 9));
    assert.equal(dense.trainingLoss, dense.loss);
    releaseGraph();
  });

  it('the predictors do not change the model\'s init, and are clipped apart from it', () => {
    const withP = new GPT({ ...base, mod: modConfig({ causal: 'predictor' }) }, new Rng(11));
    const without = new GPT({ ...base, mod: modConfig({ causal: 'aux' }) }, new Rng(11));
    const other = new Map(without.namedParameters());
    let shared = 0;
    for (const [name, p] of withP.namedParameters()) {
      if (name.includes('.predictor.')) continue;
      assert.deepEqual(p.data, other.get(name)!.data, name);
      shared++;
    }
    assert.equal(shared, other.size);
    const groups = withP.clipGroups();
    assert.equal(groups.length, 2);
    assert.equal(groups[1]!.length, 2 * 4, 'fc and proj, weight and bias, in each of the 2 routed blocks');
    assert.equal(groups[0]!.length + groups[1]!.length, withP.parameters().length);
    assert.equal(without.clipGroups().length, 1);
  });

  it('config: causal keys validate; a legacy mod section reads as an untrained aux rule; aux needs a router', () => {
    const legacy = validateModelConfig({ ...base, mod: { capacity: 0.5, every: 2, routerWeight: 'raw', routing: 'learned' } });
    assert.equal(legacy.mod!.causal, 'aux');
    assert.equal(legacy.mod!.auxWeight, 0);
    assert.throws(() => validateModelConfig({ ...base, mod: modConfig({ causal: 'aux', routing: 'random' }) }), /needs a router/);
    assert.throws(() => validateModelConfig({ ...base, mod: modConfig({ auxWeight: -1 }) }), /auxWeight=-1 is out of range/);
  });

  it('confusion counts the causal decisions against top-k membership', () => {
    const causal = Tensor.from(Float32Array.of(1, -1, 2, -2, -1, 3), [2, 3]);
    const r = { topk: { b: 2, t: 3, k: 1, idx: Int32Array.of(0, 2), scores: causal }, causalLogits: causal };
    // sequence 0: top-1 = {0}, predicted {0, 2}; sequence 1: top-1 = {2}, predicted {2}.
    assert.deepEqual(addConfusion({ tp: 0, fp: 0, fn: 0, tn: 0 }, r, 0), { tp: 2, fp: 1, fn: 0, tn: 3 });
    assert.deepEqual(addConfusion({ tp: 0, fp: 0, fn: 0, tn: 0 }, r, 1.5), { tp: 1, fp: 1, fn: 1, tn: 3 });
  });
});

describe('causal forward', () => {
  const cfg = { ...base, mod: modConfig({ capacity: 0.5, every: 2 }) };

  it('processes exactly the tokens with z > causalBias, each sequence on its own (B = 3 equals 3 × B = 1)', () => {
    const model = randomModel(cfg, 21);
    const [b, t] = [3, 12];
    const ids = randInts(b * t, 13, 22);
    const { batched, decisions } = noGrad(() => {
      const out = model.forward(ids, b, t, undefined, 'causal');
      return { batched: Float32Array.from(out.logits.data), decisions: out.routing.map((r) => r.processed.map((p) => Array.from(p))) };
    });
    releaseGraph();
    assert.equal(decisions.length, model.routedBlocks().length);
    const counts = decisions.flat().map((p) => p.length);
    assert.ok(counts.some((n) => n > 0 && n < t), `some sequence has a partial selection (${counts.join(', ')})`);
    assert.ok(new Set(decisions.flat().map((p) => p.join(','))).size > 1, 'sequences differ in their selections');
    for (let s = 0; s < b; s++) {
      const one = noGrad(() => {
        const out = model.forward(ids.subarray(s * t, (s + 1) * t), 1, t, undefined, 'causal');
        assert.equal(out.routing.length, decisions.length);
        out.routing.forEach((r, l) => assert.deepEqual(Array.from(r.processed[0]!), decisions[l]![s]));
        return Float32Array.from(out.logits.data);
      });
      releaseGraph();
      const v = cfg.vocabSize;
      for (let i = 0; i < t * v; i++) assert.ok(Math.abs(one[i]! - batched[s * t * v + i]!) < 1e-4, `sequence ${s} logit ${i}`);
    }
  });

  it('a skipped token passes a routed block unchanged; the causal forward differs from top-k', () => {
    const model = randomModel(cfg, 23);
    const ids = randInts(12, 13, 24);
    const topk = noGrad(() => Float32Array.from(model.forward(ids, 1, 12).logits.data));
    releaseGraph();
    const blk = model.routedBlocks()[0]!;
    const x = Tensor.from(randArray(12 * 8, 25), [1, 12, 8]);
    noGrad(() => {
      const out = blk.forward(x, sequencePositions(1, 12), 'causal');
      const y = out.x;
      const processed = new Set(Array.from(out.processed[0]!));
      for (let i = 0; i < 12; i++) {
        const same = y.data.subarray(i * 8, i * 8 + 8).every((v, j) => Object.is(v, x.data[i * 8 + j]));
        assert.equal(same, !processed.has(i), `token ${i}`);
      }
      const causal = model.forward(ids, 1, 12, undefined, 'causal').logits.data;
      assert.ok(causal.some((v, i) => Math.abs(v - topk[i]!) > 1e-3));
    });
    releaseGraph();
  });
});
