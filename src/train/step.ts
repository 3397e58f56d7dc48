// One optimizer step, the only one in the project: the trainer, `mod bench train`, `mod compare`'s speed
// measurement, the test fixtures and the PyTorch parity script all call trainStep.
//
// Per micro-batch: forward, the training loss (the LM loss plus, for a MoD model, auxWeight · the causal rule's
// BCE), backward with the loss scaled by 1/micro-batches (gradient accumulation), release the graph. Then each
// parameter group's gradient norm is clipped on its own (the model's, then the causal predictors', so that the
// predictors cannot change the model's update through a shared norm), AdamW steps at this step's lr, and the
// gradients are zeroed. A step whose loss or a gradient norm is not finite is not applied (`applied: false`): one
// bad batch must not turn every weight into NaN; the caller decides whether to stop or go on.
import { backward, releaseGraph, zeroGrad } from '../engine/autograd.js';
import type { Batch } from '../data/batches.js';
import type { GPT } from '../model/gpt.js';
import { type AdamW, clipGradNorm } from './adamw.js';

export interface StepOptions {
  /** Learning rate of this step (see learningRate in schedule.ts). */
  lr: number;
  /** Clip each parameter group's gradient norm to this; 0 turns clipping off. */
  gradClip: number;
}

export interface StepResult {
  /** Mean LM loss (nats) over the micro-batches, before the update. */
  loss: number;
  /** Each clip group's gradient norm before clipping: the model's, then the causal predictors' (if any). */
  gradNorms: number[];
  /**
   * False when the loss or a gradient norm was not finite (NaN or ±Infinity): the update was then not applied (the
   * weights and AdamW's state are unchanged) and the gradients were zeroed.
   */
  applied: boolean;
}

/** One optimizer step over one batch, or over several micro-batches whose gradients accumulate. */
export function trainStep(model: GPT, optimizer: AdamW, batch: Batch | readonly Batch[], options: StepOptions): StepResult {
  const micro: readonly Batch[] = 'x' in batch ? [batch] : batch;
  if (micro.length === 0) throw new Error('trainStep: no batch');
  const seed = Float32Array.of(1 / micro.length); // d(total)/d(micro-batch loss)
  let lossSum = 0;
  for (const b of micro) {
    const { loss, trainingLoss } = model.forward(b.x, b.B, b.T, b.y);
    lossSum += loss!.item();
    backward(trainingLoss!, seed);
    releaseGraph();
  }
  const maxNorm = options.gradClip > 0 ? options.gradClip : Number.POSITIVE_INFINITY;
  const gradNorms = model.clipGroups().map((group) => clipGradNorm(group, maxNorm));
  const loss = lossSum / micro.length;
  const applied = Number.isFinite(loss) && gradNorms.every(Number.isFinite);
  if (applied) optimizer.step({ lr: options.lr });
  zeroGrad(model.parameters());
  return { loss, gradNorms, applied };
}
