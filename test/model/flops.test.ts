import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelConfig } from '../../src/model/config.js';
import { type BlockFlops, causalPairs, denseBlockFlops, forwardFlops, layerFlops, paramCounts, trainingFlops } from '../../src/model/flops.js';
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

/**
 * Mismatches of a layer-cost function against counts worked out by hand for Mixture-of-Depths configs. `flops` is
 * layerFlops, or a deliberately broken variant of it (the control).
 */
function routedFlopsErrors(flops: (cfg: ModelConfig, layer: number, t: number) => BlockFlops): string[] {
  const errors: string[] = [];
  const expect = (what: string, got: number, want: number): void => {
    if (got !== want) errors.push(`${what}: ${got} instead of ${want}`);
  };
  const mod = { capacity: 0.5, every: 2, routerWeight: 'raw', routing: 'learned', causal: 'predictor', auxWeight: 0.1, predictorHidden: 8 } as const;
  const cfg: ModelConfig = { ...tiny, mod };
  // tiny (C = 4, H = 8) at T = 4: block 0 dense = 1184 (above). Block 1 routed, k = ceil(0.5·4) = 2 tokens:
  // qkv 2·2·4·12 = 192, proj 2·2·4·4 = 64, MLP 2·2·4·8·2 = 256, pairs 2·3/2 = 3: scores 2·3·4 = 24, values 24;
  // router (4, 4)·(4, 1) = 2·4·4 = 32 over all T tokens → 560 + 32 = 592.
  const l1 = flops(cfg, 1, 4);
  expect('block 1 tokens', l1.tokens, 2);
  expect('block 1 router', l1.extra, 32);
  expect('block 1 total', l1.total, 592);
  expect('block 0 total', flops(cfg, 0, 4).total, 1184);
  // Random routing has no router: 560.
  expect('random routing router', flops({ ...tiny, mod: { ...mod, routing: 'random' } }, 1, 4).extra, 0);
  expect('random routing total', flops({ ...tiny, mod: { ...mod, routing: 'random' } }, 1, 4).total, 560);
  // brown-mod-small (C 128, H 512, T 128, capacity 0.125 → k 16), block 1: 24·k·C² = 6,291,456 for the matmuls,
  // 4·P·C = 4·136·128 = 69,632 for attention, router 2·128·128 = 32,768 → 6,393,856.
  const brown = getPreset('brown-mod-small').model;
  expect('brown-mod-small router', flops(brown, 1, 128).extra, 32_768);
  expect('brown-mod-small block 1', flops(brown, 1, 128).total, 6_393_856);
  return errors;
}

describe('Mixture-of-Depths FLOPs (docs/flops.md)', () => {
  it('a routed block costs its k tokens plus its router, 2·T·C, by hand (router FLOPs 0 fails)', () => {
    assert.deepEqual(routedFlopsErrors(layerFlops), []);
    const noRouter = (cfg: ModelConfig, layer: number, t: number): BlockFlops => {
      const f = layerFlops(cfg, layer, t);
      return { ...f, extra: 0, total: f.total - f.extra };
    };
    assert.deepEqual(routedFlopsErrors(noRouter), ['block 1 router: 0 instead of 32', 'block 1 total: 560 instead of 592', 'brown-mod-small router: 0 instead of 32768', 'brown-mod-small block 1: 6361088 instead of 6393856']);
  });

  it('brown-mod-small: 1.02 MFLOP forward per token, 0.575 of brown-small, by hand', () => {
    // Dense block at T = 128: 24·128·128² + 4·8256·128 = 54,558,720; routed: 6,393,856 (above); head 2·128·128·256.
    const perSequence = 2 * 54_558_720 + 2 * 6_393_856 + 8_388_608;
    const f = forwardFlops(getPreset('brown-mod-small').model);
    assert.deepEqual(f.blocks.map((b) => b.extra), [0, 32_768, 0, 32_768]);
    assert.equal(f.perSequence, perSequence);
    assert.equal(f.perToken, 1_017_920);
    assert.equal((f.perToken / forwardFlops(getPreset('brown-small').model).perToken).toFixed(3), '0.575');
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

  it('MoD: one C-vector router per routed block (learned only); the causal predictors are not counted', async () => {
    const { GPT } = await import('../../src/model/gpt.js');
    const { Rng } = await import('../../src/engine/rng.js');
    const mod = { capacity: 0.5, every: 2, routerWeight: 'raw', routing: 'learned', causal: 'aux', auxWeight: 0.1, predictorHidden: 3 } as const;
    const cfg: ModelConfig = { ...tiny, nLayer: 4, mod };
    // Blocks 1 and 3 are routed: 2 routers of C = 4 weights.
    assert.equal(paramCounts(cfg).routers, 8);
    assert.equal(paramCounts(cfg).total, paramCounts({ ...tiny, nLayer: 4 }).total + 8);
    assert.equal(new GPT(cfg, new Rng(1)).numParams(), paramCounts(cfg).total);
    assert.equal(paramCounts({ ...cfg, mod: { ...mod, routing: 'random', causal: 'predictor' } }).routers, 0);
    // A predictor per routed block: C·3 + 3 + 3 + 1 = 19 weights, outside paramCounts (docs/flops.md).
    const withPredictor = { ...cfg, mod: { ...mod, causal: 'predictor' as const } };
    assert.equal(new GPT(withPredictor, new Rng(1)).numParams() - paramCounts(withPredictor).total, 2 * 19);
  });
});
