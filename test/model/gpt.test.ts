// The dense GPT: shapes, parameter names and counts, the loss at init, and overfitting a tiny text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward, noGrad, releaseGraph, zeroGrad } from '../../src/engine/autograd.js';
import { Rng } from '../../src/engine/rng.js';
import type { ModelConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { AdamW, clipGradNorm } from '../../src/train/adamw.js';
import { assertClose, randInts } from '../helpers.js';
import { gradCheck } from '../engine/gradcheck.js';

const config = (over: Partial<ModelConfig> = {}): ModelConfig => ({
  vocabSize: 17,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 16,
  mlpRatio: 4,
  bias: true,
  tiedEmbeddings: true,
  positions: 'learned',
  ...over,
});

test('forward: logits (B, T, V) and a scalar loss near ln(V) at init', () => {
  const cfg = config();
  const model = new GPT(cfg, new Rng(1));
  const [b, t] = [3, 9];
  const { logits, loss } = model.forward(randInts(b * t, cfg.vocabSize, 2), b, t, randInts(b * t, cfg.vocabSize, 3));
  assert.deepEqual(logits.shape, [b, t, cfg.vocabSize]);
  assert.deepEqual(loss!.shape, []);
  assert.ok(Math.abs(loss!.item() - Math.log(cfg.vocabSize)) < 0.05, `loss at init ${loss!.item()}`);
  releaseGraph();
});

test('parameter names follow nanoGPT / HF GPT-2', () => {
  const names = new GPT(config({ nLayer: 1, tiedEmbeddings: false }), new Rng(1)).namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    'transformer.wte.weight',
    'transformer.wpe.weight',
    'transformer.h.0.ln_1.weight',
    'transformer.h.0.ln_1.bias',
    'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_attn.bias',
    'transformer.h.0.attn.c_proj.weight',
    'transformer.h.0.attn.c_proj.bias',
    'transformer.h.0.ln_2.weight',
    'transformer.h.0.ln_2.bias',
    'transformer.h.0.mlp.c_fc.weight',
    'transformer.h.0.mlp.c_fc.bias',
    'transformer.h.0.mlp.c_proj.weight',
    'transformer.h.0.mlp.c_proj.bias',
    'transformer.ln_f.weight',
    'transformer.ln_f.bias',
    'lm_head.weight',
  ]);
});

test('parameter counts: tied vs untied, learned vs rope, with and without bias', () => {
  const [v, t, c, l] = [17, 16, 16, 2];
  const block = 2 * 2 * c + (3 * c * c + 3 * c) + (c * c + c) + (4 * c * c + 4 * c) + (4 * c * c + c);
  const tied = v * c + t * c + l * block + 2 * c;
  assert.equal(new GPT(config(), new Rng(1)).numParams(), tied);
  assert.equal(new GPT(config({ tiedEmbeddings: false }), new Rng(1)).numParams(), tied + v * c);
  assert.equal(new GPT(config({ positions: 'rope' }), new Rng(1)).numParams(), tied - t * c);
  const noBias = v * c + t * c + l * (2 * c + 3 * c * c + c * c + 8 * c * c) + c;
  assert.equal(new GPT(config({ bias: false }), new Rng(1)).numParams(), noBias);
  const tiedModel = new GPT(config(), new Rng(1));
  assert.ok(tiedModel.parameters().includes(tiedModel.wte.weight));
  assert.equal(tiedModel.lmHead, null);
});

test('the same seed gives the same model', () => {
  const a = new GPT(config(), new Rng(9)).parameters();
  const b = new GPT(config(), new Rng(9)).parameters();
  a.forEach((p, i) => assert.deepEqual(p.data, b[i]!.data));
});

test('lastLogits equals the last position of the full logits; ignored targets do not count', () => {
  const cfg = config({ positions: 'rope' });
  const model = new GPT(cfg, new Rng(4));
  const [b, t] = [2, 5];
  const ids = randInts(b * t, cfg.vocabSize, 5);
  noGrad(() => {
    const full = model.forward(ids, b, t).logits;
    const last = model.lastLogits(ids, b, t);
    assert.deepEqual(last.shape, [b, cfg.vocabSize]);
    const v = cfg.vocabSize;
    for (let i = 0; i < b; i++) {
      assertClose(last.data.subarray(i * v, (i + 1) * v), full.data.subarray(((i + 1) * t - 1) * v, (i + 1) * t * v), 1e-5, 1e-6);
    }
    const targets = randInts(b * t, v, 6);
    const all = model.forward(ids, b, t, targets).loss!.item();
    const masked = Int32Array.from(targets, (y, i) => (i % t === 0 ? -1 : y));
    assert.notEqual(model.forward(ids, b, t, masked).loss!.item(), all);
  });
  releaseGraph();
  assert.throws(() => model.forward(randInts(2 * 17, cfg.vocabSize, 1), 2, 17), /blockSize/);
});

for (const positions of ['learned', 'rope'] as const) {
  test(`the whole model's gradient (${positions}) matches finite differences`, () => {
    const cfg = config({ positions, nLayer: 2, nEmbd: 8, vocabSize: 7, tiedEmbeddings: positions === 'rope' });
    const model = new GPT(cfg, new Rng(3));
    // Larger weights than the init, so that every path carries a gradient well above float32 noise.
    const rng = new Rng(4);
    for (const [name, p] of model.namedParameters()) {
      if (name.includes('ln_')) for (let i = 0; i < p.size; i++) p.data[i] = 1 + 0.2 * rng.normal();
      else rng.fillNormal(p.data, 0.3);
    }
    const [b, t] = [2, 4];
    const ids = randInts(b * t, cfg.vocabSize, 5);
    const targets = randInts(b * t, cfg.vocabSize, 6);
    gradCheck(`GPT ${positions}`, () => model.forward(ids, b, t, targets).loss!, model.parameters(), { sample: 6, rtol: 3e-2, atol: 2e-4 });
  });
}

/** Trains on fixed windows of a tiny text; returns the first and the last loss. */
function overfit(cfg: ModelConfig, steps: number): [number, number] {
  const text = 'the cat sat on the mat. the dog sat on the log. ';
  const chars = [...new Set(text)].sort();
  const tokens = Int32Array.from(text, (ch) => chars.indexOf(ch));
  const [b, t] = [4, 12];
  const ids = new Int32Array(b * t);
  const targets = new Int32Array(b * t);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < t; j++) {
      ids[i * t + j] = tokens[i * t + j]!;
      targets[i * t + j] = tokens[(i * t + j + 1) % tokens.length]!;
    }
  }
  const model = new GPT({ ...cfg, vocabSize: chars.length }, new Rng(42));
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2, weightDecay: 0 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    zeroGrad(model.parameters());
    const loss = model.forward(ids, b, t, targets).loss!;
    backward(loss);
    clipGradNorm(model.parameters(), 1);
    opt.step();
    losses.push(loss.item());
    releaseGraph();
  }
  return [losses[0]!, losses[losses.length - 1]!];
}

for (const positions of ['learned', 'rope'] as const) {
  test(`a tiny GPT (${positions} positions) overfits a tiny text`, () => {
    const [first, last] = overfit(config({ positions, nEmbd: 32, blockSize: 12 }), 150);
    assert.ok(first > 2.5, `first loss ${first}`);
    assert.ok(last < 0.15, `loss after 150 steps: ${last}`);
  });
}
