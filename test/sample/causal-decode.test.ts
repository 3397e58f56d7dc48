// KV-cache decoding of Mixture-of-Depths models by the causal rule: token by token equals the full-sequence causal
// forward, a routed block caches exactly the tokens it processed, and skipped tokens do no work in that block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { Rng } from '../../src/engine/rng.js';
import { type ModelConfig, modConfigDefaults } from '../../src/model/config.js';
import { calibrateCausalBias } from '../../src/model/calibrate.js';
import type { GPT, StepOutput } from '../../src/model/gpt.js';
import { KVCache } from '../../src/model/kv-cache.js';
import { cropWindow, generate, generateTokens, kvCacheLogits, windowLogits } from '../../src/sample/generate.js';
import { randInts } from '../helpers.js';
import { randomModel, tinyConfig } from './fixtures.js';

const modCfg = (over: Partial<ModelConfig> = {}): ModelConfig =>
  tinyConfig({ nLayer: 4, mod: { ...modConfigDefaults, capacity: 0.5, every: 2, predictorHidden: 8 }, ...over });

/** A random model whose routed blocks each process about half of the tokens of random text. */
function halfRouted(cfg: ModelConfig, seed: number): GPT {
  const model = randomModel(cfg, seed);
  const ids = randInts(8 * cfg.blockSize, cfg.vocabSize, seed + 1000);
  calibrateCausalBias(model, ids, 8, cfg.blockSize, 0.5);
  return model;
}

/** Full causal forward of ids (B, T): logits (B, T, V) and, per routed block and sequence, its processed positions. */
function fullCausal(model: GPT, ids: Int32Array, b: number, t: number): { logits: Float32Array; processed: number[][][] } {
  const full = noGrad(() => {
    const out = model.forward(ids, b, t, undefined, 'causal');
    return { logits: Float32Array.from(out.logits.data), processed: out.routing.map((r) => r.processed.map((p) => Array.from(p))) };
  });
  releaseGraph();
  return full;
}

/** Per routed block (layer order): tokens fed through it and tokens it processed. */
interface RoutedCounts {
  layer: number;
  seen: number;
  processed: number;
}

/**
 * Prefills ids[:, :p] and decodes the rest one token per step: the logits (B, T, V) of positions p-1.. (earlier: NaN)
 * and, counted from the steps' routing outputs, the tokens each routed block saw and processed.
 */
function decodeAll(model: GPT, ids: Int32Array, b: number, t: number, p: number, cache: KVCache): { logits: Float32Array; counts: RoutedCounts[] } {
  const v = model.config.vocabSize;
  const logits = new Float32Array(b * t * v).fill(Number.NaN);
  const counts: RoutedCounts[] = model.routedBlocks().map((blk) => ({ layer: model.h.indexOf(blk), seen: 0, processed: 0 }));
  const put = (step: StepOutput, pos: number, seen: number): void => {
    for (let s = 0; s < b; s++) logits.set(step.logits.data.subarray(s * v, (s + 1) * v), (s * t + pos) * v);
    assert.deepEqual(step.routing.map((r) => r.layer), counts.map((c) => c.layer));
    step.routing.forEach((r, i) => {
      counts[i]!.seen += seen;
      counts[i]!.processed += r.processed.reduce((n, q) => n + q.length, 0);
    });
  };
  const prompt = new Int32Array(b * p);
  for (let s = 0; s < b; s++) prompt.set(ids.subarray(s * t, s * t + p), s * p);
  noGrad(() => put(model.prefill(prompt, b, p, cache), p - 1, b * p));
  releaseGraph();
  for (let pos = p; pos < t; pos++) {
    const tokens = Int32Array.from({ length: b }, (_, s) => ids[s * t + pos]!);
    noGrad(() => put(model.decodeStep(tokens, cache), pos, b));
    releaseGraph();
  }
  return { logits, counts };
}

function assertLogitsClose(got: Float32Array, want: Float32Array, from: (i: number) => boolean, what: string): void {
  let checked = 0;
  for (let i = 0; i < want.length; i++) {
    if (!from(i)) continue;
    assert.ok(Math.abs(got[i]! - want[i]!) < 2e-4, `${what}: logit ${i}: ${got[i]} vs ${want[i]}`);
    checked++;
  }
  assert.ok(checked > 0);
}

for (const positions of ['learned', 'rope'] as const) {
  test(`token-by-token decode equals the full causal forward: same decisions, same logits (${positions})`, () => {
    const cfg = modCfg({ positions });
    const model = halfRouted(cfg, 31);
    const t = cfg.blockSize;
    const ids = randInts(t, cfg.vocabSize, 32);
    const full = fullCausal(model, ids, 1, t);
    const counts = full.processed.map((p) => p[0]!.length);
    assert.ok(counts.every((n) => n > 0 && n < t), `each routed block processes some tokens but not all (${counts.join(', ')})`);
    for (const p of [1, 5]) {
      const cache = KVCache.forModel(cfg, 1);
      const got = decodeAll(model, ids, 1, t, p, cache).logits;
      assertLogitsClose(got, full.logits, (i) => Math.floor(i / cfg.vocabSize) >= p - 1, `prompt ${p}`);
      // A routed block's cache holds exactly the tokens it processed, by position; a dense block's, every token.
      model.h.forEach((blk, l) => {
        const c = cache.layers[l]![0]!;
        const r = model.routedBlocks().indexOf(blk as never);
        const want = r < 0 ? Array.from({ length: t }, (_, i) => i) : full.processed[r]![0]!;
        assert.deepEqual(Array.from(c.positions.subarray(0, c.length)), want, `layer ${l} prompt ${p}`);
        assert.ok(c.keys.subarray(c.length * cfg.nEmbd).every((x) => x === 0), `layer ${l}: nothing written past its length`);
      });
    }
  });
}

test('batched decode (B = 3) equals the batched causal forward, each sequence with its own decisions', () => {
  const cfg = modCfg();
  const model = halfRouted(cfg, 41);
  const [b, t] = [3, cfg.blockSize];
  const ids = randInts(b * t, cfg.vocabSize, 42);
  const full = fullCausal(model, ids, b, t);
  const cache = KVCache.forModel(cfg, b);
  const got = decodeAll(model, ids, b, t, 3, cache).logits;
  assertLogitsClose(got, full.logits, (i) => Math.floor(i / cfg.vocabSize) % t >= 2, 'B = 3');
  model.routedBlocks().forEach((blk, r) => {
    const l = model.h.indexOf(blk);
    for (let s = 0; s < b; s++) {
      const c = cache.layers[l]![s]!;
      assert.deepEqual(Array.from(c.positions.subarray(0, c.length)), full.processed[r]![s], `layer ${l} sequence ${s}`);
    }
  });
  assert.ok(new Set(full.processed.flat().map((p) => p.join(','))).size > 2, 'the sequences route differently');
});

test('a skipped token does no work in a routed block: attention and MLP see only processed rows', () => {
  const cfg = modCfg();
  const model = halfRouted(cfg, 51);
  const blk = model.routedBlocks()[0]!;
  let attnRows = 0;
  let mlpRows = 0;
  const attnDecode = blk.attn.decode.bind(blk.attn);
  const mlpForward = blk.mlp.forward.bind(blk.mlp);
  blk.attn.decode = (x, pos, caches) => ((attnRows += x.shape[0]!), attnDecode(x, pos, caches));
  blk.mlp.forward = (x) => ((mlpRows += x.size / cfg.nEmbd), mlpForward(x));
  const t = cfg.blockSize;
  const ids = randInts(t, cfg.vocabSize, 52);
  const cache = KVCache.forModel(cfg, 1);
  const { counts } = decodeAll(model, ids, 1, t, 1, cache);
  const l = model.h.indexOf(blk);
  const count = counts.find((c) => c.layer === l)!;
  const processed = cache.layers[l]![0]!.length;
  const prefilled = cache.layers[l]![0]!.positions[0] === 0 ? 1 : 0; // the one-token prompt went through prefill
  assert.ok(processed < t - 2, `the block skipped tokens (${processed} of ${t} processed)`);
  assert.equal(attnRows, processed - prefilled, 'attention decode ran on the processed tokens only');
  assert.equal(mlpRows, processed, 'the MLP ran on the processed tokens only');
  assert.equal(count.processed, processed);
  assert.equal(count.seen, t);
});

test('a prompt longer than blockSize is cropped to its last blockSize tokens: cached and windowed sampling agree', () => {
  const cfg = modCfg();
  const model = halfRouted(cfg, 61);
  const prompt = randInts(2 * cfg.blockSize + 3, cfg.vocabSize, 62);
  const opts = { maxNewTokens: 20, temperature: 1, topK: null, topP: 1 };
  const source = kvCacheLogits(model);
  const cached = generate(model, prompt, { ...opts, rng: new Rng(5), logits: source });
  const windowed = generate(model, prompt, { ...opts, rng: new Rng(5), logits: windowLogits(model) });
  assert.deepEqual(Array.from(cached), Array.from(windowed));
  assert.equal(source.prefills, 20, 'past blockSize every step re-prefills the cropped window');
});

test("kvCacheLogits counts each routed block's tokens seen and processed, and whether it processed the newest", () => {
  const cfg = modCfg();
  const model = halfRouted(cfg, 71);
  const t = cfg.blockSize;
  const context = randInts(t + 4, cfg.vocabSize, 72);
  const source = kvCacheLogits(model);
  const want = model.routedBlocks().map((blk) => ({ layer: model.h.indexOf(blk), seen: 0, processed: 0 }));
  let steps = 0;
  assert.deepEqual(source.routed, want, 'nothing counted before the first call');
  assert.deepEqual(source.lastProcessed, [false, false]);
  // A one-token prompt, then one token per call up to blockSize, then a re-prefilled window per call.
  for (let n = 1; n <= context.length; n++) {
    source.next(context.subarray(0, n));
    const w = context.subarray(Math.max(0, n - t), n);
    const decided = fullCausal(model, w, 1, w.length).processed.map((p) => p[0]!);
    const step = n > 1 && n <= t;
    if (step) steps++;
    decided.forEach((p, i) => {
      const newest = p.includes(w.length - 1);
      want[i]!.seen += step ? 1 : w.length;
      want[i]!.processed += step ? Number(newest) : p.length;
      assert.equal(source.lastProcessed[i], newest, `block ${i} after ${n} tokens`);
    });
    assert.deepEqual(source.routed, want, `after ${n} tokens`);
  }
  assert.equal(source.steps, steps);
  assert.equal(source.prefills, context.length - steps);
  assert.ok(source.lastProcessed.length === 2 && want.every((r) => r.processed > 0 && r.processed < r.seen));
});

test('kvCacheLogits decodes one step only when the context grew by exactly one token; otherwise it prefills', () => {
  const cfg = modCfg();
  const model = halfRouted(cfg, 91);
  const context = randInts(9, cfg.vocabSize, 92);
  const source = kvCacheLogits(model);
  const oracle = windowLogits(model);
  for (const n of [3, 4, 6, 7, 5]) {
    const got = Float32Array.from(source.next(context.subarray(0, n)));
    const want = Float32Array.from(oracle.next(context.subarray(0, n)));
    assert.ok(got.every((v, i) => Math.abs(v - want[i]!) < 2e-4), `logits after ${n} tokens`);
  }
  assert.deepEqual([source.prefills, source.steps], [3, 2], '3 → 4 and 6 → 7 step; 3, 6 and 5 prefill');
});

test('generate: exactly maxNewTokens tokens, the same as generateTokens yields; bad arguments are refused', () => {
  const cfg = modCfg();
  const model = halfRouted(cfg, 81);
  const prompt = randInts(3, cfg.vocabSize, 82);
  const opts = { maxNewTokens: 6, temperature: 1, topK: null, topP: 1 };
  const out = generate(model, prompt, { ...opts, rng: new Rng(9) });
  assert.equal(out.length, 6);
  assert.deepEqual(Array.from(generateTokens(model, prompt, { ...opts, rng: new Rng(9) })), Array.from(out));
  assert.deepEqual(Array.from(generate(model, prompt, { ...opts, maxNewTokens: 0, rng: new Rng(9) })), []);
  assert.throws(() => generate(model, new Int32Array(0), { ...opts, rng: new Rng(9) }), /the prompt needs at least one token/);
  assert.throws(() => generate(model, prompt, { ...opts, maxNewTokens: -1, rng: new Rng(9) }), /maxNewTokens -1 must be an integer >= 0/);
  assert.throws(() => generate(model, prompt, { ...opts, maxNewTokens: 1.5, rng: new Rng(9) }), /maxNewTokens 1.5 must be an integer >= 0/);
});

test('cropWindow keeps the last blockSize tokens', () => {
  const ids = Int32Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(Array.from(cropWindow(ids, 4)), [6, 7, 8, 9]);
  assert.deepEqual(Array.from(cropWindow(ids, 10)), Array.from(ids));
  assert.deepEqual(Array.from(cropWindow(ids, 16)), Array.from(ids));
});
