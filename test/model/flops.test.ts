import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelConfig } from '../../src/model/config.js';
import { causalPairs, denseBlockFlops, forwardFlops, paramCounts, trainingFlops } from '../../src/model/flops.js';
import { getPreset } from '../../src/train/presets.js';

// V = 10, T = 4, L = 2, C = 4 (2 heads of 2), MLP hidden 8, biases, learned positions, untied head.
const tiny: ModelConfig = {
  vocabSize: 10,
  blockSize: 4,
  nLayer: 2,
  nHead: 2,
  nEmbd: 4,
  mlpRatio: 2,
  bias: true,
  tiedEmbeddings: false,
  positions: 'learned',
};

describe('parameter counts', () => {
  it('tiny config, by hand', () => {
    // wte 10·4 = 40, wpe 4·4 = 16, lm_head 10·4 = 40 (no bias), ln_f 4 + 4 = 8.
    // block: ln_1 8, c_attn 4·12 + 12 = 60, attn.c_proj 16 + 4 = 20, ln_2 8, c_fc 4·8 + 8 = 40, mlp.c_proj 32 + 4 = 36 → 172.
    const p = paramCounts(tiny);
    assert.equal(p.perBlock, 172);
    assert.equal(p.tokenEmbedding, 40);
    assert.equal(p.positionEmbedding, 16);
    assert.equal(p.lmHead, 40);
    assert.equal(p.finalNorm, 8);
    assert.equal(p.total, 40 + 16 + 2 * 172 + 8 + 40);
    assert.equal(p.nonEmbedding, 2 * 172 + 8 + 40);
  });

  it('tied head, no bias, rope: no lm_head, no position table, no bias vectors', () => {
    const p = paramCounts({ ...tiny, tiedEmbeddings: true, bias: false, positions: 'rope' });
    // block: ln 4 + 4, c_attn 48, c_proj 16, c_fc 32, c_proj 32 → 136.
    assert.equal(p.perBlock, 136);
    assert.equal(p.lmHead, 0);
    assert.equal(p.positionEmbedding, 0);
    assert.equal(p.total, 40 + 2 * 136 + 4);
  });

  it("matches nanoGPT's 0.80M for the Shakespeare-char CPU model (its count excludes only wpe)", () => {
    const p = paramCounts(getPreset('shakespeare-char-cpu').model);
    assert.equal(p.total - p.positionEmbedding, 795_904);
    assert.equal((p.total - p.positionEmbedding) / 1e6 >= 0.795 && (p.total - p.positionEmbedding) / 1e6 < 0.805, true);
  });
});

describe('FLOPs', () => {
  it('tiny config at T = 4, by hand', () => {
    // Per token per block: qkv 2·4·12 = 96, proj 2·4·4 = 32, MLP 2·4·8·2 = 128 → 256; × 4 tokens = 1024.
    // Attention: 4·5/2 = 10 causal pairs; scores 2·10·4 = 80, values 80.
    const b = denseBlockFlops(tiny, 4);
    assert.deepEqual(
      [b.qkv, b.attnProj, b.mlp, b.attnScores, b.attnValues, b.extra, b.total],
      [384, 128, 512, 80, 80, 0, 1184],
    );
    const f = forwardFlops(tiny);
    assert.equal(f.t, 4);
    assert.equal(f.lmHead, 2 * 4 * 4 * 10);
    assert.equal(f.perSequence, 2 * 1184 + 320);
    assert.equal(f.perToken, 2688 / 4);
    const tr = trainingFlops(tiny);
    assert.equal(tr.perSequence, 3 * 2688);
    assert.equal(tr.perToken, 3 * 672);
  });

  it('shorter sequences: linear parts scale with t, attention with t(t+1)/2', () => {
    const f1 = forwardFlops(tiny, 1);
    // One token: 256 per block + 2 pairs·... = 2·1·4 + 2·1·4 = 16 attention per block; head 80.
    assert.equal(f1.perSequence, 2 * (256 + 16) + 80);
    assert.equal(causalPairs(1), 1);
    assert.equal(causalPairs(128), 8256);
  });

  it('a block on k of T tokens plus a router (the Mixture-of-Depths shape) is a dense block on k tokens + extra', () => {
    const routed = denseBlockFlops(tiny, 2, 2 * tiny.nEmbd * 4);
    assert.equal(routed.total, denseBlockFlops(tiny, 2).total + 32);
    assert.ok(routed.total < denseBlockFlops(tiny, 4).total);
  });

  it('brown-small: ~1.77 MFLOP forward per token, 6N + attention for training', () => {
    const m = getPreset('brown-small').model;
    const f = forwardFlops(m);
    const p = paramCounts(m);
    // Matmul weights: 4 blocks of 12·C² plus the (tied) head V·C; each is 2 FLOPs per token per weight.
    const matmulWeights = 4 * 12 * 128 * 128 + 256 * 128;
    const attentionPerToken = (4 * 2 * 2 * 128 * causalPairs(128)) / 128;
    assert.equal(f.perToken, 2 * matmulWeights + attentionPerToken);
    assert.equal(f.perToken, 1_770_496);
    assert.ok(p.nonEmbedding < matmulWeights);
  });
});

describe('parameter counts agree with the model', () => {
  it('GPT.numParams() equals paramCounts().total for tied/untied, bias/no bias, learned/rope', async () => {
    const { GPT } = await import('../../src/model/gpt.js');
    const { Rng } = await import('../../src/engine/rng.js');
    for (const variant of [{}, { tiedEmbeddings: true }, { bias: false, positions: 'rope' as const }, { mlpRatio: 3, nLayer: 1 }]) {
      const cfg = { ...tiny, ...variant };
      const model = new GPT(cfg, new Rng(1));
      assert.equal(model.numParams(), paramCounts(cfg).total, JSON.stringify(variant));
    }
  });
});
