// `mod eval` of a Mixture-of-Depths checkpoint: the loss under top-k and causal routing, the causal rule's accuracy,
// precision and recall against top-k membership, the realised load, and the --json fields.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { parseEvalOptions } from '../../src/cli/eval.js';
import { createTokenizer } from '../../src/data/index.js';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { Rng } from '../../src/engine/rng.js';
import { ConfigError } from '../../src/errors.js';
import { modConfigDefaults, validateModelConfig } from '../../src/model/config.js';
import type { GPT } from '../../src/model/gpt.js';
import { getPreset } from '../../src/train/presets.js';
import { AdamW } from '../../src/train/adamw.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { evaluateCommand } from '../../src/cli/eval.js';
import { evaluateCheckpoint, windowLoss } from '../../src/train/evaluate.js';
import { optimizerTensors, parameterTensors } from '../../src/train/model-state.js';
import { assertClose } from '../helpers.js';
import { randomModel } from '../sample/fixtures.js';
import { tempDir, tinyText, tinyTextFile } from './fixtures/tiny-run.js';

const T = 16;
const dir = tempDir('mod-eval-mod-');
const text = tinyText(3000, 4);
const data = tinyTextFile(dir, text);
const tokenizer = createTokenizer('char', text);
const cfg = validateModelConfig({
  ...getPreset('brown-small').model, vocabSize: tokenizer.vocabSize, blockSize: T, nLayer: 4, nHead: 2, nEmbd: 16,
  mod: { ...modConfigDefaults, capacity: 0.25, every: 2, predictorHidden: 4 },
});
const model = randomModel(cfg, 71);
const ckptDir = path.join(dir, 'ckpt');
const p = getPreset('brown-mod-small');
saveCheckpoint(ckptDir, {
  config: { preset: 'brown-mod-small', model: cfg, train: { ...p.train, tokenizer: 'char', data }, tokenizer: tokenizer.toJSON() },
  tensors: parameterTensors(model),
  optimizer: optimizerTensors(model, new AdamW(model.namedParameters(), { lr: 1e-3 }).exportState()),
  meta: { iteration: 0, tokensSeen: 0, optimizerStep: 0, rng: new Rng(1).getState(), bestValLoss: null },
});
const tokens = tokenizer.encode(text);

/** Per routed block: [tp, fp, fn, tn] of z > 0 vs top-k membership, by hand from top-k forwards of each window. */
function confusionByHand(m: GPT): number[][] {
  const counts = m.routedBlocks().map(() => [0, 0, 0, 0]);
  for (let s = 0; s + T + 1 <= tokens.length; s += T + 1) {
    const routing = noGrad(() => m.hidden(tokens.slice(s, s + T), 1, T, 'topk').routing);
    routing.forEach((out, i) => {
      const r = out.topk!;
      const chosen = new Set(Array.from(r.idx));
      for (let j = 0; j < T; j++) {
        const predicted = out.causalLogits.data[j]! > 0;
        counts[i]![chosen.has(j) ? (predicted ? 0 : 2) : predicted ? 1 : 3]!++;
      }
    });
    releaseGraph();
  }
  return counts;
}

test('MoD eval: top-k and causal losses, rule quality against top-k membership, realised load', () => {
  const r = evaluateCheckpoint(ckptDir, data);
  assert.ok(r.mod !== null);
  const topk = windowLoss(model, tokens, { mode: 'topk' }).loss;
  const causal = windowLoss(model, tokens, { mode: 'causal' }).loss;
  assertClose([r.mod.topkLoss!, r.mod.causalLoss!], [topk, causal], 1e-6, 0, 'losses');
  assert.equal(r.loss, r.mod.topkLoss);
  assert.notEqual(r.mod.topkLoss, r.mod.causalLoss);
  const hand = confusionByHand(model);
  assert.deepEqual(r.mod.blocks.map((b) => b.layer), [1, 3]);
  r.mod.blocks.forEach((b, i) => {
    const [tp, fp, fn, tn] = hand[i]!;
    assert.equal(b.accuracy, (tp! + tn!) / (tp! + fp! + fn! + tn!));
    assert.equal(b.precision, tp! + fp! === 0 ? null : tp! / (tp! + fp!));
    assert.equal(b.recall, tp! / (tp! + fn!));
    assert.ok(b.processedFraction! >= 0 && b.processedFraction! <= 1);
  });
  // The realised load, by hand: tokens processed under causal routing over all windows.
  const seen = [0, 0];
  for (let s = 0; s + T + 1 <= tokens.length; s += T + 1) {
    noGrad(() => model.hidden(tokens.slice(s, s + T), 1, T, 'causal').routing.forEach((r, i) => (seen[i]! += r.processed[0]!.length)));
    releaseGraph();
  }
  r.mod.blocks.forEach((b, i) => assertClose([b.processedFraction!], [seen[i]! / r.tokens], 1e-12, 0, `block ${b.layer} load`));
});

test('--routing picks one routing; --json has the documented fields; human output names both losses', async () => {
  const js = captureIo();
  await evaluateCommand({ ckpt: ckptDir, data, json: true }, js);
  const both = JSON.parse(js.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(both), ['loss', 'tokens', 'topkLoss', 'causalLoss', 'blocks']);
  const blocks = both.blocks as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(blocks[0]!), ['layer', 'accuracy', 'precision', 'recall', 'processedFraction']);

  const causalIo = captureIo();
  await evaluateCommand({ ckpt: ckptDir, data, json: true, routing: 'causal' }, causalIo);
  const causal = JSON.parse(causalIo.stdout) as { loss: number; topkLoss: null; causalLoss: number; blocks: Array<Record<string, unknown>> };
  assert.equal(causal.topkLoss, null);
  assert.equal(causal.loss, causal.causalLoss);
  assert.equal(causal.causalLoss, both.causalLoss);
  assert.equal(causal.blocks[0]!.accuracy, null);
  assert.equal(typeof causal.blocks[0]!.processedFraction, 'number');

  const topkIo = captureIo();
  await evaluateCommand({ ckpt: ckptDir, data, json: true, routing: 'topk' }, topkIo);
  const topk = JSON.parse(topkIo.stdout) as { causalLoss: null; topkLoss: number; blocks: Array<Record<string, unknown>> };
  assert.equal(topk.causalLoss, null);
  assert.equal(topk.topkLoss, both.topkLoss);
  assert.equal(topk.blocks[1]!.processedFraction, null);

  const human = captureIo();
  await evaluateCommand({ ckpt: ckptDir, data, json: false }, human);
  assert.match(human.stdout, /^loss \(top-k routing\) +\d\.\d{4} \|/m);
  assert.match(human.stdout, /^loss \(causal routing\) +\d\.\d{4} \([+-]\d+\.\d{2} % vs top-k\)/m);
  assert.match(human.stdout, /^ +block +accuracy +precision +recall +processed \(causal\)$/m);

  assert.equal(parseEvalOptions({ ckpt: 'x', routing: 'causal' }).routing, 'causal');
  assert.throws(() => parseEvalOptions({ ckpt: 'x', routing: 'top-k' }), ConfigError);
});
