// Tokenizers: byte-level (UTF-8 bytes, vocab 256, encodes any text) and char-level (one token per Unicode code
// point seen in the data, sorted by code point). A tokenizer is saved in every checkpoint as its JSON spec:
//   { "kind": "byte" }
//   { "kind": "char", "chars": ["\n", " ", "!", ..., "z"] }   (each entry one code point, strictly increasing)

import { DataError } from './errors.js';

export type TokenizerKind = 'byte' | 'char';

export type TokenizerSpec = { kind: 'byte' } | { kind: 'char'; chars: string[] };

/** Decodes a stream of token ids one at a time (for printing samples as they are generated). */
export interface StreamDecoder {
  /** Text completed by this token; '' while a multi-byte UTF-8 character is still incomplete. */
  push(id: number): string;
  /** Whatever is left (an incomplete byte sequence becomes U+FFFD). */
  flush(): string;
}

export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  streamDecoder(): StreamDecoder;
  toJSON(): TokenizerSpec;
}

export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte';
  readonly vocabSize = 256;

  encode(text: string): Int32Array {
    return new Int32Array(new TextEncoder().encode(text));
  }

  /** Invalid UTF-8 (which a model can generate) decodes to U+FFFD rather than throwing. */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) bytes[i] = checkId(ids[i]!, 256);
    return new TextDecoder('utf-8').decode(bytes);
  }

  streamDecoder(): StreamDecoder {
    const decoder = new TextDecoder('utf-8');
    return {
      push: (id) => decoder.decode(Uint8Array.of(checkId(id, 256)), { stream: true }),
      flush: () => decoder.decode(),
    };
  }

  toJSON(): TokenizerSpec {
    return { kind: 'byte' };
  }
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocabSize: number;
  private readonly chars: readonly string[];
  /** Code point → id for the Basic Multilingual Plane, -1 when absent. */
  private readonly bmp = new Int32Array(0x10000).fill(-1);
  private readonly astral = new Map<number, number>();

  /** `chars`: one code point per entry, strictly increasing by code point. */
  constructor(chars: readonly string[]) {
    if (chars.length === 0) throw new DataError('char tokenizer has an empty vocabulary: build it from non-empty text');
    let prev = -1;
    chars.forEach((ch, id) => {
      const cp = singleCodePoint(ch);
      if (cp === undefined || cp <= prev) {
        throw new DataError(`char tokenizer vocabulary entry ${id} (${JSON.stringify(ch)}) is not a single code point `
          + 'in strictly increasing order: the tokenizer spec is corrupt, rebuild it from the training text');
      }
      prev = cp;
      if (cp < 0x10000) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    });
    this.chars = [...chars];
    this.vocabSize = chars.length;
  }

  /** The vocabulary of all code points occurring in `texts`, sorted by code point. */
  static fromText(...texts: string[]): CharTokenizer {
    const seen = new Uint8Array(0x10000);
    const astral = new Set<number>();
    for (const text of texts) {
      forEachCodePoint(text, (cp) => {
        if (cp < 0x10000) seen[cp] = 1;
        else astral.add(cp);
      });
    }
    const cps: number[] = [];
    for (let cp = 0; cp < 0x10000; cp++) if (seen[cp]) cps.push(cp);
    cps.push(...[...astral].sort((a, b) => a - b));
    return new CharTokenizer(cps.map((cp) => String.fromCodePoint(cp)));
  }

  get vocabulary(): readonly string[] {
    return this.chars;
  }

  encode(text: string): Int32Array {
    const ids = new Int32Array(text.length);
    let n = 0;
    forEachCodePoint(text, (cp) => {
      const id = cp < 0x10000 ? this.bmp[cp]! : (this.astral.get(cp) ?? -1);
      if (id < 0) throw this.unknown(cp);
      ids[n++] = id;
    });
    return n === ids.length ? ids : ids.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    const parts = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) parts[i] = this.chars[checkId(ids[i]!, this.vocabSize)]!;
    return parts.join('');
  }

  streamDecoder(): StreamDecoder {
    return { push: (id) => this.chars[checkId(id, this.vocabSize)]!, flush: () => '' };
  }

  toJSON(): TokenizerSpec {
    return { kind: 'char', chars: [...this.chars] };
  }

  private unknown(cp: number): DataError {
    const hex = cp.toString(16).toUpperCase().padStart(4, '0');
    return new DataError(`character ${JSON.stringify(String.fromCodePoint(cp))} (U+${hex}) is not in the char `
      + `tokenizer's vocabulary of ${this.vocabSize} characters taken from the training text: remove it from the input, `
      + 'or train with --tokenizer byte, which encodes any text');
  }
}

export function createTokenizer(kind: TokenizerKind, ...texts: string[]): Tokenizer {
  return kind === 'byte' ? new ByteTokenizer() : CharTokenizer.fromText(...texts);
}

/** Rebuilds a tokenizer from its `toJSON()` spec (as stored in a checkpoint). */
export function tokenizerFromJSON(spec: unknown): Tokenizer {
  const s = spec as { kind?: unknown; chars?: unknown } | null;
  if (s?.kind === 'byte') return new ByteTokenizer();
  if (s?.kind === 'char' && Array.isArray(s.chars) && s.chars.every((c) => typeof c === 'string')) {
    return new CharTokenizer(s.chars as string[]);
  }
  throw new DataError(`invalid tokenizer spec ${JSON.stringify(spec)?.slice(0, 80)}: expected {"kind":"byte"} `
    + 'or {"kind":"char","chars":[...]}; the checkpoint is corrupt or from an incompatible version');
}

/** Calls `f` with each code point of `text` (a lone surrogate is passed through as itself). */
function forEachCodePoint(text: string, f: (cp: number) => void): void {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        f(0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
        i++;
        continue;
      }
    }
    f(c);
  }
}

function singleCodePoint(ch: unknown): number | undefined {
  if (typeof ch !== 'string' || ch.length === 0 || ch.length > 2) return undefined;
  const cp = ch.codePointAt(0)!;
  return String.fromCodePoint(cp) === ch ? cp : undefined;
}

function checkId(id: number, vocabSize: number): number {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new RangeError(`token id ${id} is outside the vocabulary [0, ${vocabSize})`);
  }
  return id;
}
