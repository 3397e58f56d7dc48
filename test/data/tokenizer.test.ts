import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataError } from '../../src/data/errors.js';
import { ByteTokenizer, CharTokenizer, tokenizerFromJSON } from '../../src/data/tokenizer.js';

const UNICODE = 'héllo wörld 👋🏽 e\u0301 à\u0300 日本語 \u{1F600}\n\t\u0000 Ω≈ç√ \u{10FFFF}';

test('byte tokenizer round-trips arbitrary Unicode, emoji and combining marks', () => {
  const tok = new ByteTokenizer();
  const ids = tok.encode(UNICODE);
  assert.ok(ids instanceof Int32Array);
  assert.equal(ids.length, Buffer.byteLength(UNICODE, 'utf8'));
  assert.ok(ids.every((v) => v >= 0 && v < 256));
  assert.equal(tok.decode(ids), UNICODE);
  assert.equal(tok.vocabSize, 256);
});

test('byte tokenizer decodes invalid UTF-8 to U+FFFD instead of throwing', () => {
  assert.equal(new ByteTokenizer().decode([0x61, 0xff, 0x62]), 'a\uFFFDb');
  assert.throws(() => new ByteTokenizer().decode([256]), RangeError);
});

test('byte stream decoder emits a multi-byte character once it is complete', () => {
  const tok = new ByteTokenizer();
  const dec = tok.streamDecoder();
  const out = Array.from(tok.encode('a👋b'), (id) => dec.push(id));
  assert.deepEqual(out, ['a', '', '', '', '👋', 'b']);
  assert.equal(dec.flush(), '');
});

test('char tokenizer round-trips its training text', () => {
  const tok = CharTokenizer.fromText(UNICODE);
  const ids = tok.encode(UNICODE);
  assert.equal(ids.length, [...UNICODE].length);
  assert.equal(tok.decode(ids), UNICODE);
  const dec = tok.streamDecoder();
  assert.equal(Array.from(ids, (id) => dec.push(id)).join(''), UNICODE);
});

test('char vocabulary is sorted by code point (not UTF-16 unit) and stable', () => {
  // U+FF5E sorts before U+1F600 by code point but after it by UTF-16 unit (0xD83D).
  const text = 'b\u{1F600}a\uFF5Eb a';
  const tok = CharTokenizer.fromText(text);
  assert.deepEqual(tok.vocabulary, [' ', 'a', 'b', '\uFF5E', '\u{1F600}']);
  assert.deepEqual(CharTokenizer.fromText('a b\uFF5E', '\u{1F600}b').vocabulary, tok.vocabulary);
  assert.deepEqual(Array.from(tok.encode('ab\u{1F600}')), [1, 2, 4]);
});

test('tokenizer JSON spec round-trips', () => {
  const char = CharTokenizer.fromText('hello \u{1F600}');
  const json = JSON.parse(JSON.stringify(char));
  assert.deepEqual(json, { kind: 'char', chars: [' ', 'e', 'h', 'l', 'o', '\u{1F600}'] });
  const back = tokenizerFromJSON(json);
  assert.equal(back.kind, 'char');
  assert.deepEqual(Array.from(back.encode('hole')), Array.from(char.encode('hole')));
  assert.deepEqual(JSON.parse(JSON.stringify(new ByteTokenizer())), { kind: 'byte' });
  assert.equal(tokenizerFromJSON({ kind: 'byte' }).vocabSize, 256);
});

test('corrupt tokenizer specs throw DataError', () => {
  assert.throws(() => tokenizerFromJSON({ kind: 'bpe' }), DataError);
  assert.throws(() => tokenizerFromJSON(null), DataError);
  assert.throws(() => tokenizerFromJSON({ kind: 'char', chars: ['b', 'a'] }), /strictly increasing/);
  assert.throws(() => tokenizerFromJSON({ kind: 'char', chars: ['ab'] }), /single code point/);
  assert.throws(() => tokenizerFromJSON({ kind: 'char', chars: [] }), /empty vocabulary/);
});

test('an unknown character throws a one-line DataError naming it and the fix', () => {
  const tok = CharTokenizer.fromText('abc');
  assert.throws(() => tok.encode('ab\u00e9'), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.message, 'character "é" (U+00E9) is not in the char tokenizer\'s vocabulary of 3 characters '
      + 'taken from the training text: remove it from the input, or train with --tokenizer byte, which encodes any text');
    return true;
  });
  assert.throws(() => tok.encode('\u{1F600}'), /"\u{1F600}" \(U\+1F600\)/u);
  assert.throws(() => tok.encode('\n'), /"\\n" \(U\+000A\)/);
});
