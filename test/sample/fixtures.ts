// Tiny models and checkpoints for the sampler's tests: a GPT trained for a few steps on a short text (so its
// distributions are peaked like a real model's, not uniform), saved with saveCheckpoint into a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { backward, releaseGraph, zeroGrad } from '../../src/engine/autograd.js';
import { Rng } from '../../src/engine/rng.js';
import { type Tokenizer } from '../../src/data/tokenizer.js';
import { type ModelConfig, validateModelConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { getPreset } from '../../src/train/presets.js';
import { AdamW, clipGradNorm } from '../../src/train/adamw.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { parameterTensors } from '../../src/train/model-state.js';
import { realisticWeights } from '../helpers.js';

export const tinyConfig = (over: Partial<ModelConfig> = {}): ModelConfig => ({
  vocabSize: 256,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  mlpRatio: 4,
  bias: true,
  tiedEmbeddings: true,
  positions: 'learned',
  ...over,
});

/** A GPT with larger-than-init random weights, so every layer moves the logits well above float32 noise. */
export function randomModel(cfg: ModelConfig, seed: number): GPT {
  const model = new GPT(cfg, new Rng(seed));
  realisticWeights(model, new Rng(seed + 1), 0.15);
  return model;
}

/** A GPT trained for `steps` AdamW steps on windows of `text`, encoded with `tokenizer`. */
export function trainedModel(cfg: ModelConfig, tokenizer: Tokenizer, text: string, steps: number): GPT {
  const tokens = tokenizer.encode(text);
  const [b, t] = [4, cfg.blockSize];
  const model = new GPT({ ...cfg, vocabSize: tokenizer.vocabSize }, new Rng(42));
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2, weightDecay: 0 });
  const rng = new Rng(7);
  const ids = new Int32Array(b * t);
  const targets = new Int32Array(b * t);
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < b; i++) {
      const start = rng.int(tokens.length - t - 1);
      ids.set(tokens.subarray(start, start + t), i * t);
      targets.set(tokens.subarray(start + 1, start + t + 1), i * t);
    }
    zeroGrad(model.parameters());
    backward(model.forward(ids, b, t, targets).loss!);
    clipGradNorm(model.parameters(), 1);
    opt.step();
    releaseGraph();
  }
  return model;
}

/** A fresh temp directory, removed after the enclosing suite (call it at the top level or in a describe body). */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mod-sample-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Saves `model` with its tokenizer as a checkpoint (empty optimizer state) into `dir`. */
export function writeCheckpoint(dir: string, model: GPT, tokenizer: Tokenizer): void {
  const train = { ...getPreset('brown-small').train, tokenizer: tokenizer.kind };
  saveCheckpoint(dir, {
    config: { model: validateModelConfig(model.config), train, tokenizer: tokenizer.toJSON() },
    tensors: parameterTensors(model),
    optimizer: new Map(),
    meta: { iteration: 1, tokensSeen: 0, optimizerStep: 1, rng: { s: [1, 2, 3, 4], spare: null }, bestValLoss: null },
  });
}
