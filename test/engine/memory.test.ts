// Memory stays flat over thousands of training steps: after warm-up the pool creates no buffer, and neither the JS
// heap nor the typed-array memory grows beyond a small bound (a leak of one step's graph or buffers would).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { backward, graphStats, releaseGraph, zeroGrad } from '../../src/engine/autograd.js';
import { add, bceWithLogits, gatherRows, linear, reshape, rowScale, scale, scatterAddRows, sigmoid, topk } from '../../src/engine/ops.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import type { ModelConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { AdamW, clipGradNorm } from '../../src/train/adamw.js';
import { randInts } from '../helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const config: ModelConfig = {
  vocabSize: 11,
  blockSize: 8,
  nLayer: 1,
  nHead: 2,
  nEmbd: 8,
  mlpRatio: 2,
  bias: true,
  tiedEmbeddings: true,
  positions: 'learned',
};
const [B, T, K] = [2, 8, 3];

/** A tiny model and a training step that also runs the routing ops (top-k, gather, scatter, sigmoid, rowScale, BCE). */
function setup(): { step: () => number; params: Tensor[] } {
  const model = new GPT(config, new Rng(1));
  const router = Tensor.param([1, config.nEmbd]);
  new Rng(2).fillNormal(router.data, 0.1);
  const named: Array<[string, Tensor]> = [...model.namedParameters(), ['router', router]];
  const params = named.map(([, t]) => t);
  const opt = new AdamW(named, { lr: 1e-2 });
  const ids = randInts(B * T, config.vocabSize, 3);
  const targets = randInts(B * T, config.vocabSize, 4);
  const step = (): number => {
    zeroGrad(params);
    const x = model.hidden(ids, B, T).hidden; // (B, T, C)
    const scores = reshape(linear(x, router, null), [B, T]); // (B, T)
    const idx = topk(scores, K); // (B, K)
    const w = sigmoid(reshape(gatherRows(reshape(scores, [B, T, 1]), idx, K), [B, K])); // (B, K)
    const routed = rowScale(gatherRows(x, idx, K), w); // (B, K, C)
    const y = scatterAddRows(x, routed, idx); // (B, T, C)
    const lm = model.forward(ids, B, T, targets).loss!;
    const half = new Float32Array(B * T).fill(0.5);
    const aux = add(bceWithLogits(scores, half), bceWithLogits(reshape(linear(y, router, null), [B * T]), half));
    const loss = add(lm, scale(aux, 0.1));
    backward(loss);
    clipGradNorm(params, 1);
    opt.step();
    const value = loss.item();
    releaseGraph();
    return value;
  };
  return { step, params };
}

function measure(): { heap: number; buffers: number; created: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, created: graphStats().pool.created };
}

test('2000 training steps after warm-up: pool, heap and typed-array memory stay flat', () => {
  const { step } = setup();
  for (let i = 0; i < 500; i++) step();
  const before = measure();
  let last = 0;
  for (let i = 0; i < 2000; i++) last = step();
  const after = measure();
  assert.ok(Number.isFinite(last));
  assert.equal(after.created, before.created, 'the pool created buffers after warm-up');
  assert.equal(graphStats().borrowed, 0);
  const heapGrowth = after.heap - before.heap;
  const bufferGrowth = after.buffers - before.buffers;
  assert.ok(heapGrowth < 1_000_000, `heap grew by ${heapGrowth} bytes over 2000 steps`);
  assert.ok(bufferGrowth < 64_000, `typed-array memory grew by ${bufferGrowth} bytes over 2000 steps`);
});

test('the check can fail: without releaseGraph the pool and typed-array memory grow', () => {
  const x = Tensor.from(new Float32Array(1000).fill(1), [1000], true);
  releaseGraph();
  const before = measure();
  for (let i = 0; i < 200; i++) backward(scale(x, 2), new Float32Array(1000).fill(1));
  const after = measure();
  releaseGraph();
  assert.ok(after.created - before.created >= 200);
  assert.ok(after.buffers - before.buffers >= 200 * 4000);
});
