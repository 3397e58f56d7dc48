// The data layer's facade: text (the Brown corpus by default, or --data paths) → tokenizer + train/val tokens.

import { loadBrown } from './brown.js';
import { DataError } from './errors.js';
import { loadText } from './text.js';
import { createTokenizer, type Tokenizer, type TokenizerKind } from './tokenizer.js';

export { DataError } from './errors.js';
export { loadBrown, brownDir, brownSplit, type BrownCorpus, type BrownDoc } from './brown.js';
export { loadText, splitText, readTextFile, expandPath, type TextData, type TextSplit } from './text.js';
export {
  ByteTokenizer, CharTokenizer, createTokenizer, tokenizerFromJSON,
  type StreamDecoder, type Tokenizer, type TokenizerKind, type TokenizerSpec,
} from './tokenizer.js';
export { randomBatch, evalBatches, sequentialWindows, type Batch, type Window } from './batches.js';

export interface DatasetOptions {
  /** Files or directories (see text.ts); the Brown corpus when undefined. */
  data?: string | string[];
  /**
   * 'byte', 'char' (vocabulary built from the whole dataset, train and val, as nanoGPT's prepare.py does, so the
   * val split never has unknown characters), or an existing tokenizer (e.g. a checkpoint's) to encode with.
   */
  tokenizer: TokenizerKind | Tokenizer;
  /** Context length T: each split must hold at least T+1 tokens. */
  blockSize: number;
}

export interface Dataset {
  tokenizer: Tokenizer;
  train: Int32Array;
  val: Int32Array;
  /** Human-readable description of where the text came from. */
  source: string;
}

export function loadDataset(opts: DatasetOptions): Dataset {
  const { train, val, source } = opts.data === undefined ? brownText() : userText(opts.data);
  const tokenizer = typeof opts.tokenizer === 'string' ? createTokenizer(opts.tokenizer, train, val) : opts.tokenizer;
  const dataset = { tokenizer, train: tokenizer.encode(train), val: tokenizer.encode(val), source };
  checkSize(dataset, opts.blockSize);
  return dataset;
}

function brownText(): { train: string; val: string; source: string } {
  const b = loadBrown();
  const nVal = b.docs.filter((d) => d.split === 'val').length;
  return { ...b, source: `Brown corpus (${b.docs.length - nVal} train / ${nVal} val documents)` };
}

function userText(data: string | string[]): { train: string; val: string; source: string } {
  const t = loadText(data);
  return { train: t.train, val: t.val, source: t.description };
}

function checkSize(d: Dataset, blockSize: number): void {
  const need = blockSize + 1;
  const total = d.train.length + d.val.length;
  for (const [name, tokens] of [['train', d.train], ['validation', d.val]] as const) {
    if (tokens.length >= need) continue;
    throw new DataError(`${d.source} has ${total} ${d.tokenizer.kind} tokens; its ${name} split has ${tokens.length}, `
      + `fewer than blockSize+1 = ${need}: use more text (about ${Math.ceil(need / 0.1)} tokens) or a smaller --blockSize`);
  }
}
