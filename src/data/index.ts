// The data layer's facade: text (the Brown corpus by default, or --data paths) → tokenizer + train/val tokens.

import { loadBrown } from './brown.js';
import { type Dataset, datasetFromSplit, type TokenizerChoice } from './dataset.js';
import { loadText } from './text.js';

export { DataError } from './errors.js';
export { loadBrown, brownDir, brownSplit, type BrownCorpus, type BrownDoc } from './brown.js';
export { loadText, readTextFile, expandPath, type TextData } from './text.js';
export { splitText, countCodePoints, TRAIN_FRACTION, type TextSplit } from './split.js';
export {
  ByteTokenizer, CharTokenizer, createTokenizer, tokenizerFromJSON,
  type StreamDecoder, type Tokenizer, type TokenizerKind, type TokenizerSpec,
} from './tokenizer.js';
export { randomBatch, evalBatches, sequentialWindows, type Batch, type Window } from './batches.js';
export { datasetFromSplit, datasetFromText, type Dataset, type TokenizerChoice } from './dataset.js';

export interface DatasetOptions {
  /** Files or directories (see text.ts); the Brown corpus when undefined. */
  data?: string | string[];
  /** 'byte', 'char' (vocabulary from the whole dataset), or an existing tokenizer (e.g. a checkpoint's). */
  tokenizer: TokenizerChoice;
  /** Context length T: each split must hold at least T+1 tokens. */
  blockSize: number;
}

/** The Brown corpus (default) or text files, split and tokenized. */
export function loadDataset(opts: DatasetOptions): Dataset {
  const text = opts.data === undefined ? brownText() : userText(opts.data);
  return datasetFromSplit(text, opts.tokenizer, opts.blockSize);
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
