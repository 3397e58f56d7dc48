// How well a MoD model's causal routing rule predicts top-k membership (docs/causal-routing.md): the counts of a
// top-k forward's decisions, per routed block, and the log fields the trainer adds at each evaluation.
import type { Batch } from '../data/index.js';
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { GPT } from '../model/gpt.js';
import { addConfusion, type Confusion, type RoutedOutput, topkTargets } from '../model/mod.js';

/** A block's causal-rule quality against top-k membership; null where undefined (no positive, no prediction). */
export interface RuleQuality {
  accuracy: number;
  precision: number | null;
  recall: number | null;
}

export function emptyConfusion(): Confusion {
  return { tp: 0, fp: 0, fn: 0, tn: 0 };
}

export function ruleQuality(c: Confusion): RuleQuality {
  const n = c.tp + c.fp + c.fn + c.tn;
  return {
    accuracy: n === 0 ? Number.NaN : (c.tp + c.tn) / n,
    precision: c.tp + c.fp === 0 ? null : c.tp / (c.tp + c.fp),
    recall: c.tp + c.fn === 0 ? null : c.tp / (c.tp + c.fn),
  };
}

/** Mean BCE (nats, float64) of a top-k forward's causal logits against its top-k membership. */
export function causalBce(out: Pick<RoutedOutput, 'topk' | 'causalLogits'>): number {
  const r = out.topk!;
  const y = topkTargets(r.idx, r.b, r.t, r.k);
  const z = out.causalLogits.data;
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const zi = z[i]!;
    sum += Math.max(zi, 0) - zi * y[i]! + Math.log1p(Math.exp(-Math.abs(zi)));
  }
  return sum / y.length;
}

/**
 * The trainer's log fields for a MoD model under top-k routing, over `batches`: causalLoss (Σ over routed blocks
 * of the BCE, mean over batches) and causalAccuracy per routed block. Nothing for a dense model.
 */
export function causalRecord(model: GPT, batches: readonly Batch[]): { causalLoss?: number; causalAccuracy?: number[] } {
  const blocks = model.routedBlocks();
  if (blocks.length === 0 || batches.length === 0) return {};
  const confusion = blocks.map(emptyConfusion);
  let loss = 0;
  for (const b of batches) {
    noGrad(() => {
      model.hidden(b.x, b.B, b.T).routing.forEach((r, i) => {
        loss += causalBce(r);
        addConfusion(confusion[i]!, r, blocks[i]!.causalBias);
      });
    });
    releaseGraph();
  }
  return { causalLoss: loss / batches.length, causalAccuracy: confusion.map((c) => ruleQuality(c).accuracy) };
}
