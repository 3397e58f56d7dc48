// Sets the causal rule's thresholds so that each routed block processes a given fraction of tokens: for random
// weights (the decode benchmark, tests), whose untrained rule would otherwise route an arbitrary fraction.
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { GPT, LayerRouting } from './gpt.js';

/**
 * Block by block in layer order (a block's inputs depend on the earlier blocks' decisions), sets causalBias to the
 * (1 − fraction) quantile of its causal logits over ids (B, T) under causal routing, so that about `fraction` of
 * these tokens pass. Returns each routed block's realised fraction on ids.
 */
export function calibrateCausalBias(model: GPT, ids: Int32Array, b: number, t: number, fraction: number): number[] {
  const blocks = model.routedBlocks();
  blocks.forEach((blk, i) => {
    const z = Float64Array.from(causalPass(model, ids, b, t)[i]!.causalLogits.data).sort();
    const cut = Math.min(z.length - 1, Math.max(0, Math.floor((1 - fraction) * z.length)));
    // Midway between neighbours, so that exactly the top ~fraction of z clears the threshold.
    blk.causalBias = cut === 0 ? z[0]! - 1 : (z[cut - 1]! + z[cut]!) / 2;
    releaseGraph();
  });
  const routing = causalPass(model, ids, b, t);
  const fractions = routing.map((r) => r.processed.reduce((n, p) => n + p.length, 0) / (b * t));
  releaseGraph();
  return fractions;
}

/** The routed blocks' decisions of a causal forward over ids; valid until releaseGraph(). */
function causalPass(model: GPT, ids: Int32Array, b: number, t: number): LayerRouting[] {
  return noGrad(() => model.hidden(ids, b, t, 'causal').routing);
}
