// The training memory estimate (src/model/memory.ts) against the memory a training step really holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
import { type ModelConfig, modConfigDefaults } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { totalParams, trainingMemory } from '../../src/model/memory.js';
import { AdamW } from '../../src/train/adamw.js';
import { trainStep } from '../../src/train/step.js';

const dense: ModelConfig = { vocabSize: 256, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64, mlpRatio: 4, bias: false, tiedEmbeddings: true, positions: 'learned' };

/** arrayBuffers held after three steps (the buffer pool then keeps a step's peak), beyond what was held before. */
function measured(cfg: ModelConfig, batchSize: number): number {
  const base = process.memoryUsage().arrayBuffers;
  const model = new GPT(cfg, new Rng(1));
  const opt = new AdamW(model.namedParameters(), { lr: 1e-3, beta1: 0.9, beta2: 0.99, weightDecay: 0.1 });
  const T = cfg.blockSize;
  const x = new Int32Array(batchSize * T).map((_, i) => (i * 7) % cfg.vocabSize);
  let peak = 0;
  for (let i = 0; i < 3; i++) {
    trainStep(model, opt, { x, y: x, B: batchSize, T }, { lr: 1e-3, gradClip: 1 });
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }
  assert.equal(totalParams(cfg), model.numParams());
  return peak;
}

test('the estimate is within 0.8–1.25× of the memory a training step holds (dense, then MoD)', () => {
  for (const [cfg, b] of [[dense, 8], [{ ...dense, nLayer: 4, blockSize: 128, nEmbd: 128, mod: { ...modConfigDefaults } }, 8]] as const) {
    const ratio = trainingMemory(cfg, b).totalBytes / measured(cfg, b);
    assert.ok(ratio > 0.8 && ratio < 1.25, `estimate / measured = ${ratio.toFixed(2)} for ${JSON.stringify(cfg)}`);
  }
});

test('the estimate grows with batch, width and depth as the formula says', () => {
  const a = trainingMemory(dense, 8);
  assert.equal(a.stateBytes, 16 * totalParams(dense));
  assert.ok(trainingMemory(dense, 16).activationBytes > 1.9 * a.activationBytes);
  assert.ok(trainingMemory({ ...dense, nLayer: 4 }, 8).totalBytes > a.totalBytes);
});
