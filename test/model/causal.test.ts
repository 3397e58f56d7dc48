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
import { calibrateCausalBias } from '../../src/model/calibrate.js';
import { KVCache } from '../../src/model/kv-cache.js';
import { addConfusion, RoutedBlock, topkTargets } from '../../src/model/mod.js';
import { LayerCache } from '../../src/nn/layer-cache.js';
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

/** Broken on purpose: the causal rule inverted, processing the tokens with z < bias. */
class InvertedRule extends RoutedBlock {
  protected override decide(z: Float32Array, offset: number, n: number, base: number): Int32Array {
    const idx: number[] = [];
    for (let j = 0; j < n; j++) if (z[offset + j]! < this.causalBias) idx.push(base + j);
    return Int32Array.from(idx);
  }
}

/** Broken on purpose: processes z >= bias, so a token exactly at the threshold passes. */
class AtOrAbove extends RoutedBlock {
  protected override decide(z: Float32Array, offset: number, n: number, base: number): Int32Array {
    const idx: number[] = [];
    for (let j = 0; j < n; j++) if (z[offset + j]! >= this.causalBias) idx.push(base + j);
    return Int32Array.from(idx);
  }
}

/**
 * Positions where a decision breaks the causal rule: processed[s] should be exactly {i : z[s·t + i] > bias}, in
 * ascending order. Also counts the tokens on each side of the threshold, so a test can require both to be present.
 */
function ruleViolations(processed: readonly Int32Array[], z: Float32Array, t: number, bias: number): { wrong: number; above: number; below: number } {
  let [wrong, above, below] = [0, 0, 0];
  if (processed.length !== z.length / t) wrong += t; // one entry per sequence
  processed.forEach((p, s) => {
    const want = Array.from({ length: t }, (_, i) => i).filter((i) => z[s * t + i]! > bias);
    above += want.length;
    below += t - want.length;
    const got = new Set(Array.from(p));
    for (let i = 0; i < t; i++) if (got.has(i) !== want.includes(i)) wrong++;
    if (got.size === want.length && !Array.from(p).every((v, j) => v === want[j])) wrong++;
  });
  return { wrong, above, below };
}

/** A 4-layer model at realistic scale whose routed blocks' thresholds pass about half of random text (bias ≠ 0). */
function calibrated(causal: ModConfig['causal'], seed: number): GPT {
  const model = randomModel({ ...base, mod: modConfig({ capacity: 0.5, every: 2, causal }) }, seed);
  calibrateCausalBias(model, randInts(4 * 12, 13, seed + 1), 4, 12, 0.5);
  for (const blk of model.routedBlocks()) assert.ok(Math.abs(blk.causalBias) > 1e-3, `the threshold ${blk.causalBias} is not 0`);
  return model;
}

/** The same model with its routed blocks rebuilt as InvertedRule (same weights, same thresholds). */
function inverted(model: GPT): GPT {
  model.h.forEach((blk, l) => {
    if (!(blk instanceof RoutedBlock)) return;
    const bad = new InvertedRule(model.config, blk.mod, new Rng(0), new Rng(0));
    const weights = new Map(blk.namedParameters());
    for (const [name, p] of bad.namedParameters()) p.data.set(weights.get(name)!.data);
    bad.causalBias = blk.causalBias;
    model.h[l] = bad;
  });
  return model;
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
    assert.deepEqual(addConfusion({ tp: 0, fp: 0, fn: 0, tn: 0 }, r, 2), { tp: 1, fp: 0, fn: 1, tn: 4 }, 'z = bias is not processed');
    assert.throws(() => addConfusion({ tp: 0, fp: 0, fn: 0, tn: 0 }, { topk: null, causalLogits: causal }, 0), /addConfusion needs a top-k forward/);
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

describe('the causal rule: processed = {i : z_i > causalBias}, directly', () => {
  for (const causal of ['predictor', 'aux'] as const) {
    it(`${causal}: the full causal forward of every routed block (an inverted rule fails)`, () => {
      const [b, t] = [3, 12];
      const ids = randInts(b * t, 13, 71);
      const check = (model: GPT): { wrong: number; above: number; below: number } => {
        const out = noGrad(() => model.forward(ids, b, t, undefined, 'causal'));
        const blocks = model.routedBlocks();
        const v = out.routing.map((r, i) => ruleViolations(r.processed, r.causalLogits.data, t, blocks[i]!.causalBias));
        releaseGraph();
        return v.reduce((a, x) => ({ wrong: a.wrong + x.wrong, above: a.above + x.above, below: a.below + x.below }));
      };
      const good = check(calibrated(causal, 70));
      assert.equal(good.wrong, 0);
      assert.ok(good.above > 6 && good.below > 6, `tokens on both sides of the threshold (${good.above} above, ${good.below} below)`);
      const bad = check(inverted(calibrated(causal, 70)));
      assert.ok(bad.wrong >= 2 * b * t, `control: the inverted rule breaks ${bad.wrong} decisions`);
    });
  }

  it('prefill and decode decide by the same rule, token by token (an inverted rule fails)', () => {
    const check = (blk: RoutedBlock): number => {
      const [b, t, c] = [2, 10, base.nEmbd];
      const x = Tensor.from(randArray(b * t * c, 73, 2), [b, t, c]);
      const caches = [new LayerCache(base.blockSize, c), new LayerCache(base.blockSize, c)];
      let wrong = 0;
      noGrad(() => {
        const pre = blk.prefill(x, sequencePositions(b, t), caches);
        wrong += ruleViolations(pre.processed, pre.causalLogits.data, t, blk.causalBias).wrong;
        // Decode: 8 single tokens (B = 8 rows) at positions 10..17, each row its own sequence with its own cache.
        const xd = Tensor.from(randArray(8 * c, 74, 2), [8, c]);
        const rowCaches = Array.from({ length: 8 }, () => new LayerCache(base.blockSize, c));
        const { rows } = blk.decode(xd, Int32Array.from({ length: 8 }, (_, i) => 10 + i), rowCaches);
        const z = blk.causalLogits(xd).data;
        const want = Array.from({ length: 8 }, (_, i) => i).filter((i) => z[i]! > blk.causalBias);
        assert.ok(want.length > 0 && want.length < 8, `decode rows on both sides of the threshold (${want.length} of 8)`);
        wrong += want.length === rows.length && want.every((r, i) => r === rows[i]) ? 0 : 8;
        wrong += rowCaches.filter((cache, i) => cache.length !== (want.includes(i) ? 1 : 0)).length; // cached iff processed
      });
      releaseGraph();
      return wrong;
    };
    const model = calibrated('predictor', 75);
    assert.equal(check(model.routedBlocks()[0]!), 0);
    assert.ok(check(inverted(calibrated('predictor', 75)).routedBlocks()[0]!) >= 10, 'control: the inverted rule is caught');
  });

  it('a token exactly at the threshold is skipped: z > bias, not z >= bias', () => {
    const check = (K: typeof RoutedBlock): number => {
      const rb = block({ causal: 'aux' }, 5);
      const bad = new K({ ...base, mod: rb.mod }, rb.mod, new Rng(5), new Rng(105));
      const [t, c] = [10, base.nEmbd];
      const x = Tensor.from(randArray(t * c, 79, 2), [1, t, c]);
      const z = noGrad(() => bad.causalLogits(x).data.slice());
      bad.causalBias = z[0]!; // exactly the first token's logit: the tokens after it above the threshold shift if it counts
      const out = noGrad(() => bad.forward(x, sequencePositions(1, t), 'causal'));
      const v = ruleViolations(out.processed, z, t, bad.causalBias);
      releaseGraph();
      assert.ok(v.above > 1 && v.below > 1, `tokens on both sides (${v.above} above, ${v.below} below)`);
      return v.wrong;
    };
    assert.equal(check(RoutedBlock), 0);
    assert.ok(check(AtOrAbove) > 0, 'control: z >= bias is caught');
  });

  it('GPT prefill routes like the causal forward and fills each routed cache with exactly its processed tokens', () => {
    const model = calibrated('aux', 77);
    const [b, t] = [2, 12];
    const ids = randInts(b * t, 13, 78);
    const cache = KVCache.forModel(model.config, b);
    const { pre, full } = noGrad(() => {
      const pre = model.prefill(ids, b, t, cache).routing.map((r) => r.processed.map((p) => Array.from(p)));
      const full = model.forward(ids, b, t, undefined, 'causal').routing.map((r) => r.processed.map((p) => Array.from(p)));
      return { pre, full };
    });
    releaseGraph();
    assert.deepEqual(pre, full);
    model.routedBlocks().forEach((blk, r) => {
      const l = model.h.indexOf(blk);
      for (let s = 0; s < b; s++) {
        const c = cache.layers[l]![s]!;
        assert.deepEqual(Array.from(c.positions.subarray(0, c.length)), full[r]![s], `layer ${l} sequence ${s}`);
      }
    });
  });
});
