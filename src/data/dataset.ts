// Text → tokenizer + train/val token arrays, with no Node modules (the browser and library users build datasets
// from strings; src/data/index.ts loads the Brown corpus or files and calls the same code).
import { DataError } from './errors.js';
import { splitText, type TextSplit } from './split.js';
import { createTokenizer, type Tokenizer, type TokenizerKind } from './tokenizer.js';

export interface Dataset {
  tokenizer: Tokenizer;
  train: Int32Array;
  val: Int32Array;
  /** Human-readable description of where the text came from. */
  source: string;
}

/**
 * 'byte', 'char' (vocabulary built from the whole dataset, train and val, as nanoGPT's prepare.py does, so the val
 * split never has unknown characters), or an existing tokenizer (e.g. a checkpoint's) to encode with.
 */
export type TokenizerChoice = TokenizerKind | Tokenizer;

/** A split text tokenized; each split must hold at least blockSize+1 tokens. */
export function datasetFromSplit(text: TextSplit & { source: string }, tokenizer: TokenizerChoice, blockSize: number): Dataset {
  const tok = typeof tokenizer === 'string' ? createTokenizer(tokenizer, text.train, text.val) : tokenizer;
  const dataset = { tokenizer: tok, train: tok.encode(text.train), val: tok.encode(text.val), source: text.source };
  checkSize(dataset, blockSize);
  return dataset;
}

/** One text, split 90/10 as nanoGPT does (split.ts), then tokenized. */
export function datasetFromText(text: string, tokenizer: TokenizerChoice, blockSize: number, source = 'text'): Dataset {
  return datasetFromSplit({ ...splitText(text), source }, tokenizer, blockSize);
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
