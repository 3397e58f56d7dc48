import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DataError, loadDataset } from '../../src/data/index.js';
import { CharTokenizer } from '../../src/data/tokenizer.js';
import { sharedDataFile, tempFiles } from './shared.js';

const { dir: tmp, write } = tempFiles('mod-data-');

/** Asserts that `f` throws a DataError with exactly `message` (one line). */
function throwsDataError(f: () => unknown, message: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DataError, `not a DataError: ${String(e)}`);
    assert.equal(e.name, 'DataError');
    assert.ok(!e.message.includes('\n'));
    assert.equal(e.message, message);
    return true;
  });
}

test('the default dataset is the Brown corpus', () => {
  const d = loadDataset({ tokenizer: 'char', blockSize: 256 });
  assert.equal(d.source, 'Brown corpus (448 train / 52 val documents)');
  assert.equal(d.tokenizer.kind, 'char');
  assert.equal(d.tokenizer.vocabSize, 85);
  assert.ok(d.train.length > 5_000_000 && d.val.length > 500_000);
  assert.equal(d.tokenizer.decode(d.train.subarray(0, 13)), 'The Fulton Co');
  const b = loadDataset({ tokenizer: 'byte', blockSize: 256 });
  assert.equal(b.tokenizer.vocabSize, 256);
  assert.equal(b.train.length, d.train.length); // Brown is ASCII
});

test('a user file with the char tokenizer: vocabulary from the whole file, 90/10 split', () => {
  const f = write('small.txt', 'hello world! '.repeat(20) + 'Q');
  const d = loadDataset({ data: f, tokenizer: 'char', blockSize: 8 });
  assert.deepEqual((d.tokenizer as CharTokenizer).vocabulary, [' ', '!', 'Q', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
  assert.equal(d.train.length, 234);
  assert.equal(d.val.length, 27);
  assert.equal(d.tokenizer.decode(d.val).at(-1), 'Q');
});

test('an existing tokenizer (e.g. from a checkpoint) is used as given', () => {
  const f = write('given.txt', 'abcabcabcabcabcabcabcabcabcabcabcabcabcabc');
  const tok = CharTokenizer.fromText('cba');
  const d = loadDataset({ data: f, tokenizer: tok, blockSize: 3 });
  assert.equal(d.tokenizer, tok);
  assert.deepEqual(Array.from(d.val), [1, 2, 0, 1, 2]); // "bcabc": 42 chars, val = [37:]
  throwsDataError(() => loadDataset({ data: f, tokenizer: CharTokenizer.fromText('ab'), blockSize: 3 }),
    'character "c" (U+0063) is not in the char tokenizer\'s vocabulary of 2 characters taken from the training '
    + 'text: remove it from the input, or train with --tokenizer byte, which encodes any text');
});

test('tinyshakespeare with the char tokenizer matches nanoGPT shakespeare_char (vocab 65)', (t) => {
  const file = sharedDataFile('tinyshakespeare.txt');
  if (file === null) {
    // CI has ../shared beside the clone: there a missing file is a failure, not a skip.
    assert.ok(process.env.CI !== 'true', '../shared/data/tinyshakespeare.txt is missing in CI');
    t.skip('shared/data/tinyshakespeare.txt not found');
    return;
  }
  const d = loadDataset({ data: file, tokenizer: 'char', blockSize: 256 });
  assert.equal(d.tokenizer.vocabSize, 65);
  assert.equal(d.train.length, 1003854);
  assert.equal(d.val.length, 111540);
  // nanoGPT's stoi: "\n" → 0, " " → 1, "!" → 2, ...; "First" → [18, 47, 56, 57, 58].
  assert.deepEqual(Array.from(d.train.subarray(0, 5)), [18, 47, 56, 57, 58]);
});

test('DataError: missing path', () => {
  const p = path.join(tmp, 'nope.txt');
  throwsDataError(() => loadDataset({ data: p, tokenizer: 'byte', blockSize: 8 }),
    `data path not found: ${p} (check the --data argument)`);
});

test('DataError: directory with no text files', () => {
  const dir = path.join(tmp, 'emptydir');
  fs.mkdirSync(dir);
  write('emptydir/.DS_Store', 'x');
  write('emptydir/sub/empty.txt', '');
  throwsDataError(() => loadDataset({ data: dir, tokenizer: 'byte', blockSize: 8 }),
    `no text files found in directory ${dir} (hidden and empty files are skipped): add text files to it or pass a file`);
});

test('DataError: empty file', () => {
  const f = write('empty.txt', '');
  throwsDataError(() => loadDataset({ data: f, tokenizer: 'char', blockSize: 8 }),
    `data file is empty: ${f} (pass a file containing text)`);
});

test('DataError: data shorter than blockSize+1 tokens in a split', () => {
  const f = write('short.txt', 'x'.repeat(100));
  throwsDataError(() => loadDataset({ data: f, tokenizer: 'byte', blockSize: 16 }),
    `${f} (100 characters, 90/10 train/val split) has 100 byte tokens; its validation split has 10, fewer than `
    + 'blockSize+1 = 17: use more text (about 170 tokens) or a smaller --blockSize');
  assert.equal(loadDataset({ data: f, tokenizer: 'byte', blockSize: 9 }).val.length, 10);
});

test('DataError: binary file (NUL byte) with its offset', () => {
  const f = write('bin.dat', new Uint8Array([0x61, 0x62, 0x63, 0x00, 0x01]));
  throwsDataError(() => loadDataset({ data: f, tokenizer: 'byte', blockSize: 1 }),
    `data file looks binary: ${f} has a NUL byte at offset 3 (pass UTF-8 text files)`);
});

test('DataError: invalid UTF-8 with its offset', () => {
  const f = write('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b]));
  throwsDataError(() => loadDataset({ data: f, tokenizer: 'byte', blockSize: 1 }),
    `data file is not valid UTF-8: ${f} at byte offset 3 (convert it to UTF-8, e.g. with iconv -f latin1 -t utf-8)`);
});
