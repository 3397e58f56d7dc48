// loadModel: a checkpoint directory → model, tokenizer and checkpoint. A round trip through saveCheckpoint gives
// the same model; a tokenizer that does not fit vocabSize, weights that do not fit the config and a
// Mixture-of-Depths config are one-line CheckpointErrors.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { ByteTokenizer, CharTokenizer } from '../../src/data/tokenizer.js';
import { CheckpointError } from '../../src/errors.js';
import type { ModConfig } from '../../src/model/config.js';
import { loadModel } from '../../src/train/load.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { randInts } from '../helpers.js';
import { randomModel, tempDir, tinyConfig, writeCheckpoint } from '../sample/fixtures.js';

const root = tempDir();

function assertCheckpointError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

test('a saved model loads back with identical parameters and logits', () => {
  for (const over of [{}, { positions: 'rope' as const, bias: false, tiedEmbeddings: false }]) {
    const model = randomModel(tinyConfig(over), 1);
    const dir = path.join(root, `rt-${over.positions ?? 'learned'}`);
    writeCheckpoint(dir, model, new ByteTokenizer());
    const loaded = loadModel(dir);
    assert.equal(loaded.tokenizer.kind, 'byte');
    assert.deepEqual(loaded.model.config, model.config);
    const names = model.namedParameters().map(([n]) => n);
    assert.deepEqual(loaded.model.namedParameters().map(([n]) => n), names);
    loaded.model.namedParameters().forEach(([n, p], i) => assert.deepEqual(p.data, model.parameters()[i]!.data, n));
    const ids = randInts(10, 256, 2);
    noGrad(() => assert.deepEqual(loaded.model.lastLogits(ids, 1, 10).data, model.lastLogits(ids, 1, 10).data));
    releaseGraph();
  }
});

test('a tokenizer whose vocabulary differs from vocabSize is a CheckpointError', () => {
  const dir = path.join(root, 'vocab');
  writeCheckpoint(dir, randomModel(tinyConfig(), 4), CharTokenizer.fromText('abc'));
  assertCheckpointError(() => loadModel(dir), /config\.json: the char tokenizer has 3 tokens but the model's vocabSize is 256/);
});

test('weights that do not fit the config, and a Mixture-of-Depths config without its router, are CheckpointErrors', () => {
  const dir = path.join(root, 'shape');
  writeCheckpoint(dir, randomModel(tinyConfig(), 5), new ByteTokenizer());
  const ckpt = loadCheckpoint(dir);
  const name = 'transformer.h.0.attn.c_attn.weight';
  const bad = new Map(ckpt.tensors).set(name, { data: new Float32Array(96 * 32), shape: [32, 96] });
  saveCheckpoint(dir, { ...ckpt, tensors: bad });
  assertCheckpointError(() => loadModel(dir), /model\.safetensors: .*transformer\.h\.0\.attn\.c_attn\.weight.*\[32, 96\]/);

  const mod = path.join(root, 'mod');
  writeCheckpoint(mod, randomModel(tinyConfig(), 6), new ByteTokenizer());
  const m = loadCheckpoint(mod);
  saveCheckpoint(mod, { ...m, config: { ...m.config, model: { ...m.config.model, mod: { capacity: 0.5, every: 2, routerWeight: 'raw', routing: 'learned' } as ModConfig } } });
  // A mod section without `causal` (written before causal routing) is read as an untrained `aux` rule: no predictor.
  assertCheckpointError(() => loadModel(mod), /has no tensor transformer\.h\.1\.router\.weight/);
});
