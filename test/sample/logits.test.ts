// Logits processors on hand-made logits (exact kept sets), the inverse-CDF draw, and seeded determinism.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
import { Sampler, logitsProcessors, sampleIndex, softmax, temperature, topK, topP } from '../../src/sample/logits.js';

const kept = (x: Float64Array): number[] => [...x.keys()].filter((i) => x[i] !== -Infinity);
const apply = (f: (x: Float64Array) => void, values: number[]): Float64Array => {
  const x = Float64Array.from(values);
  f(x);
  return x;
};

test('temperature divides the logits', () => {
  assert.deepEqual([...apply(temperature(2), [4, -1, 0, 3])], [2, -0.5, 0, 1.5]);
  assert.deepEqual([...apply(temperature(0.5), [1, -2])], [2, -4]);
  assert.throws(() => temperature(0), RangeError);
});

test('top-k keeps exactly the k highest logits (ties with the k-th all kept, as nanoGPT)', () => {
  const logits = [0.5, 3, -1, 2, 2.5, -Infinity, 1];
  assert.deepEqual(kept(apply(topK(1), logits)), [1]);
  assert.deepEqual(kept(apply(topK(3), logits)), [1, 3, 4]);
  assert.deepEqual(kept(apply(topK(6), logits)), [0, 1, 2, 3, 4, 6]);
  assert.deepEqual(kept(apply(topK(7), logits)), [0, 1, 2, 3, 4, 6]);
  assert.deepEqual(kept(apply(topK(100), logits)), [0, 1, 2, 3, 4, 6]);
  assert.deepEqual(kept(apply(topK(2), [1, 2, 2, 0])), [1, 2]);
  assert.deepEqual(kept(apply(topK(2), [1, 3, 1, 0])), [0, 1, 2]); // tie at the 2nd value
  const x = apply(topK(2), [0.5, 3, -1, 2.5]);
  assert.deepEqual([...x], [-Infinity, 3, -Infinity, 2.5]); // the kept logits are untouched
  assert.throws(() => topK(0), RangeError);
});

test('top-p keeps the smallest most-likely set whose mass reaches p, always the top token', () => {
  const probs = [0.1, 0.4, 0.05, 0.3, 0.15]; // sorted: 1 (.4), 3 (.3), 4 (.15), 0 (.1), 2 (.05)
  const logits = probs.map(Math.log);
  assert.deepEqual(kept(apply(topP(0.3), logits)), [1]);
  assert.deepEqual(kept(apply(topP(0.39), logits)), [1]);
  assert.deepEqual(kept(apply(topP(0.41), logits)), [1, 3]);
  assert.deepEqual(kept(apply(topP(0.7), logits)), [1, 3]);
  assert.deepEqual(kept(apply(topP(0.71), logits)), [1, 3, 4]);
  assert.deepEqual(kept(apply(topP(0.9), logits)), [0, 1, 3, 4]);
  assert.deepEqual(kept(apply(topP(0.96), logits)), [0, 1, 2, 3, 4]);
  assert.deepEqual(kept(apply(topP(1), logits)), [0, 1, 2, 3, 4]);
  assert.deepEqual(kept(apply(topP(1e-9), logits)), [1]);
  // Equal probabilities are taken in index order; removed tokens (-Infinity) never come back.
  assert.deepEqual(kept(apply(topP(0.5), [0, 0, 0, 0])), [0, 1]);
  assert.deepEqual(kept(apply(topP(0.99), [0, -Infinity, 0])), [0, 2]);
  assert.throws(() => topP(0), RangeError);
  assert.throws(() => topP(1.5), RangeError);
});

test('processors run in order temperature, top-k, top-p', () => {
  // Temperature 0.5 makes token 0 (logit 2 → 4) take ~0.84 of the mass after top-k 3, so top-p 0.8 keeps it alone;
  // at temperature 1 it has only ~0.63 and top-p 0.8 needs two tokens.
  const logits = [2, 1, 0.5, -3];
  const run = (t: number): number[] => {
    const x = Float64Array.from(logits);
    for (const f of logitsProcessors({ temperature: t, topK: 3, topP: 0.8 })) f(x);
    return kept(x);
  };
  assert.deepEqual(run(0.5), [0]);
  assert.deepEqual(run(1), [0, 1]);
  assert.equal(logitsProcessors({ temperature: 1, topK: null, topP: 1 }).length, 1);
});

test('softmax and the inverse-CDF draw', () => {
  const p = softmax(Float64Array.of(Math.log(1), Math.log(3), -Infinity, Math.log(4)));
  assert.ok(Math.abs(p[0]! - 0.125) < 1e-12 && Math.abs(p[1]! - 0.375) < 1e-12 && p[2] === 0 && Math.abs(p[3]! - 0.5) < 1e-12);
  const w = Float64Array.of(1, 3, 0, 4); // cdf 1, 4, 4, 8 (of 8)
  assert.equal(sampleIndex(w, 0), 0);
  assert.equal(sampleIndex(w, 0.124), 0);
  assert.equal(sampleIndex(w, 0.125), 1);
  assert.equal(sampleIndex(w, 0.49), 1);
  assert.equal(sampleIndex(w, 0.5), 3); // never the zero-weight token 2
  assert.equal(sampleIndex(w, 0.999999), 3);
  assert.equal(sampleIndex(Float64Array.of(0, 2, 0), 0.9999999999), 1);
  assert.throws(() => sampleIndex(Float64Array.of(0, 0), 0.5), /zero/);
});

test('sampling follows the distribution and is deterministic per seed', () => {
  const logits = Float32Array.from([0.1, 0.4, 0.2, 0.3], Math.log);
  const draw = (seed: number, opts = { temperature: 1, topK: null as number | null, topP: 1 }): number[] => {
    const s = new Sampler(opts, new Rng(seed));
    return Array.from({ length: 20000 }, () => s.sample(logits));
  };
  const a = draw(1);
  assert.deepEqual(draw(1), a);
  assert.notDeepEqual(draw(2), a);
  const freq = [0, 1, 2, 3].map((i) => a.filter((x) => x === i).length / a.length);
  [0.1, 0.4, 0.2, 0.3].forEach((p, i) => assert.ok(Math.abs(freq[i]! - p) < 0.015, `token ${i}: ${freq[i]} vs ${p}`));
  assert.ok(draw(3, { temperature: 1, topK: 1, topP: 1 }).every((x) => x === 1)); // top-k 1 is greedy
  assert.ok(draw(3, { temperature: 1, topK: 2, topP: 1 }).every((x) => x === 1 || x === 3));
  // One rng draw per token, whatever the options: the streams stay aligned.
  const rng = new Rng(5);
  new Sampler({ temperature: 0.7, topK: 2, topP: 0.5 }, rng).sample(logits);
  const ref = new Rng(5);
  ref.next();
  assert.equal(rng.next(), ref.next());
});

test('a non-finite logit is reported, not sampled', () => {
  const s = new Sampler({ temperature: 1, topK: null, topP: 1 }, new Rng(1));
  assert.throws(() => s.sample([0, Number.NaN, 1]), /NaN.*token 1.*diverged/);
  assert.throws(() => s.sample([0, Infinity]), /Infinity/);
});
