// What the `mod view` page computes, without the DOM: the model over a text (in windows of blockSize tokens), under
// top-k routing and under the causal rule, per token and routed block the decision and its score, the per-token
// loss, FLOPs against the dense twin; and generation with the routing of each new token. All of it is the
// library's own forward, sampler and KV cache (through the browser entry), so the numbers are the library's.
import {
  forwardFlops, generateTokens, kvCacheLogits, noGrad, releaseGraph, Rng, softmax,
  type GPT, type LayerRouting, type ModelConfig, type RoutingMode, type Tokenizer,
} from '../browser.js';

/** One routed block's decisions over the whole text, under one routing mode. */
export interface BlockDecisions {
  layer: number;
  /** Per token: 1 if the block processed it. */
  processed: Uint8Array;
  /** Per token: top-k mode, the router score r; causal mode, the causal rule's logit z (processed iff z > bias). */
  score: Float32Array;
}

/** The model over the whole text under one routing mode. */
export interface ModeResult {
  mode: RoutingMode;
  blocks: BlockDecisions[];
  /** Per token: −ln p(next token), NaN for the text's last token (no target). */
  surprisal: Float32Array;
  /** Mean surprisal over the tokens that have a target (NaN if none). */
  loss: number;
  /** Per window, its logits (t·V, row-major). */
  logits: Float32Array[];
}

export interface Analysis {
  text: string;
  ids: Int32Array;
  /** [start, end) token offsets of the windows, blockSize tokens each (the last may be shorter). */
  windows: Array<[number, number]>;
  topk: ModeResult;
  /** Null for a dense model (its routing has no causal rule). */
  causal: ModeResult | null;
  /** Per routed block: the share of tokens on which top-k and causal routing decided the same. */
  agreement: number[];
  /** Milliseconds of each forward pass (one per window and mode), as measured here. */
  forwardMs: number[];
  flops: FlopsSummary;
}

export interface FlopsSummary {
  /** Forward FLOPs per token of this text, top-k routing (capacity), summed over its windows. */
  perToken: number;
  /** The same for the dense twin (the config without `mod`). */
  densePerToken: number;
}

/** Windows of at most blockSize tokens that cover n tokens, in order. */
export function textWindows(n: number, blockSize: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; s += blockSize) out.push([s, Math.min(n, s + blockSize)]);
  return out;
}

/** Forward FLOPs per token of the text's windows, and of the dense twin's. */
export function flopsSummary(cfg: ModelConfig, windows: Array<[number, number]>): FlopsSummary {
  const { mod: _mod, ...dense } = cfg;
  const tokens = windows.reduce((s, [a, b]) => s + b - a, 0);
  const total = (c: ModelConfig): number => windows.reduce((s, [a, b]) => s + forwardFlops(c, b - a).perSequence, 0);
  return { perToken: total(cfg) / tokens, densePerToken: total(dense) / tokens };
}

/** −ln softmax(row)[target] of each of t rows of V logits; NaN where target < 0. */
export function surprisals(logits: Float32Array, targets: Int32Array, vocab: number): Float32Array {
  const out = new Float32Array(targets.length);
  const row = new Float64Array(vocab);
  targets.forEach((target, i) => {
    if (target < 0) {
      out[i] = NaN;
      return;
    }
    row.set(logits.subarray(i * vocab, (i + 1) * vocab));
    out[i] = -Math.log(softmax(row)[target]!);
  });
  return out;
}

/** One window's forward under `mode`: its logits, and per routed block the processed flags and scores. */
interface WindowResult {
  logits: Float32Array;
  blocks: Array<{ layer: number; processed: Int32Array; score: Float32Array }>;
  ms: number;
}

/** The score a block's decision was made on: top-k, the router score r; causal, the causal logit z. */
function decisionScores(r: LayerRouting): Float32Array {
  return (r.topk !== null ? r.topk.scores : r.causalLogits).data.slice();
}

function runWindow(model: GPT, ids: Int32Array, mode: RoutingMode): WindowResult {
  const start = performance.now();
  const result = noGrad(() => {
    const out = model.forward(ids, 1, ids.length, undefined, mode);
    return {
      logits: out.logits.data.slice(),
      blocks: out.routing.map((r) => ({ layer: r.layer, processed: r.processed[0]!.slice(), score: decisionScores(r) })),
    };
  });
  releaseGraph();
  return { ...result, ms: performance.now() - start };
}

/** Waits for the event loop (so a page can paint, and a newer text can cancel this one). */
export type Yield = () => Promise<boolean>;

/**
 * The model over `text` under `mode`, window by window; `pause` runs between windows and returns false to cancel
 * (then the result is null). Times each forward pass into `forwardMs`.
 */
async function runMode(model: GPT, ids: Int32Array, windows: Array<[number, number]>, mode: RoutingMode, forwardMs: number[], pause: Yield): Promise<ModeResult | null> {
  const n = ids.length;
  const layers = model.routedBlocks().map((blk) => model.h.indexOf(blk));
  const blocks = layers.map((layer) => ({ layer, processed: new Uint8Array(n), score: new Float32Array(n) }));
  const surprisal = new Float32Array(n);
  const logits: Float32Array[] = [];
  const vocab = model.config.vocabSize;
  for (const [a, b] of windows) {
    if (!(await pause())) return null;
    const w = runWindow(model, ids.subarray(a, b), mode);
    forwardMs.push(w.ms);
    logits.push(w.logits);
    w.blocks.forEach((blk, i) => {
      blocks[i]!.score.set(blk.score, a);
      for (const p of blk.processed) blocks[i]!.processed[a + p] = 1;
    });
    const targets = Int32Array.from({ length: b - a }, (_, i) => (a + i + 1 < n ? ids[a + i + 1]! : -1));
    surprisal.set(surprisals(w.logits, targets, vocab), a);
  }
  return { mode, blocks, surprisal, loss: meanFinite(surprisal), logits };
}

function meanFinite(x: Float32Array): number {
  let s = 0;
  let n = 0;
  for (const v of x) {
    if (!Number.isFinite(v)) continue;
    s += v;
    n++;
  }
  return n === 0 ? NaN : s / n;
}

/** Per routed block, the share of tokens with the same decision in `a` and `b`. */
function agreement(a: ModeResult, b: ModeResult): number[] {
  return a.blocks.map((blk, i) => {
    const other = b.blocks[i]!.processed;
    let same = 0;
    blk.processed.forEach((p, j) => (same += p === other[j] ? 1 : 0));
    return blk.processed.length === 0 ? NaN : same / blk.processed.length;
  });
}

/** The model over `text` (null if `pause` cancelled it); a text the tokenizer cannot encode throws its DataError. */
export async function analyse(model: GPT, tokenizer: Tokenizer, text: string, pause: Yield): Promise<Analysis | null> {
  const ids = tokenizer.encode(text);
  const windows = textWindows(ids.length, model.config.blockSize);
  const forwardMs: number[] = [];
  const topk = await runMode(model, ids, windows, 'topk', forwardMs, pause);
  if (topk === null) return null;
  const routed = model.routedBlocks().length > 0;
  const causal = routed ? await runMode(model, ids, windows, 'causal', forwardMs, pause) : null;
  if (routed && causal === null) return null;
  return {
    text, ids, windows, topk, causal, forwardMs,
    agreement: causal === null ? [] : agreement(topk, causal),
    flops: flopsSummary(model.config, windows.length > 0 ? windows : [[0, 1]]),
  };
}

export interface GenerateSettings {
  maxNewTokens: number;
  temperature: number;
  /** Null: no top-k filter. */
  topK: number | null;
  seed: number;
}

/** A generated token and, per routed block, whether the causal decode processed it. */
export interface GeneratedToken {
  id: number;
  processed: boolean[];
}

/**
 * The library's generateTokens (KV cache, causal routing, Sampler with Rng(seed)), as `mod sample` runs it, yielding
 * each new token with its routing. A token's routing is known once it is fed back, which is the next step; the last
 * token is fed once more for its own.
 */
export function* generateRouted(model: GPT, prompt: Int32Array, s: GenerateSettings): Generator<GeneratedToken, void, void> {
  const logits = kvCacheLogits(model);
  const context = Array.from(prompt);
  let pending = -1;
  for (const id of generateTokens(model, prompt, { maxNewTokens: s.maxNewTokens, temperature: s.temperature, topK: s.topK, topP: 1, rng: new Rng(s.seed), logits })) {
    if (pending >= 0) yield { id: pending, processed: [...logits.lastProcessed] };
    pending = id;
    context.push(id);
  }
  if (pending < 0) return;
  logits.next(Int32Array.from(context));
  yield { id: pending, processed: [...logits.lastProcessed] };
}

/** A token as the page prints it: its text, with spaces, line breaks, tabs and partial UTF-8 bytes made visible. */
export function tokenLabel(tokenizer: Tokenizer, id: number): string {
  const s = tokenizer.decode([id]);
  const shown: Record<string, string> = { ' ': '␣', '\n': '↵', '\t': '⇥', '\r': '␍' };
  if (shown[s] !== undefined) return shown[s];
  // A lone byte of a multi-byte character, or a control character.
  if (s === '\uFFFD' || /^[\u0000-\u001f\u007f]$/.test(s)) return `\\x${id.toString(16).padStart(2, '0')}`;
  return s;
}
