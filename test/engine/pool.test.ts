// The buffer pool: reuse by exact length, and dropping lengths that went unused for a whole step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../src/engine/pool.js';

test('a released buffer is reused for the same length, not for another', () => {
  const pool = new BufferPool();
  const a = pool.f32(10);
  pool.give(a);
  assert.equal(pool.f32(10), a);
  assert.notEqual(pool.f32(10), a);
  const i = pool.i32(10);
  assert.ok(i instanceof Int32Array);
  assert.equal(pool.stats().created, 3);
});

test('a steady loop creates nothing after its first step', () => {
  const pool = new BufferPool();
  for (let step = 0; step < 5; step++) {
    const bufs = [pool.f32(8), pool.f32(8), pool.f32(3), pool.i32(4)];
    for (const b of bufs) pool.give(b);
    pool.endStep();
  }
  assert.deepEqual(pool.stats(), { created: 4, free: 4, freeBytes: 4 * (8 + 8 + 3 + 4) });
});

test('lengths unused for 8 steps are dropped', () => {
  const pool = new BufferPool();
  for (let t = 1; t <= 40; t++) {
    pool.give(pool.f32(100 * t)); // a growing context: a new length every step
    pool.endStep();
  }
  assert.ok(pool.stats().free <= 8, `free lists hold ${pool.stats().free} buffers`);
});

test('lengths used every few steps are kept (interleaved shapes reuse their buffers)', () => {
  const pool = new BufferPool();
  for (let t = 0; t < 30; t++) {
    pool.give(pool.f32(1000 + (t % 3))); // three models stepped in turn
    pool.endStep();
  }
  assert.equal(pool.stats().created, 3);
});
