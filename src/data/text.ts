// User text for `--data PATH...`. Each PATH is a file or a directory; a directory contributes every regular file
// below it, recursively, sorted by relative path (code-unit order), skipping hidden entries (names starting with
// '.') and empty files. Paths given explicitly keep their command-line order.
// Split: like nanoGPT's shakespeare_char, each file is split by characters (code points):
//   n = len(data); train = data[:int(n*0.9)]; val = data[int(n*0.9):]
// and with several files the train parts are concatenated (in file order), as are the val parts, so that every
// file contributes 90% to training and 10% to validation.
// Files must be UTF-8 text (a leading BOM is dropped); NUL bytes or invalid UTF-8 are errors.
// Files are read in chunks (no 2 GiB readFile limit). The text is held as one JavaScript string, so all files
// together may hold at most MAX_TEXT_BYTES bytes (V8's string limit, 2^29 − 24 code units, about 512 MiB); more is a
// DataError that says so before anything is read.
// The fingerprint of the text: the paths, their total size and the sha256 of the files' bytes in order (each file's
// text, as read); checkpoints record it so that `mod eval` can tell when the training text changed.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../format.js';
import { DataError } from './errors.js';
import { countCodePoints, splitText, TRAIN_FRACTION, type TextSplit } from './split.js';

export { countCodePoints, splitText, TRAIN_FRACTION, type TextSplit } from './split.js';

/** Bytes of text all data files together may hold: V8's longest string (every byte is at most one code unit). */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;
/** Bytes read per read(2) call. */
const CHUNK_BYTES = 16 * 2 ** 20;

/** Where a text came from and what it was: checkpoints record it (docs/checkpoint-format.md). */
export interface DataFingerprint {
  /** The data path(s) as given (a file or a directory each). */
  path: string | string[];
  /** Bytes of all files. */
  bytes: number;
  /** sha256 (hex) of the files' bytes, in data order. */
  sha256: string;
}

export interface TextData extends TextSplit {
  files: string[];
  /** Characters (code points) in all files. */
  chars: number;
  description: string;
  fingerprint: DataFingerprint;
}

/** The text of `paths` (files or directories), split 90/10 per file; `maxBytes` caps their total size. */
export function loadText(paths: string | readonly string[], maxBytes = MAX_TEXT_BYTES): TextData {
  const list = typeof paths === 'string' ? [paths] : [...paths];
  if (list.length === 0) throw new DataError('no data path given: pass --data FILE or --data DIRECTORY');
  const files = list.flatMap(expandPath);
  checkTotalSize(files, maxBytes);
  const hash = createHash('sha256');
  let bytes = 0;
  const parts = files.map((f) => {
    const buf = readTextBytes(f, maxBytes);
    hash.update(buf);
    bytes += buf.length;
    return splitText(decodeText(buf, f));
  });
  const train = parts.map((p) => p.train).join('');
  const val = parts.map((p) => p.val).join('');
  const chars = countCodePoints(train) + countCodePoints(val);
  const fingerprint = { path: typeof paths === 'string' ? paths : [...paths], bytes, sha256: hash.digest('hex') };
  return { train, val, files, chars, description: describe(list, files, chars), fingerprint };
}

function tooLarge(what: string, bytes: number, maxBytes: number): DataError {
  return new DataError(`${what} ${formatBytes(bytes)} of text, more than mod can hold in memory as one text (${formatBytes(maxBytes)}, `
    + 'the JavaScript string limit): train on a part of it, e.g. the first 400 MB with `head -c 400M FILE > part.txt`');
}

function checkTotalSize(files: readonly string[], maxBytes: number): void {
  const total = files.reduce((sum, f) => sum + (statOrNull(f)?.size ?? 0), 0);
  if (total > maxBytes) throw tooLarge(files.length === 1 ? `data file ${files[0]} holds` : `the ${files.length} data files hold`, total, maxBytes);
}

/** A file, or the sorted non-hidden non-empty regular files below a directory. */
export function expandPath(p: string): string[] {
  const st = statOrNull(p);
  if (st === null) throw new DataError(`data path not found: ${p} (check the --data argument)`);
  if (st.isFile()) return [p];
  if (!st.isDirectory()) throw new DataError(`data path is neither a file nor a directory: ${p} (pass a text file or a directory of them)`);
  const files = walk(p, '').sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((rel) => path.join(p, rel));
  if (files.length === 0) {
    throw new DataError(`no text files found in directory ${p} (hidden and empty files are skipped): add text files to it or pass a file`);
  }
  return files;
}

function walk(root: string, rel: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(path.join(root, rel))) {
    if (name.startsWith('.')) continue;
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = statOrNull(path.join(root, r));
    if (st?.isDirectory()) out.push(...walk(root, r));
    else if (st?.isFile() && st.size > 0) out.push(r);
  }
  return out;
}

/** Reads a UTF-8 text file, rejecting empty, binary (NUL bytes), invalid UTF-8 and too large files. */
export function readTextFile(file: string, maxBytes = MAX_TEXT_BYTES): string {
  return decodeText(readTextBytes(file, maxBytes), file);
}

/** A file's bytes, read in chunks; a DataError when it holds more than `maxBytes`. */
function readTextBytes(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(`cannot open data file ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the --data path`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size > maxBytes) throw tooLarge(`data file ${file} holds`, size, maxBytes);
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, Math.min(CHUNK_BYTES, size - got), got);
      if (n === 0) break; // the file shrank while being read
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** The text of a file's bytes (see the top of this file for what is rejected). */
function decodeText(buf: Buffer, file: string): string {
  if (buf.length === 0) throw new DataError(`data file is empty: ${file} (pass a file containing text)`);
  const nul = buf.indexOf(0);
  if (nul >= 0) {
    throw new DataError(`data file looks binary: ${file} has a NUL byte at offset ${nul} (pass UTF-8 text files)`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch (e) {
    const at = firstInvalidUtf8(buf);
    if (at < 0) throw new DataError(`data file ${file} (${formatBytes(buf.length)}) could not be decoded as text: ${(e as Error).message}`);
    throw new DataError(`data file is not valid UTF-8: ${file} at byte offset ${at} (convert it to UTF-8, e.g. with iconv -f latin1 -t utf-8)`);
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence, or -1 (RFC 3629: no overlongs/surrogates). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const n = utf8SequenceLength(b, i);
    if (n === 0) return i;
    i += n;
  }
  return -1;
}

/** Length of the valid UTF-8 sequence starting at b[i], 0 if invalid. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  // Allowed range of the second byte for each lead byte (excludes overlongs, surrogates, > U+10FFFF).
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > b.length || b[i + 1]! < lo || b[i + 1]! > hi) return 0;
  for (let k = 2; k < n; k++) if (b[i + k]! < 0x80 || b[i + k]! > 0xbf) return 0;
  return n;
}

function describe(paths: string[], files: string[], chars: number): string {
  const what = files.length === 1 && paths.length === 1 ? paths[0]! : `${files.length} files from ${paths.join(', ')}`;
  return `${what} (${chars.toLocaleString('en-US')} characters, ${Math.round(TRAIN_FRACTION * 100)}/`
    + `${Math.round((1 - TRAIN_FRACTION) * 100)} train/val split${files.length > 1 ? ' of each file' : ''})`;
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}
