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
import { generate, kvCacheLogits } from '../sample/generate.js';
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

interface Counts {
  seen: number;
  processed: number;
}

/**
 * Greedy (top-1) continuation of a one-token prompt with a KV cache; returns prompt + new tokens and the tokens
 * seen and processed over the routed blocks.
 */
function greedy(model: GPT, newTokens: number): { text: Int32Array; counts: Counts } {
  const prompt = Int32Array.of(10);
  const logits = kvCacheLogits(model);
  const out = generate(model, prompt, { maxNewTokens: newTokens, temperature: 1, topK: 1, topP: 1, rng: new Rng(1), logits });
  const counts = logits.routed.reduce((a, r) => ({ seen: a.seen + r.seen, processed: a.processed + r.processed }), { seen: 0, processed: 0 });
  return { text: Int32Array.from([...prompt, ...out]), counts };
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
    const { text, counts } = greedy(model, t - 1);
    realised = counts.processed / counts.seen;
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
  const counts: Counts = { seen: 0, processed: 0 };
  for (let i = 0; i < warmup + repeats; i++) {
    for (const [name, model] of [['dense', dense], ['mod', mod]] as const) {
      const t0 = performance.now();
      const run = greedy(model, n);
      const ms = performance.now() - t0;
      if (i < warmup) continue;
      times[name].push(ms);
      counts.seen += run.counts.seen;
      counts.processed += run.counts.processed;
    }
  }
  const tps = (ms: number[]): number => n / (median(ms) / 1000);
  return [
    { variant: 'dense', tokensPerSec: tps(times.dense) },
    { variant: 'mod', tokensPerSec: tps(times.mod), processedFraction: counts.processed / counts.seen },
  ];
}
