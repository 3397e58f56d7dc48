// mixture-of-depths, browser entry (also what the Node entry re-exports): everything that builds, trains, runs,
// samples from and reads a model without the file system. No module below imports a `node:` module; it runs on the
// TypeScript reference backend (a test bundles it with esbuild for the browser and runs a forward pass).

// Engine: tensors, tape autograd, the differentiable ops, the seeded RNG.
export { Tensor } from './engine/tensor.js';
export { backward, graphStats, noGrad, releaseGraph, zeroGrad, type GraphStats } from './engine/autograd.js';
export * as ops from './engine/ops.js';
export { Rng, type RngState } from './engine/rng.js';

// Backends.
export {
  backendInfo, kernels, referenceKernels, registerNativeProvider, setBackend,
  type BackendName, type Kernels, type NativeBackend, type NativeProvider,
} from './kernels/index.js';

// Errors a user can fix (one-line messages).
export { CheckpointError, ConfigError, DivergenceError, ResourceError, UserError } from './errors.js';

// Modules and models.
export { CausalSelfAttention, Embedding, LayerCache, LayerNorm, Linear, MLP, Module, RMSNorm } from './nn/index.js';
export {
  headSize, isRouted, mlpHidden, modConfigDefaults, modConfigSchema, modelConfigSchema, routedK, validateModelConfig,
  type ModConfig, type ModelConfig,
} from './model/config.js';
export { Block, GPT, type GPTOutput, type HiddenOutput, type LayerRouting, type StepOutput } from './model/gpt.js';
export {
  addConfusion, CausalPredictor, RoutedBlock, topkTargets,
  type Confusion, type RoutedDecode, type RoutedOutput, type RoutingMode, type TopkRouting,
} from './model/mod.js';
export { KVCache } from './model/kv-cache.js';
export { calibrateCausalBias } from './model/calibrate.js';
export {
  forwardFlops, paramCounts, routedLayers, trainingFlops, TRAINING_MULTIPLIER,
  type ForwardFlops, type ParamCounts, type TrainingFlops,
} from './model/flops.js';
export { checkArraySizes, MAX_ARRAY_ELEMENTS, trainingMemory, type MemoryEstimate } from './model/memory.js';

// Data without files: tokenizers, datasets from strings, batches.
export { DataError } from './data/errors.js';
export {
  ByteTokenizer, CharTokenizer, createTokenizer, tokenizerFromJSON,
  type StreamDecoder, type Tokenizer, type TokenizerKind, type TokenizerSpec,
} from './data/tokenizer.js';
export { datasetFromSplit, datasetFromText, type Dataset, type TokenizerChoice } from './data/dataset.js';
export { splitText, TRAIN_FRACTION, type TextSplit } from './data/split.js';
export { evalBatches, randomBatch, sequentialWindows, type Batch, type Window } from './data/batches.js';

// Training: one step, the optimizer, the schedule, configs and presets.
export { trainStep, type StepOptions, type StepResult } from './train/step.js';
export { AdamW, adamwDefaults, clipGradNorm, type AdamWHyper, type AdamWState } from './train/adamw.js';
export { learningRate, type ScheduleConfig } from './train/schedule.js';
export { trainConfigSchema, validateTrainConfig, type RunConfig, type TrainConfig, type TrainRun } from './train/config.js';
export { defaultPresetName, getPreset, presetNames, type Preset } from './train/presets.js';

// Checkpoints as bytes: the format, safetensors, and a model from a checkpoint's file contents.
export {
  parseCheckpointConfig, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE,
  type Checkpoint, type CheckpointConfig, type CheckpointMeta,
} from './train/checkpoint-format.js';
export { decodeSafetensors, encodeSafetensors, type TensorData, type TensorMap } from './train/safetensors.js';
export { loadParameters, parameterTensors } from './train/model-state.js';
export { modelFromFiles, modelFromTensors, type LoadedModel } from './train/model-files.js';

// Sampling.
export {
  cropWindow, generate, generateTokens, kvCacheLogits, windowLogits,
  type ContextLogits, type GenerateOptions, type KVCacheLogits,
} from './sample/generate.js';
export { Sampler, logitsProcessors, softmax, temperature, topK, topP, type LogitsProcessor, type SamplingOptions } from './sample/logits.js';
