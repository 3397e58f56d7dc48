// `mod eval`: the mean next-token loss of a checkpoint over a whole token sequence (its validation split, or a
// text file), scored on consecutive non-overlapping windows of T+1 tokens (T = blockSize) from the start:
//   window w = tokens[w·(T+1) .. w·(T+1)+T]; inputs its first T tokens, targets its last T.
// A final partial window is dropped. Each target is predicted from the tokens of its own window only, so the
// first targets of a window see little context: the loss is higher than nanoGPT's random-window estimate would
// be on the same text, but it is exact and deterministic.
import { formatCount } from '../cli/format.js';
import type { Io } from '../cli/io.js';
import { DataError, expandPath, loadDataset, readTextFile, tokenizerFromJSON, type Tokenizer } from '../data/index.js';
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { GPT } from '../model/gpt.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint.js';
import { modelFromCheckpoint } from './model-state.js';

export interface EvalOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Text file to evaluate on, or null for the checkpoint's own validation split. */
  data: string | null;
  /** Print one JSON object on stdout and nothing else. */
  json: boolean;
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

/** The number of whole windows of T+1 tokens in n tokens. */
export function windowCount(n: number, t: number): number {
  return Math.floor(n / (t + 1));
}

/** Mean loss of `model` over the consecutive windows of T+1 tokens of `tokens` (T = the model's blockSize). */
export function windowLoss(model: GPT, tokens: Int32Array, batchWindows = WINDOWS_PER_BATCH): WindowLoss {
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
    sum += noGrad(() => model.forward(x, b, t, y).loss!.item()) * b * t;
    releaseGraph();
  }
  return { loss: sum / (windows * t), tokens: windows * t, windows };
}

interface EvalTokens {
  tokens: Int32Array;
  /** Human description of the text. */
  source: string;
}

/** The checkpoint's validation split, re-derived from its data source with its tokenizer. */
function validationTokens(ckpt: Checkpoint, tokenizer: Tokenizer, dir: string): EvalTokens {
  const data = ckpt.config.train.data;
  try {
    const d = loadDataset({ ...(data === null ? {} : { data }), tokenizer, blockSize: ckpt.config.model.blockSize });
    return { tokens: d.val, source: `validation split of ${d.source}` };
  } catch (e) {
    if (e instanceof DataError && data !== null) {
      throw new DataError(`cannot rebuild the validation split of ${dir}: ${e.message}; or pass --data FILE to evaluate on a file`);
    }
    throw e;
  }
}

/** The whole of `file` (a directory: its files concatenated, in data-layer order), encoded with `tokenizer`. */
function fileTokens(file: string, tokenizer: Tokenizer, t: number): EvalTokens {
  const tokens = tokenizer.encode(expandPath(file).map(readTextFile).join(''));
  if (windowCount(tokens.length, t) === 0) {
    throw new DataError(`${file} has ${tokens.length} ${tokenizer.kind} tokens, fewer than blockSize+1 = ${t + 1} for one window: use a longer file`);
  }
  return { tokens, source: `${file} (whole file)` };
}

/** Loads a checkpoint and evaluates it on its validation split or on `data`. */
export function evaluateCheckpoint(dir: string, data: string | null): WindowLoss & { source: string; checkpoint: Checkpoint } {
  const ckpt = loadCheckpoint(dir);
  const tokenizer = tokenizerFromJSON(ckpt.config.tokenizer);
  const model = modelFromCheckpoint(ckpt, `${dir}/model.safetensors`);
  const { tokens, source } = data === null ? validationTokens(ckpt, tokenizer, dir) : fileTokens(data, tokenizer, ckpt.config.model.blockSize);
  return { ...windowLoss(model, tokens), source, checkpoint: ckpt };
}

export async function evaluateCommand(opts: EvalOptions, io: Io): Promise<void> {
  const r = evaluateCheckpoint(opts.ckpt, opts.data);
  if (opts.json) {
    io.out(`{"loss": ${JSON.stringify(r.loss)}, "tokens": ${r.tokens}}\n`);
    return;
  }
  const { meta, config } = r.checkpoint;
  io.out(`checkpoint: ${opts.ckpt} (${config.preset ?? 'no preset'}, iteration ${meta.iteration})\n`);
  io.out(`data: ${r.source}\n`);
  io.out(`loss ${r.loss.toFixed(4)} | ${formatCount(r.tokens)} tokens (${formatCount(r.windows)} windows of ${config.model.blockSize}) | perplexity ${Math.exp(r.loss).toFixed(3)}\n`);
}
