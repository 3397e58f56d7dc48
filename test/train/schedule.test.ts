// The LR schedule: nanoGPT's get_lr at the warmup and decay boundaries, and the constant variant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningRate, type ScheduleConfig } from '../../src/train/schedule.js';

const cfg: ScheduleConfig = { lr: 1e-3, minLr: 1e-4, lrSchedule: 'cosine', warmupIters: 10, lrDecayIters: 110 };
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-15, `${what}: ${a} != ${b}`);

test('warmup: lr·(it+1)/(warmup+1), rising linearly from the first step', () => {
  close(learningRate(cfg, 0), 1e-3 / 11, 'it 0');
  close(learningRate(cfg, 4), (1e-3 * 5) / 11, 'it 4');
  close(learningRate(cfg, 9), (1e-3 * 10) / 11, 'it 9');
  assert.ok(learningRate(cfg, 0) > 0);
});

test('cosine: lr at the end of warmup, midpoint halfway, minLr at and after lrDecayIters', () => {
  close(learningRate(cfg, 10), 1e-3, 'it = warmup');
  close(learningRate(cfg, 60), (1e-3 + 1e-4) / 2, 'midpoint');
  close(learningRate(cfg, 35), 1e-4 + 0.5 * (1 + Math.cos(Math.PI / 4)) * 9e-4, 'quarter');
  close(learningRate(cfg, 110), 1e-4, 'it = lrDecayIters');
  close(learningRate(cfg, 500), 1e-4, 'past lrDecayIters');
  let prev = Infinity;
  for (let it = 10; it <= 110; it++) {
    const lr = learningRate(cfg, it);
    assert.ok(lr <= prev, `not decreasing at ${it}`);
    prev = lr;
  }
});

test('no warmup starts at lr; warmup = lrDecayIters goes straight to minLr', () => {
  close(learningRate({ ...cfg, warmupIters: 0 }, 0), 1e-3, 'no warmup');
  const flat = { ...cfg, warmupIters: 20, lrDecayIters: 20 };
  close(learningRate(flat, 19), (1e-3 * 20) / 21, 'last warmup step');
  close(learningRate(flat, 20), 1e-4, 'after');
});

test('constant: warmup, then lr forever', () => {
  const c = { ...cfg, lrSchedule: 'constant' as const };
  close(learningRate(c, 3), (1e-3 * 4) / 11, 'warmup');
  close(learningRate(c, 10), 1e-3, 'after warmup');
  close(learningRate(c, 10_000), 1e-3, 'long after');
});
