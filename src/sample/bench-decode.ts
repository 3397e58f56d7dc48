// Decode throughput, KV cache vs no cache, for a preset's model (random weights: speed does not depend on them).
// Runs alternate between the two modes and the medians are printed, so machine noise hits both alike.
//   npx tsx src/sample/bench-decode.ts [preset=brown-small] [repeats=7]
import { pathToFileURL } from 'node:url';
import { Rng } from '../engine/rng.js';
import { backendInfo } from '../kernels/index.js';
import { GPT } from '../model/gpt.js';
import { getPreset } from '../model/presets.js';
import { generate, kvCacheLogits, windowLogits } from './generate.js';
import { median } from '../bench/stats.js';

export interface DecodeBenchRow {
  /** New tokens after a one-token prompt. */
  tokens: number;
  cachedTokensPerSec: number;
  uncachedTokensPerSec: number;
}

function tokensPerSec(model: GPT, tokens: number, cache: boolean): number {
  const start = performance.now();
  generate(model, Int32Array.of(10), {
    maxNewTokens: tokens,
    temperature: 1,
    topK: null,
    topP: 1,
    rng: new Rng(1),
    logits: cache ? kvCacheLogits(model) : windowLogits(model),
  });
  return tokens / ((performance.now() - start) / 1000);
}


/** Medians over `repeats` alternating runs, for a context that stays within blockSize and one that crops. */
export function benchDecode(model: GPT, repeats: number): DecodeBenchRow[] {
  const t = model.config.blockSize;
  return [t - 1, 4 * t].map((tokens) => {
    tokensPerSec(model, Math.min(tokens, 32), true); // warm-up
    tokensPerSec(model, Math.min(tokens, 32), false);
    const cached: number[] = [];
    const uncached: number[] = [];
    for (let r = 0; r < repeats; r++) {
      cached.push(tokensPerSec(model, tokens, true));
      uncached.push(tokensPerSec(model, tokens, false));
    }
    return { tokens, cachedTokensPerSec: median(cached), uncachedTokensPerSec: median(uncached) };
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const preset = getPreset(process.argv[2] ?? 'brown-small');
  const repeats = Number(process.argv[3] ?? 7);
  const model = new GPT(preset.model, new Rng(1337));
  console.log(`${preset.name}: ${model.numParams()} parameters, blockSize ${preset.model.blockSize}, ${backendInfo()}, median of ${repeats}`);
  for (const r of benchDecode(model, repeats)) {
    const ratio = r.cachedTokensPerSec / r.uncachedTokensPerSec;
    console.log(`${String(r.tokens).padStart(5)} new tokens: KV cache ${r.cachedTokensPerSec.toFixed(0)} tokens/s, no cache ${r.uncachedTokensPerSec.toFixed(0)} tokens/s (x${ratio.toFixed(2)})`);
  }
}
