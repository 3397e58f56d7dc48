// nn modules: parameter registration and names, nanoGPT init, shapes, and attention over explicit positions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { gatherRows, sequencePositions } from '../../src/engine/ops.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import { CausalSelfAttention, Embedding, LayerNorm, Linear, MLP, RMSNorm, residualStd } from '../../src/nn/index.js';
import { assertClose, randArray } from '../helpers.js';

/** Sizes as a GPT block of a model with nLayer layers passes them: explicit widths, no model config. */
interface Sizes {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  bias: boolean;
  positions: 'learned' | 'rope';
}
const config = (over: Partial<Sizes> = {}): Sizes => ({ nLayer: 2, nHead: 2, nEmbd: 8, bias: true, positions: 'learned', ...over });
const attention = (c: Sizes, rng: Rng): CausalSelfAttention =>
  new CausalSelfAttention(c.nEmbd, c.nHead, { bias: c.bias, rope: c.positions === 'rope', projStd: residualStd(c.nLayer) }, rng);
const mlp4 = (c: Sizes, rng: Rng): MLP => new MLP(c.nEmbd, 4 * c.nEmbd, { bias: c.bias, projStd: residualStd(c.nLayer) }, rng);

function std(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s / a.length);
}

test('Linear: (out, in) weight N(0, std), zero bias, names, forward shape', () => {
  const l = new Linear(64, 128, { bias: true, rng: new Rng(1), std: 0.05 });
  assert.deepEqual(l.namedParameters().map(([n, t]) => [n, t.shape]), [['weight', [128, 64]], ['bias', [128]]]);
  assert.ok(Math.abs(std(l.weight.data) - 0.05) < 0.003);
  assert.ok(l.bias!.data.every((v) => v === 0));
  const y = noGrad(() => l.forward(Tensor.zeros([2, 3, 64])));
  assert.deepEqual(y.shape, [2, 3, 128]);
  releaseGraph();
  assert.equal(new Linear(4, 5, { bias: false, rng: new Rng(1) }).numParams(), 20);
});

test('Embedding, LayerNorm and RMSNorm init', () => {
  const e = new Embedding(100, 50, new Rng(2));
  assert.ok(Math.abs(std(e.weight.data) - 0.02) < 0.001);
  const ln = new LayerNorm(6, true);
  assert.deepEqual(ln.namedParameters().map(([n]) => n), ['weight', 'bias']);
  assert.ok(ln.weight.data.every((v) => v === 1) && ln.bias!.data.every((v) => v === 0));
  assert.equal(new LayerNorm(6, false).bias, null);
  assert.ok(new RMSNorm(6).weight.data.every((v) => v === 1));
});

test('attention and MLP: nanoGPT names and residual-projection init', () => {
  const cfg = config({ nEmbd: 64, nHead: 4, nLayer: 8 });
  const attn = attention(cfg, new Rng(3));
  assert.deepEqual(attn.namedParameters().map(([n, t]) => [n, t.shape]), [
    ['c_attn.weight', [192, 64]],
    ['c_attn.bias', [192]],
    ['c_proj.weight', [64, 64]],
    ['c_proj.bias', [64]],
  ]);
  assert.ok(Math.abs(std(attn.cProj.weight.data) - residualStd(8)) < 0.1 * residualStd(8));
  assert.ok(Math.abs(std(attn.cAttn.weight.data) - 0.02) < 0.002);
  const mlp = mlp4(cfg, new Rng(4));
  assert.deepEqual(mlp.namedParameters().map(([n, t]) => [n, t.shape]), [
    ['c_fc.weight', [256, 64]],
    ['c_fc.bias', [256]],
    ['c_proj.weight', [64, 256]],
    ['c_proj.bias', [64]],
  ]);
  assert.equal(mlp4(config({ bias: false }), new Rng(4)).numParams(), 2 * 8 * 32);
});

for (const positions of ['learned', 'rope'] as const) {
  test(`attention (${positions}) on gathered rows keeps the causal prefix of the full sequence`, () => {
    const [b, t, c] = [2, 7, 8];
    const attn = attention(config({ positions }), new Rng(5));
    const x = new Tensor(randArray(b * t * c, 6), [b, t, c]);
    noGrad(() => {
      const full = attn.forward(x, sequencePositions(b, t)); // (B, T, C)
      // The first 4 rows of each sequence, as a routed (B, K, C) subset with their original positions.
      const idx = Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]);
      const sub = attn.forward(gatherRows(x, idx, 4), idx); // (B, K, C)
      assert.deepEqual(sub.shape, [b, 4, c]);
      const want = gatherRows(full, idx, 4);
      assertClose(sub.data, want.data, 1e-4, 1e-6, 'routed prefix');
    });
    releaseGraph();
  });
}
