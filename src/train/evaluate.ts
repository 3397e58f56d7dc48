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
import { formatCount } from '../cli/format.js';
import type { Io } from '../cli/io.js';
import { DataError, expandPath, loadDataset, readTextFile, tokenizerFromJSON, type Tokenizer } from '../data/index.js';
import { noGrad, releaseGraph } from '../engine/autograd.js';
import type { GPT } from '../model/gpt.js';
import { addConfusion } from '../model/mod.js';
import { emptyConfusion, ruleQuality } from './causal-stats.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint.js';
import { modelFromCheckpoint } from './model-state.js';

export interface EvalOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Text file to evaluate on, or null for the checkpoint's own validation split. */
  data: string | null;
  /** Print one JSON object on stdout and nothing else. */
  json: boolean;
  /** A MoD checkpoint's routing to evaluate; absent or null: both. No effect on a dense checkpoint. */
  routing?: RoutingChoice | null;
}

export type RoutingChoice = 'topk' | 'causal';

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

/** The number of whole windows of T+1 tokens in n tokens. */
export function windowCount(n: number, t: number): number {
  return Math.floor(n / (t + 1));
}

/**
 * Mean loss of `model` over the consecutive windows of T+1 tokens of `tokens` (T = the model's blockSize).
 * `observe` runs after each batch's forward, before its graph is released (to read routing decisions).
 */
export function windowLoss(model: GPT, tokens: Int32Array, batchWindows = WINDOWS_PER_BATCH, observe: () => void = () => {}): WindowLoss {
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
    observe();
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
    model.setRouting('topk');
    const confusion = blocks.map(emptyConfusion);
    last = windowLoss(model, tokens, WINDOWS_PER_BATCH, () => blocks.forEach((blk, i) => addConfusion(confusion[i]!, blk.last!, blk.causalBias)));
    mod.topkLoss = last.loss;
    confusion.forEach((c, i) => Object.assign(mod.blocks[i]!, ruleQuality(c)));
  }
  if (routings.includes('causal')) {
    model.setRouting('causal');
    const before = blocks.map((blk) => ({ ...blk.counts }));
    const r = windowLoss(model, tokens);
    mod.causalLoss = r.loss;
    blocks.forEach((blk, i) => (mod.blocks[i]!.processedFraction = (blk.counts.processed - before[i]!.processed) / (blk.counts.seen - before[i]!.seen)));
    last ??= r;
  }
  return { ...last!, mod };
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

export type CheckpointEval = WindowLoss & { source: string; checkpoint: Checkpoint; mod: ModEval | null };

/**
 * Loads a checkpoint and evaluates it on its validation split or on `data`; a MoD checkpoint under `routing`
 * (null: top-k and causal). `loss` is the top-k loss when measured, else the causal loss.
 */
export function evaluateCheckpoint(dir: string, data: string | null, routing: RoutingChoice | null = null): CheckpointEval {
  const ckpt = loadCheckpoint(dir);
  const tokenizer = tokenizerFromJSON(ckpt.config.tokenizer);
  const model = modelFromCheckpoint(ckpt, `${dir}/model.safetensors`);
  const { tokens, source } = data === null ? validationTokens(ckpt, tokenizer, dir) : fileTokens(data, tokenizer, ckpt.config.model.blockSize);
  if (model.routedBlocks().length === 0) return { ...windowLoss(model, tokens), source, checkpoint: ckpt, mod: null };
  return { ...modWindowEval(model, tokens, routing === null ? ['topk', 'causal'] : [routing]), source, checkpoint: ckpt };
}

/**
 * `--json`: dense `{"loss", "tokens"}`; MoD adds `"topkLoss"`, `"causalLoss"` (null when not evaluated) and
 * `"blocks": [{"layer", "accuracy", "precision", "recall", "processedFraction"}]` (null when not measured).
 */
export function evalJson(r: CheckpointEval): string {
  if (r.mod === null) return `{"loss": ${JSON.stringify(r.loss)}, "tokens": ${r.tokens}}\n`; // as before MoD existed
  const m = r.mod;
  return JSON.stringify({ loss: r.loss, tokens: r.tokens, topkLoss: m.topkLoss, causalLoss: m.causalLoss, blocks: m.blocks }) + '\n';
}

export async function evaluateCommand(opts: EvalOptions, io: Io): Promise<void> {
  const r = evaluateCheckpoint(opts.ckpt, opts.data, opts.routing ?? null);
  if (opts.json) {
    io.out(evalJson(r));
    return;
  }
  const { meta, config } = r.checkpoint;
  io.out(`checkpoint: ${opts.ckpt} (${config.preset ?? 'no preset'}, iteration ${meta.iteration})\n`);
  io.out(`data: ${r.source}\n`);
  const windows = `${formatCount(r.tokens)} tokens (${formatCount(r.windows)} windows of ${config.model.blockSize})`;
  if (r.mod === null) {
    io.out(`loss ${r.loss.toFixed(4)} | ${windows} | perplexity ${Math.exp(r.loss).toFixed(3)}\n`);
    return;
  }
  io.out(modText(r.mod, windows, config.model.mod?.causal ?? 'aux'));
}

function modText(m: ModEval, windows: string, rule: string): string {
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)} %`);
  const lines: string[] = [];
  if (m.topkLoss !== null) lines.push(`loss (top-k routing)   ${m.topkLoss.toFixed(4)} | ${windows} | perplexity ${Math.exp(m.topkLoss).toFixed(3)}`);
  if (m.causalLoss !== null) {
    const rel = m.topkLoss === null ? '' : ` (${m.causalLoss >= m.topkLoss ? '+' : ''}${((100 * (m.causalLoss - m.topkLoss)) / m.topkLoss).toFixed(2)} % vs top-k)`;
    lines.push(`loss (causal routing)  ${m.causalLoss.toFixed(4)}${rel} | perplexity ${Math.exp(m.causalLoss).toFixed(3)}`);
  }
  lines.push(`causal rule (${rule}) against top-k membership, per routed block:`);
  const cells = [['block', 'accuracy', 'precision', 'recall', 'processed (causal)'],
    ...m.blocks.map((b) => [String(b.layer), pct(b.accuracy), pct(b.precision), pct(b.recall), pct(b.processedFraction)])];
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((row) => row[j]!.length)));
  for (const row of cells) lines.push('  ' + row.map((c, j) => c.padStart(widths[j]!)).join('  '));
  return lines.join('\n') + '\n';
}
