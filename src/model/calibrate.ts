// Sets the causal rule's thresholds so that each routed block processes a given fraction of tokens: for random
// weights (the decode benchmark, tests), whose untrained rule would otherwise route an arbitrary fraction.
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { GPT } from './gpt.js';

/**
 * Block by block in layer order (a block's inputs depend on the earlier blocks' decisions), sets causalBias to the
 * (1 − fraction) quantile of its causal logits over ids (B, T) under causal routing, so that about `fraction` of
 * these tokens pass. Leaves the model in causal routing; returns each routed block's realised fraction on ids.
 */
export function calibrateCausalBias(model: GPT, ids: Int32Array, b: number, t: number, fraction: number): number[] {
  model.setRouting('causal');
  const blocks = model.routedBlocks();
  for (const blk of blocks) {
    run(model, ids, b, t);
    const z = Float64Array.from(blk.lastCausalLogits).sort();
    const cut = Math.min(z.length - 1, Math.max(0, Math.floor((1 - fraction) * z.length)));
    // Midway between neighbours, so that exactly the top ~fraction of z clears the threshold.
    blk.causalBias = cut === 0 ? z[0]! - 1 : (z[cut - 1]! + z[cut]!) / 2;
  }
  run(model, ids, b, t);
  return blocks.map((blk) => blk.lastCausal.reduce((n, p) => n + p.length, 0) / (b * t));
}

function run(model: GPT, ids: Int32Array, b: number, t: number): void {
  noGrad(() => model.hidden(ids, b, t));
  releaseGraph();
}
