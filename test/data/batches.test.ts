import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evalBatches, randomBatch, sequentialWindows } from '../../src/data/batches.js';
import { DataError } from '../../src/data/errors.js';
import { Rng } from '../../src/engine/rng.js';

const arange = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

test('a random batch holds windows of T consecutive tokens with y shifted by one', () => {
  const tokens = arange(100);
  const { x, y, B, T } = randomBatch(tokens, 4, 8, new Rng(1));
  assert.equal(x.length, B * T);
  assert.equal(y.length, 32);
  for (let b = 0; b < B; b++) {
    const start = x[b * T]!;
    assert.ok(start >= 0 && start + T + 1 <= 100);
    for (let t = 0; t < T; t++) {
      assert.equal(x[b * T + t], start + t);
      assert.equal(y[b * T + t], start + t + 1);
    }
  }
});

test('batches are determined by the seed, and differ for another seed', () => {
  const tokens = arange(1000);
  const a = randomBatch(tokens, 8, 16, new Rng(42));
  const b = randomBatch(tokens, 8, 16, new Rng(42));
  const c = randomBatch(tokens, 8, 16, new Rng(43));
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.y, b.y);
  assert.notDeepEqual(a.x, c.x);
});

test('batches are determined by the Rng state (exact resume), drawing exactly B values', () => {
  const tokens = arange(500);
  const rng = new Rng(7);
  randomBatch(tokens, 3, 5, rng);
  const state = rng.getState();
  const next = randomBatch(tokens, 3, 5, rng);
  const resumed = new Rng(0);
  resumed.setState(state);
  assert.deepEqual(randomBatch(tokens, 3, 5, resumed).x, next.x);

  const counted = new Rng(7);
  for (let i = 0; i < 6; i++) counted.nextU32();
  assert.deepEqual(rng.getState(), counted.getState());
});

test('random offsets cover 0..n-T-1 and reuse an output buffer', () => {
  const tokens = arange(12);
  const T = 8;
  const rng = new Rng(3);
  const out = randomBatch(tokens, 1, T, rng);
  const starts = new Set<number>();
  for (let i = 0; i < 200; i++) starts.add(randomBatch(tokens, 1, T, rng, out).x[0]!);
  assert.deepEqual([...starts].sort(), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(randomBatch(arange(9), 2, 8, rng).y), [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => randomBatch(tokens, 2, T, rng, out), RangeError);
});

test('too few tokens for one window is a DataError', () => {
  assert.throws(() => randomBatch(arange(8), 1, 8, new Rng(1)), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.message, 'the data has 8 tokens, fewer than blockSize+1 = 9 needed for one training window: '
      + 'use more text or a smaller --blockSize');
    return true;
  });
});

test('eval batches are a fixed set for a seed', () => {
  const tokens = arange(300);
  const a = evalBatches(tokens, 3, 2, 10, 1234);
  const b = evalBatches(tokens, 3, 2, 10, 1234);
  assert.equal(a.length, 3);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0]!.x, a[1]!.x);
  assert.notDeepEqual(evalBatches(tokens, 3, 2, 10, 1235)[0]!.x, a[0]!.x);
});

test('sequential windows tile the tokens so that every token after the first is a target once', () => {
  const w = sequentialWindows(arange(10), 3);
  assert.deepEqual(w.map((v) => v.start), [0, 3, 6]);
  assert.deepEqual(w.map((v) => Array.from(v.x)), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  assert.deepEqual(w.map((v) => Array.from(v.y)), [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);

  const tokens = arange(12);
  assert.equal(sequentialWindows(tokens, 3).length, 3);
  const all = sequentialWindows(tokens, 3, true);
  assert.deepEqual(all.map((v) => Array.from(v.y)), [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]);
  assert.equal(all[0]!.x.buffer, tokens.buffer);
  assert.deepEqual(sequentialWindows(arange(1), 3, true), []);
});
