// Each run's final checkpoint evaluated as `mod eval` does (src/train/evaluate.ts): the loss over the whole
// validation split, and for a MoD checkpoint the loss under top-k and under causal routing and the causal rule's
// accuracy against top-k membership per routed block.
import { evaluateCheckpoint } from '../train/evaluate.js';

export interface CheckpointFigures {
  /** Whole-val-split loss (top-k routing for MoD). */
  valLoss: number;
  /** MoD only (else null): the loss when every routed block routes by its causal rule, as sampling does. */
  causalLoss: number | null;
  /** MoD only: the causal rule's accuracy per routed block (NaN where not measured). */
  accuracy: number[];
}

export function checkpointFigures(dir: string): CheckpointFigures {
  const r = evaluateCheckpoint(dir, null, null);
  if (r.mod === null) return { valLoss: r.loss, causalLoss: null, accuracy: [] };
  return { valLoss: r.mod.topkLoss ?? r.loss, causalLoss: r.mod.causalLoss, accuracy: r.mod.blocks.map((b) => b.accuracy ?? Number.NaN) };
}
