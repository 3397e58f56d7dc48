// The data layer's facade: text (the Brown corpus by default, or --data paths) → tokenizer + train/val tokens.

import { loadBrown } from './brown.js';
import { type Dataset, datasetFromSplit, type TokenizerChoice } from './dataset.js';
import { type DataFingerprint, loadText } from './text.js';

export { DataError } from './errors.js';
export { loadBrown, brownDir, brownSplit, type BrownCorpus, type BrownDoc } from './brown.js';
export { loadText, readTextFile, expandPath, MAX_TEXT_BYTES, type DataFingerprint, type TextData } from './text.js';
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

/** The Brown corpus (default) or text files (with their fingerprint), split and tokenized. */
export function loadDataset(opts: DatasetOptions): Dataset & { fingerprint?: DataFingerprint } {
  if (opts.data === undefined) return datasetFromSplit(brownText(), opts.tokenizer, opts.blockSize);
  const t = loadText(opts.data);
  const dataset = datasetFromSplit({ train: t.train, val: t.val, source: t.description }, opts.tokenizer, opts.blockSize);
  return { ...dataset, fingerprint: t.fingerprint };
}

function brownText(): { train: string; val: string; source: string } {
  const b = loadBrown();
  const nVal = b.docs.filter((d) => d.split === 'val').length;
  return { ...b, source: `Brown corpus (${b.docs.length - nVal} train / ${nVal} val documents)` };
}
