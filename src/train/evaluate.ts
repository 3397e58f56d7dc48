// `mod eval`: the mean next-token loss of a checkpoint over a whole token sequence (its validation split, or a
// text file), scored on consecutive non-overlapping windows of T+1 tokens (T = blockSize) from the start:
//   window w = tokens[w·(T+1) .. w·(T+1)+T]; inputs its first T tokens, targets its last T.
// A final partial window is dropped. Each target is predicted from the tokens of its own window only, so the
// first targets of a window see little context: the loss is higher than nanoGPT's random-window estimate would
// be on the same text, but it is exact and deterministic.
//
// A Mixture-of-Depths checkpoint is evaluated under top-k routing (the training behaviour) and under causal routing
// (what sampling does; docs/causal-routing.md), or one of them with --routing. Per routed block: the accuracy,
// precision and recall of the causal rule against top-k membership (counted in the top-k pass, on the inputs top-k
// routing gives the block) and the fraction of tokens the causal rule processes (the causal pass).
import { existsSync } from 'node:fs';
import { DataError, expandPath, loadDataset, readTextFile, type Tokenizer } from '../data/index.js';
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { GPT, LayerRouting } from '../model/gpt.js';
import { addConfusion, type RoutingMode } from '../model/mod.js';
import { emptyConfusion, ruleQuality } from './causal-stats.js';
import type { CheckpointConfig } from './checkpoint-format.js';
import { loadModel } from './load.js';

export type RoutingChoice = RoutingMode;

/** One routed block's causal-rule figures; null where not measured (the other routing) or undefined. */
export interface BlockEval {
  layer: number;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  /** Fraction of tokens the causal rule processed under causal routing. */
  processedFraction: number | null;
}

export interface ModEval {
  topkLoss: number | null;
  causalLoss: number | null;
  blocks: BlockEval[];
}

export interface WindowLoss {
  /** Mean cross-entropy (nats) over the scored targets. */
  loss: number;
  /** Targets scored: windows · T. */
  tokens: number;
  windows: number;
}

/** Windows per forward pass. */
const WINDOWS_PER_BATCH = 16;

export interface WindowOptions {
  /** How routed blocks route (default top-k). */
  mode?: RoutingMode;
  /** Sees each batch's routing decisions before its graph is released. */
  observe?: (routing: LayerRouting[]) => void;
  /** Windows per forward pass (default 16); the result does not depend on it. */
  batchWindows?: number;
}

/** The number of whole windows of T+1 tokens in n tokens. */
export function windowCount(n: number, t: number): number {
  return Math.floor(n / (t + 1));
}

/**
 * Mean loss of `model` over the consecutive windows of T+1 tokens of `tokens` (T = the model's blockSize), with
 * routed blocks routing by opts.mode.
 */
export function windowLoss(model: GPT, tokens: Int32Array, opts: WindowOptions = {}): WindowLoss {
  const { mode = 'topk', observe = (): void => {}, batchWindows = WINDOWS_PER_BATCH } = opts;
  const t = model.config.blockSize;
  const windows = windowCount(tokens.length, t);
  let sum = 0; // Σ over batches of mean loss · targets, in float64
  for (let w0 = 0; w0 < windows; w0 += batchWindows) {
    const b = Math.min(batchWindows, windows - w0);
    const x = new Int32Array(b * t);
    const y = new Int32Array(b * t);
    for (let i = 0; i < b; i++) {
      const start = (w0 + i) * (t + 1);
      x.set(tokens.subarray(start, start + t), i * t);
      y.set(tokens.subarray(start + 1, start + 1 + t), i * t);
    }
    const out = noGrad(() => model.forward(x, b, t, y, mode));
    sum += out.loss!.item() * b * t;
    observe(out.routing);
    releaseGraph();
  }
  return { loss: sum / (windows * t), tokens: windows * t, windows };
}

/** A MoD model's loss under the chosen routings, and its routed blocks' causal-rule figures. */
export function modWindowEval(model: GPT, tokens: Int32Array, routings: readonly RoutingChoice[]): WindowLoss & { mod: ModEval } {
  const blocks = model.routedBlocks();
  const layers = blocks.map((blk) => model.h.indexOf(blk));
  const mod: ModEval = { topkLoss: null, causalLoss: null, blocks: layers.map((layer) => ({ layer, accuracy: null, precision: null, recall: null, processedFraction: null })) };
  let last: WindowLoss | null = null;
  if (routings.includes('topk')) {
    const confusion = blocks.map(emptyConfusion);
    last = windowLoss(model, tokens, { observe: (routing) => routing.forEach((r, i) => addConfusion(confusion[i]!, r, blocks[i]!.causalBias)) });
    mod.topkLoss = last.loss;
    confusion.forEach((c, i) => Object.assign(mod.blocks[i]!, ruleQuality(c)));
  }
  if (routings.includes('causal')) {
    const processed = blocks.map(() => 0);
    const count = (routing: LayerRouting[]): void => routing.forEach((d, i) => (processed[i]! += d.processed.reduce((n, p) => n + p.length, 0)));
    const r = windowLoss(model, tokens, { mode: 'causal', observe: count });
    mod.causalLoss = r.loss;
    processed.forEach((n, i) => (mod.blocks[i]!.processedFraction = n / r.tokens));
    last ??= r;
  }
  return { ...last!, mod };
}

interface EvalTokens {
  tokens: Int32Array;
  /** Human description of the text. */
  source: string;
}

/**
 * The checkpoint's validation split, re-derived from its data source with its tokenizer. A checkpoint that recorded
 * its data's fingerprint refuses a source that is gone or whose bytes changed: its "validation split" would be other
 * text than the model was validated on.
 */
function validationTokens(config: CheckpointConfig, tokenizer: Tokenizer, dir: string): EvalTokens {
  const data = config.train.data;
  const recorded = config.dataSource;
  const fix = `pass --data FILE to evaluate on a file (e.g. --data ${data ?? 'FILE'} for the text as it is now)`;
  if (data !== null && recorded !== undefined && !existsSync(data)) {
    throw new DataError(`the training text of ${dir}, ${data}, is gone, so its validation split cannot be rebuilt: ${fix}`);
  }
  let d: ReturnType<typeof loadDataset>;
  try {
    d = loadDataset({ ...(data === null ? {} : { data }), tokenizer, blockSize: config.model.blockSize });
  } catch (e) {
    if (e instanceof DataError && data !== null) {
      throw new DataError(`cannot rebuild the validation split of ${dir}: ${e.message}; or pass --data FILE to evaluate on a file`);
    }
    throw e;
  }
  const now = d.fingerprint;
  if (recorded !== undefined && now !== undefined && (now.sha256 !== recorded.sha256 || now.bytes !== recorded.bytes)) {
    throw new DataError(`the training text ${data} changed since ${dir} was trained (${recorded.bytes} bytes, sha256 ${recorded.sha256.slice(0, 12)}… then; `
      + `${now.bytes} bytes, ${now.sha256.slice(0, 12)}… now), so its validation split is not the one the model was validated on: ${fix}`);
  }
  return { tokens: d.val, source: `validation split of ${d.source}` };
}

/** The whole of `file` (a directory: its files concatenated, in data-layer order), encoded with `tokenizer`. */
function fileTokens(file: string, tokenizer: Tokenizer, t: number): EvalTokens {
  const tokens = tokenizer.encode(expandPath(file).map((f) => readTextFile(f)).join(''));
  if (windowCount(tokens.length, t) === 0) {
    throw new DataError(`${file} has ${tokens.length} ${tokenizer.kind} tokens, fewer than blockSize+1 = ${t + 1} for one window: use a longer file`);
  }
  return { tokens, source: `${file} (whole file)` };
}

export type CheckpointEval = WindowLoss & { source: string; config: CheckpointConfig; iteration: number; mod: ModEval | null };

/**
 * Loads a checkpoint and evaluates it on its validation split or on `data`; a MoD checkpoint under `routing`
 * (null: top-k and causal). `loss` is the top-k loss when measured, else the causal loss.
 */
export function evaluateCheckpoint(dir: string, data: string | null, routing: RoutingChoice | null = null): CheckpointEval {
  const { model, tokenizer, config, iteration } = loadModel(dir);
  const { tokens, source } = data === null ? validationTokens(config, tokenizer, dir) : fileTokens(data, tokenizer, config.model.blockSize);
  const about = { source, config, iteration };
  if (model.routedBlocks().length === 0) return { ...windowLoss(model, tokens), ...about, mod: null };
  return { ...modWindowEval(model, tokens, routing === null ? ['topk', 'causal'] : [routing]), ...about };
}
