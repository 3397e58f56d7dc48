// KV-cache decoding: cached logits equal the full forward's position by position (learned and rotary positions,
// with a prompt, across the blockSize crop, B > 1, both backends and every SIMD level), the cache holds exactly the
// tokens processed, a layer cache with skipped tokens attends like the batched op on that subset (Mixture-of-Depths),
// and memory stays flat over hundreds of steps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { graphStats, noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { Tensor } from '../../src/engine/tensor.js';
import { setBackend, type BackendName } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/model/config.js';
import type { GPT } from '../../src/model/gpt.js';
import { cropWindow, kvCacheLogits } from '../../src/sample/generate.js';
import { KVCache, LayerCache } from '../../src/model/kv-cache.js';
import { assertClose, forEachSimdLevel, randArray, randInts } from '../helpers.js';
import { randomModel, tinyConfig } from './fixtures.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** The last position's logits of the full forward over the cropped window (the oracle). */
function fullForwardLast(model: GPT, context: Int32Array): Float32Array {
  const w = cropWindow(context, model.config.blockSize);
  const v = model.config.vocabSize;
  const out = noGrad(() => model.forward(w, 1, w.length).logits.data.slice((w.length - 1) * v));
  releaseGraph();
  return out;
}

const variants: Array<[string, Partial<ModelConfig>]> = [
  ['learned, bias, tied', {}],
  ['rope, bias, tied', { positions: 'rope' }],
  ['learned, no bias, untied', { bias: false, tiedEmbeddings: false }],
  ['rope, no bias, untied, 4 heads', { positions: 'rope', bias: false, tiedEmbeddings: false, nHead: 4 }],
];

/** Feeds a prompt of 5 tokens and grows the context to 40 (blockSize 16), comparing every position. */
function checkAgainstForward(cfg: ModelConfig, what: string): void {
  const model = randomModel(cfg, 3);
  const context = randInts(40, cfg.vocabSize, 4);
  const source = kvCacheLogits(model);
  for (let n = 5; n <= context.length; n++) {
    const ctx = context.subarray(0, n);
    const cached = Float32Array.from(source.next(ctx));
    assertClose(cached, fullForwardLast(model, ctx), 1e-4, 2e-5, `${what}: logits after ${n} tokens`);
  }
  // One prefill of the prompt, decode steps up to blockSize tokens, then one re-prefill per token.
  assert.equal(source.steps, cfg.blockSize - 5);
  assert.equal(source.prefills, 1 + context.length - cfg.blockSize);
}

for (const backend of ['native', 'reference'] as BackendName[]) {
  for (const [name, over] of variants) {
    test(`${backend}: cached decode logits equal the full forward's at every position and across the crop (${name})`, () => {
      setBackend(backend);
      try {
        checkAgainstForward(tinyConfig(over), `${backend} ${name}`);
      } finally {
        setBackend('native');
      }
    });
  }
}

test('native: cached decode equals the full forward at every SIMD level', () => {
  forEachSimdLevel((level) => checkAgainstForward(tinyConfig({ positions: 'rope', nEmbd: 48, nHead: 3 }), `simd ${level}`));
});

test('prefill logits are bit-identical to lastLogits (the same ops)', () => {
  for (const positions of ['learned', 'rope'] as const) {
    const model = randomModel(tinyConfig({ positions }), 5);
    const ids = randInts(2 * 11, 256, 6);
    const cache = KVCache.forModel(model.config, 2);
    noGrad(() => assert.deepEqual(model.prefill(ids, 2, 11, cache).logits.data, model.lastLogits(ids, 2, 11).data));
    releaseGraph();
  }
});

test('batched decode (B = 3) matches each sequence decoded alone', () => {
  const cfg = tinyConfig({ positions: 'rope' });
  const model = randomModel(cfg, 8);
  const [b, t, steps] = [3, 4, 6];
  const prompts = randInts(b * t, cfg.vocabSize, 9);
  const next = randInts(b * steps, cfg.vocabSize, 10); // (steps, B)
  const batched: Float32Array[] = [];
  const cache = KVCache.forModel(cfg, b);
  noGrad(() => {
    batched.push(model.prefill(prompts, b, t, cache).logits.data.slice());
    for (let s = 0; s < steps; s++) batched.push(model.decodeStep(next.subarray(s * b, (s + 1) * b), cache).logits.data.slice());
  });
  releaseGraph();
  const v = cfg.vocabSize;
  for (let i = 0; i < b; i++) {
    const single = KVCache.forModel(cfg, 1);
    noGrad(() => {
      assertClose(model.prefill(prompts.subarray(i * t, (i + 1) * t), 1, t, single).logits.data, batched[0]!.subarray(i * v, (i + 1) * v), 1e-5, 1e-6, `prefill ${i}`);
      for (let s = 0; s < steps; s++) {
        const logits = model.decodeStep(next.subarray(s * b + i, s * b + i + 1), single).logits.data;
        assertClose(logits, batched[s + 1]!.subarray(i * v, (i + 1) * v), 1e-5, 1e-6, `sequence ${i} step ${s}`);
      }
    });
    releaseGraph();
  }
});

test('the KV cache holds exactly the tokens processed: lengths, positions, keys and values', () => {
  const cfg = tinyConfig({ positions: 'rope' });
  const model = randomModel(cfg, 11);
  const ids = randInts(cfg.blockSize + 3, cfg.vocabSize, 12);
  const stepped = KVCache.forModel(cfg);
  const whole = KVCache.forModel(cfg);
  noGrad(() => {
    model.prefill(ids.subarray(0, 5), 1, 5, stepped);
    for (let n = 5; n < 9; n++) model.decodeStep(ids.subarray(n, n + 1), stepped);
    model.prefill(ids.subarray(0, 9), 1, 9, whole);
  });
  releaseGraph();
  const c = cfg.nEmbd;
  for (let l = 0; l < cfg.nLayer; l++) {
    const [a, b] = [stepped.layers[l]![0]!, whole.layers[l]![0]!];
    assert.equal(a.length, 9);
    assert.deepEqual([...a.positions.subarray(0, 9)], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assertClose(a.keys.subarray(0, 9 * c), b.keys.subarray(0, 9 * c), 1e-4, 1e-5, `layer ${l} keys`);
    assertClose(a.values.subarray(0, 9 * c), b.values.subarray(0, 9 * c), 1e-4, 1e-5, `layer ${l} values`);
  }
  assert.deepEqual([...stepped.nextPos], [9]);

  // Across the crop: a full cache takes no step, and the re-prefilled window restarts at position 0.
  noGrad(() => {
    model.prefill(ids.subarray(0, cfg.blockSize), 1, cfg.blockSize, stepped);
    assert.equal(stepped.full(), true);
    assert.throws(() => model.decodeStep(ids.subarray(0, 1), stepped), /KV cache is full/);
  });
  releaseGraph();
  const source = kvCacheLogits(model);
  source.next(ids);
  const layer = source.cache.layers[1]![0]!;
  assert.equal(layer.length, cfg.blockSize);
  assert.deepEqual([...layer.positions], Array.from({ length: cfg.blockSize }, (_, i) => i));
});

test('a layer cache that skipped tokens attends like the batched op on that subset (Mixture-of-Depths)', () => {
  for (const positions of ['learned', 'rope'] as const) {
    const cfg = tinyConfig({ positions });
    const attn = randomModel(cfg, 13).h[0]!.attn;
    const pos = Int32Array.of(0, 2, 3, 5, 6); // the block processed these tokens of a sequence; 1 and 4 skipped
    const c = cfg.nEmbd;
    const x = new Tensor(randArray(5 * c, 14), [1, 5, c]);
    const cache = new LayerCache(cfg.blockSize, c);
    noGrad(() => {
      const full = attn.forward(x, pos).data; // (1, 5, C)
      attn.prefill(new Tensor(x.data.slice(0, 4 * c), [1, 4, c]), pos.subarray(0, 4), [cache]);
      const last = attn.decode(new Tensor(x.data.slice(4 * c), [1, c]), pos.subarray(4), [cache]).data;
      assert.equal(cache.length, 5);
      assert.deepEqual([...cache.positions.subarray(0, 5)], [...pos]);
      assertClose(last, full.subarray(4 * c), 1e-5, 1e-6, `${positions}: the new token's output`);
    });
    releaseGraph();
  }
});

test('decoding refuses grad mode and a cache that does not fit the model', () => {
  const cfg = tinyConfig();
  const model = randomModel(cfg, 15);
  const cache = KVCache.forModel(cfg);
  assert.throws(() => model.prefill(Int32Array.of(1, 2), 1, 2, cache), /noGrad/);
  noGrad(() => {
    assert.throws(() => model.prefill(Int32Array.of(1, 2), 1, 2, KVCache.forModel({ ...cfg, blockSize: 8 })), /does not fit/);
    assert.throws(() => model.decodeStep(Int32Array.of(1, 2), cache), /does not fit/);
    assert.throws(() => model.prefill(new Int32Array(cfg.blockSize + 1), 1, cfg.blockSize + 1, cache), /window holds/);
  });
  releaseGraph();
});

test('memory stays flat over hundreds of decode steps and re-prefills', () => {
  const cfg = tinyConfig({ blockSize: 160, nEmbd: 16 });
  const model = randomModel(cfg, 16);
  const source = kvCacheLogits(model);
  const context = randInts(400, cfg.vocabSize, 17);
  const created: number[] = [];
  let heapAt20 = 0;
  let heapAt150 = 0;
  for (let n = 4; n <= context.length; n++) {
    source.next(context.subarray(0, n));
    created[n] = graphStats().pool.created;
    if (n === 20 || n === 150) {
      gc();
      const m = process.memoryUsage();
      if (n === 20) heapAt20 = m.heapUsed + m.arrayBuffers;
      else heapAt150 = m.heapUsed + m.arrayBuffers;
    }
  }
  assert.equal(source.steps, 156);
  assert.equal(created[150], created[20], 'decode steps 20..150 created pool buffers');
  assert.equal(created[400], created[180], 're-prefills 180..400 created pool buffers');
  assert.ok(heapAt150 - heapAt20 < 2e6, `memory grew by ${heapAt150 - heapAt20} bytes over 130 decode steps`);
  assert.equal(graphStats().nodes, 0);
  assert.equal(graphStats().tensors, 0);
});
