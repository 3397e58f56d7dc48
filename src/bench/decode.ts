// Decode benchmark: greedy KV-cache decoding tokens/s of a dense GPT and of its Mixture-of-Depths twin (capacity
// 0.125, every 2nd block routed, causal predictor), in one run and interleaved, so machine noise hits both alike.
// Shape: that of `mod bench train` (d = 256, 8 layers, 4 heads, T = 256; docs/causal-routing.md says why), one
// sequence, a one-token prompt and T − 1 new tokens, all within one KV-cache window.
// Weights are random, so the untrained causal rule would route an arbitrary fraction: each routed block's threshold
// is calibrated (calibrateCausalBias) so that about 12.5% of tokens pass, and the fraction the timed runs actually
// processed is reported beside the speed.
import { Rng } from '../engine/rng.js';
import { calibrateCausalBias } from '../model/calibrate.js';
import { type ModelConfig, modConfigDefaults } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { generate } from '../sample/generate.js';
import { median } from './stats.js';

export interface DecodeBenchRow {
  variant: 'dense' | 'mod';
  tokensPerSec: number;
  /** MoD: tokens processed / tokens seen, over the routed blocks, in the timed runs. */
  processedFraction?: number;
}

export const decodeBenchShape = { t: 256, nEmbd: 256, nHead: 4, nLayer: 8, vocabSize: 256, capacity: 0.125 } as const;

export function decodeBenchConfig(mod: boolean): ModelConfig {
  const { t, nEmbd, nHead, nLayer, vocabSize, capacity } = decodeBenchShape;
  const dense: ModelConfig = { vocabSize, blockSize: t, nLayer, nHead, nEmbd, mlpRatio: 4, bias: false, tiedEmbeddings: true, positions: 'learned' };
  return mod ? { ...dense, mod: { ...modConfigDefaults, capacity, every: 2, causal: 'predictor' } } : dense;
}

/** Greedy (top-1) continuation of a one-token prompt; returns prompt + new tokens. */
function greedy(model: GPT, newTokens: number): Int32Array {
  const prompt = Int32Array.of(10);
  const out = generate(model, prompt, { maxNewTokens: newTokens, temperature: 1, topK: 1, topP: 1, rng: new Rng(1) });
  return Int32Array.from([...prompt, ...out]);
}

function processed(model: GPT): { seen: number; processed: number } {
  return model.routedBlocks().reduce((a, b) => ({ seen: a.seen + b.counts.seen, processed: a.processed + b.counts.processed }), { seen: 0, processed: 0 });
}

/**
 * Sets the MoD model's thresholds for ~`fraction` processed on its own greedy text: calibrated on random tokens
 * first, then (the text changes with the thresholds) re-calibrated on the greedy text a few times.
 */
export function calibrateForDecode(model: GPT, fraction: number, rounds = 3): number {
  const t = model.config.blockSize;
  const rng = new Rng(3);
  calibrateCausalBias(model, Int32Array.from({ length: 8 * t }, () => rng.int(model.config.vocabSize)), 8, t, fraction);
  let realised = 0;
  for (let r = 0; r <= rounds; r++) {
    const before = processed(model);
    const text = greedy(model, t - 1);
    const after = processed(model);
    realised = (after.processed - before.processed) / (after.seen - before.seen);
    if (Math.abs(realised - fraction) < 0.02 || r === rounds) break;
    calibrateCausalBias(model, text, 1, t, fraction);
  }
  return realised;
}

/** Median greedy-decode tokens/s of dense and MoD, alternating runs after a warm-up. */
export function runDecodeBench(opts: { repeats?: number; warmup?: number } = {}): DecodeBenchRow[] {
  const repeats = opts.repeats ?? 7;
  const warmup = opts.warmup ?? 1;
  const dense = new GPT(decodeBenchConfig(false), new Rng(1));
  const mod = new GPT(decodeBenchConfig(true), new Rng(1));
  calibrateForDecode(mod, decodeBenchShape.capacity);
  const n = decodeBenchShape.t - 1;
  const times: Record<'dense' | 'mod', number[]> = { dense: [], mod: [] };
  let counts = { seen: 0, processed: 0 };
  for (let i = 0; i < warmup + repeats; i++) {
    for (const [name, model] of [['dense', dense], ['mod', mod]] as const) {
      const before = processed(model);
      const t0 = performance.now();
      greedy(model, n);
      const ms = performance.now() - t0;
      if (i < warmup) continue;
      times[name].push(ms);
      const after = processed(model);
      counts = { seen: counts.seen + after.seen - before.seen, processed: counts.processed + after.processed - before.processed };
    }
  }
  const tps = (ms: number[]): number => n / (median(ms) / 1000);
  return [
    { variant: 'dense', tokensPerSec: tps(times.dense) },
    { variant: 'mod', tokensPerSec: tps(times.mod), processedFraction: counts.processed / counts.seen },
  ];
}
