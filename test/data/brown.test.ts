import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brownDocumentText, brownSplit, loadBrown } from '../../src/data/brown.js';

const brown = loadBrown();
const all = brown.train + '\n' + brown.val;

test('Brown has 500 documents in 15 genres, about 10% of them (every genre) in val', () => {
  assert.equal(brown.docs.length, 500);
  assert.equal(new Set(brown.docs.map((d) => d.id)).size, 500);
  const genres = new Set(brown.docs.map((d) => d.genre));
  assert.equal(genres.size, 15);
  const val = brown.docs.filter((d) => d.split === 'val');
  assert.equal(val.length, 52);
  assert.equal(new Set(val.map((d) => d.genre)).size, 15);
  // Documents are separated by one blank line.
  assert.equal(brown.train.split('\n\n').length, 448);
  assert.equal(brown.val.split('\n\n').length, 52);
  const frac = brown.val.length / (brown.train.length + brown.val.length);
  assert.ok(frac > 0.08 && frac < 0.12, `val fraction ${frac}`);
});

test('the split rule takes the 5th, 15th, ... document of each genre', () => {
  assert.deepEqual([0, 3, 4, 5, 14, 24].map(brownSplit), ['train', 'train', 'val', 'train', 'val', 'val']);
  const news = brown.docs.filter((d) => d.genre === 'news' && d.split === 'val').map((d) => d.id);
  assert.deepEqual(news, ['ca05', 'ca15', 'ca25', 'ca35']);
});

test('Brown loads identically twice', () => {
  const again = loadBrown();
  assert.equal(again.train, brown.train);
  assert.equal(again.val, brown.val);
  assert.deepEqual(again.docs, brown.docs);
});

test('Brown text has no tags, no tokenizer spacing and mostly balanced quotes', () => {
  assert.doesNotMatch(all, /\w\/(?:nn|nns|np|at|in|jj|vb|vbd|vbn|cc|rb|cs|pps|to)(?:-tl|-hl)?\b/);
  for (const bad of [' ,', ' .', ' ;', ' : ', ' ?', ' !', ' )', '( ', '``', '?,', '..']) {
    assert.ok(!all.includes(bad), `found ${JSON.stringify(bad)}`);
  }
  assert.doesNotMatch(all, /^[,.;:?!)]/m);
  const paragraphs = all.split('\n').filter((p) => p.length > 0);
  const odd = paragraphs.filter((p) => (p.split('"').length - 1) % 2 === 1);
  assert.ok(odd.length / paragraphs.length < 0.03, `${odd.length} of ${paragraphs.length} paragraphs have odd quotes`);
  assert.ok(all.startsWith('The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary '
    + 'election produced "no evidence" that any irregularities took place.\n'));
});

test('tagged text is rebuilt into prose', () => {
  const raw = [
    '',
    '',
    "\t``/`` Only/rb a/at handful/nn ''/'' ,/, the/at jury/nn said/vbd ,/, ``/`` was/bedz received/vbn ''/'' ./.",
    'Was/bedz it/pps Ivan/np Allen/np Jr./np ./.',
    'Why/wrb not/* ?/. ?/.',
    '',
    '',
    'Merger/nn-hl proposed/vbn-hl ',
    "He/pps said/vbd ;/. ;/. '/' Cut/vb a/at 12''/nn ''/'' and/or/cc 1/2/cd board/nn (/( (/( pine/nn )/) '/' !/. !/.",
    '',
    '',
    '\t,/, for/nn Tire/nn size/nn ',
    '',
  ].join('\n');
  assert.equal(brownDocumentText(raw), [
    '"Only a handful," the jury said, "was received." Was it Ivan Allen Jr. Why not?',
    'Merger proposed',
    "He said; 'Cut a 12'' and/or 1/2 board (pine)!'",
    'for Tire size',
    '',
  ].join('\n'));
});
