// `mod eval`'s evaluator: non-overlapping windows of T+1 tokens, the loss by hand, the val split and --data.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { DataError, createTokenizer, loadDataset, tokenizerFromJSON } from '../../src/data/index.js';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { Rng } from '../../src/engine/rng.js';
import { validateModelConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { getPreset } from '../../src/train/presets.js';
import { AdamW } from '../../src/train/adamw.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { evaluateCommand } from '../../src/cli/eval.js';
import { evaluateCheckpoint, windowCount, windowLoss } from '../../src/train/evaluate.js';
import { optimizerTensors, parameterTensors } from '../../src/train/model-state.js';
import { assertClose, randInts } from '../helpers.js';
import { tempDir, tinyText, tinyTextFile } from './fixtures/tiny-run.js';

const T = 8;
const dir = tempDir('mod-eval-');
const text = tinyText(2000, 3);
const data = tinyTextFile(dir, text);
const tokenizer = createTokenizer('char', text);
const model = new GPT(validateModelConfig({ ...getPreset('brown-small').model, vocabSize: tokenizer.vocabSize, blockSize: T, nLayer: 1, nHead: 2, nEmbd: 16 }), new Rng(5));

/** The loss of each window by itself (batch 1), averaged: the definition, written out. */
function byHand(tokens: Int32Array): { loss: number; tokens: number } {
  const losses: number[] = [];
  for (let s = 0; s + T + 1 <= tokens.length; s += T + 1) {
    const x = tokens.slice(s, s + T);
    const y = tokens.slice(s + 1, s + T + 1);
    losses.push(noGrad(() => model.forward(x, 1, T, y).loss!.item()));
    releaseGraph();
  }
  return { loss: losses.reduce((a, b) => a + b, 0) / losses.length, tokens: losses.length * T };
}

test('windows of T+1 tokens, non-overlapping, the last partial one dropped', () => {
  assert.equal(windowCount(3 * (T + 1) + T, T), 3);
  assert.equal(windowCount(3 * (T + 1), T), 3);
  assert.equal(windowCount(T, T), 0);
  const tokens = randInts(5 * (T + 1) + 4, tokenizer.vocabSize, 1);
  const r = windowLoss(model, tokens, { batchWindows: 2 });
  assert.equal(r.windows, 5);
  assert.equal(r.tokens, 5 * T);
  const hand = byHand(tokens);
  assert.equal(hand.tokens, r.tokens);
  assertClose([r.loss], [hand.loss], 1e-5, 0, 'loss');
  // Changing a token of the dropped tail changes nothing; changing the first window's last target does.
  const tail = tokens.slice();
  tail[tail.length - 1] = (tail[tail.length - 1]! + 1) % tokenizer.vocabSize;
  assert.equal(windowLoss(model, tail, { batchWindows: 2 }).loss, r.loss);
  const first = tokens.slice();
  first[T] = (first[T]! + 1) % tokenizer.vocabSize;
  assert.notEqual(windowLoss(model, first, { batchWindows: 2 }).loss, r.loss);
});

test('the batching of windows does not change the result', () => {
  const tokens = randInts(7 * (T + 1), tokenizer.vocabSize, 2);
  const one = windowLoss(model, tokens, { batchWindows: 1 }).loss;
  for (const b of [2, 3, 16]) assertClose([windowLoss(model, tokens, { batchWindows: b }).loss], [one], 1e-6, 0, `batch ${b}`);
});

// A checkpoint of the model above, trained on `data` (its config names the file, so its val split can be rebuilt).
const ckptDir = path.join(dir, 'ckpt');
const p = getPreset('brown-small');
saveCheckpoint(ckptDir, {
  config: { preset: 'brown-small', model: model.config, train: { ...p.train, tokenizer: 'char', data }, tokenizer: tokenizer.toJSON() },
  tensors: parameterTensors(model),
  optimizer: optimizerTensors(model, new AdamW(model.namedParameters(), { lr: 1e-3 }).exportState()),
  meta: { iteration: 0, tokensSeen: 0, optimizerStep: 0, rng: new Rng(1).getState(), bestValLoss: null },
});

test("a checkpoint's val split: the same loss as by hand on the re-derived split", () => {
  const r = evaluateCheckpoint(ckptDir, null);
  const val = loadDataset({ data, tokenizer: tokenizerFromJSON(tokenizer.toJSON()), blockSize: T }).val;
  const hand = byHand(val);
  assert.equal(r.tokens, hand.tokens);
  assert.equal(r.tokens, Math.floor(val.length / (T + 1)) * T);
  assertClose([r.loss], [hand.loss], 1e-5, 0, 'loss');
  assert.match(r.source, /^validation split of /);
});

test('--data FILE: the whole file, encoded with the checkpoint tokenizer', () => {
  const r = evaluateCheckpoint(ckptDir, data);
  const hand = byHand(tokenizer.encode(text));
  assert.equal(r.tokens, hand.tokens);
  assertClose([r.loss], [hand.loss], 1e-5, 0, 'loss');
});

test('--data with a character outside the vocabulary, or too short: one-line data errors', () => {
  const bad = tinyTextFile(tempDir('mod-eval-bad-'), 'Zebra? ' + text);
  assert.throws(() => evaluateCheckpoint(ckptDir, bad), (e: unknown) => e instanceof DataError && /is not in the char tokenizer/.test(e.message));
  const short = tinyTextFile(tempDir('mod-eval-short-'), text.slice(0, T));
  assert.throws(() => evaluateCheckpoint(ckptDir, short), (e: unknown) => e instanceof DataError && /fewer than blockSize\+1 = 9 for one window/.test(e.message));
});

test('human output: loss, tokens, perplexity; --json: exactly loss and tokens', async () => {
  const io = captureIo();
  await evaluateCommand({ ckpt: ckptDir, data, json: false }, io);
  const r = evaluateCheckpoint(ckptDir, data);
  assert.match(io.stdout, new RegExp(`^loss ${r.loss.toFixed(4)} \\| ${r.tokens.toLocaleString('en-US')} tokens .* perplexity ${Math.exp(r.loss).toFixed(3)}$`, 'm'));
  const js = captureIo();
  await evaluateCommand({ ckpt: ckptDir, data, json: true }, js);
  assert.equal(js.stdout.trim().split('\n').length, 1);
  assert.deepEqual(JSON.parse(js.stdout), { loss: r.loss, tokens: r.tokens });
  assert.equal(js.stderr, '');
});
