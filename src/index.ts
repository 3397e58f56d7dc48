// mixture-of-depths, the Node entry: everything of the browser entry (src/browser.ts), running on the native addon
// when it loads, plus what needs the file system: the trainer with checkpoints and logs, loadModel, evaluation,
// the embedded Brown corpus and text files, `mod compare` and `mod sweep`.
import './kernels/node.js'; // registers the native backend

export * from './browser.js';
export { nativeBackend, type NativeState } from './kernels/node.js';

export { loadBrown, loadDataset, loadText, MAX_TEXT_BYTES, type DataFingerprint, type DatasetOptions } from './data/index.js';
export {
  batchSeed, bothCallbacks, EVAL_SEED, train,
  type StepEvent, type TrainCallbacks, type TrainData, type TrainOptions, type TrainResult, type TrainStart,
} from './train/trainer.js';
export { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint, type LoadOptions } from './train/checkpoint.js';
export { ensureDir, LOCK_FILE, lockOutDir, type OutLock } from './train/out-dir.js';
export { availableMemory, checkMemory, type AvailableMemory } from './train/resources.js';
export { loadModel } from './train/load.js';
export { readLog, type LogRecord } from './train/run-log.js';
export {
  evaluateCheckpoint, modWindowEval, windowCount, windowLoss,
  type CheckpointEval, type ModEval, type WindowLoss, type WindowOptions,
} from './train/evaluate.js';
export { runComparison, type CompareHooks, type CompareResult } from './compare/run.js';
export { planComparison, type CompareOptions, type Plan, type PlannedRun, type Variant } from './compare/plan.js';
export { runSweep, type SweepHooks, type SweepResult } from './sweep/run.js';
export type { SweepOptions, SweepRun } from './sweep/plan.js';
export { fitParabola, isoFit, type IsoFit, type Parabola } from './sweep/fit.js';
