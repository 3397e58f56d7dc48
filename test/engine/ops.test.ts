// A finite-difference gradient check for every differentiable op, through the engine and the active backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  add,
  attention,
  bceWithLogits,
  crossEntropy,
  embedding,
  gatherRows,
  gelu,
  layerNorm,
  linear,
  matmul,
  opNames,
  reshape,
  rmsNorm,
  rowScale,
  scale,
  scatterAddRows,
  selectTime,
  sigmoid,
  topk,
  type OpName,
} from '../../src/engine/ops.js';
import { backward, releaseGraph } from '../../src/engine/autograd.js';
import { Tensor } from '../../src/engine/tensor.js';
import { randArray } from '../helpers.js';
import { gradCheck } from './gradcheck.js';

let seed = 100;
function leaf(shape: number[], scale = 1, offset = 0): Tensor {
  const t = new Tensor(randArray(shape.reduce((a, b) => a * b, 1), seed++, scale), shape, { requiresGrad: true });
  for (let i = 0; i < t.size; i++) t.data[i]! += offset;
  return t;
}

const cases: Record<OpName, () => void> = {
  matmul: () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [m, k, n] = [3, 5, 4];
        const a = leaf(transA ? [k, m] : [m, k]);
        const b = leaf(transB ? [n, k] : [k, n]);
        gradCheck(`matmul transA=${transA} transB=${transB}`, () => matmul(a, b, { transA, transB }), [a, b]);
      }
    }
  },
  linear: () => {
    const x = leaf([2, 3, 5]);
    const w = leaf([4, 5]);
    const bias = leaf([4]);
    gradCheck('linear', () => linear(x, w, bias), [x, w, bias]);
    gradCheck('linear without bias', () => linear(x, w, null), [x, w]);
  },
  embedding: () => {
    const table = leaf([7, 4]);
    const ids = Int32Array.from([3, 0, 3, 6, 1, 3]); // repeated ids must accumulate
    gradCheck('embedding', () => embedding(ids, table, [2, 3]), [table]);
  },
  layerNorm: () => {
    const x = leaf([3, 8], 2);
    const w = leaf([8], 0.5, 1);
    const b = leaf([8]);
    gradCheck('layerNorm', () => layerNorm(x, w, b), [x, w, b]);
    gradCheck('layerNorm without bias', () => layerNorm(x, w, null), [x, w]);
  },
  rmsNorm: () => {
    const x = leaf([3, 8], 2);
    const w = leaf([8], 0.5, 1);
    gradCheck('rmsNorm', () => rmsNorm(x, w), [x, w]);
  },
  gelu: () => {
    const x = leaf([17], 3);
    gradCheck('gelu', () => gelu(x), [x]);
  },
  sigmoid: () => {
    const x = leaf([17], 4);
    gradCheck('sigmoid', () => sigmoid(x), [x]);
  },
  attention: () => {
    const [b, t, c, nHead] = [2, 5, 8, 2];
    const seq = Int32Array.from({ length: b * t }, (_, i) => i % t);
    const subset = Int32Array.from([0, 2, 3, 7, 9, 1, 4, 5, 6, 11]); // routed rows keep their original positions
    for (const rope of [false, true]) {
      for (const [name, pos] of [['sequential', seq], ['subset', subset]] as const) {
        const qkv = leaf([b, t, 3 * c]);
        gradCheck(`attention rope=${rope} ${name}`, () => attention(qkv, pos, { nHead, rope, ropeBase: 10000 }), [qkv]);
      }
    }
  },
  add: () => {
    const a = leaf([2, 3]);
    const b = leaf([2, 3]);
    gradCheck('add', () => add(a, b), [a, b]);
    gradCheck('add(a, a)', () => add(a, a), [a]);
  },
  scale: () => {
    const x = leaf([5]);
    gradCheck('scale', () => scale(x, -1.5), [x]);
  },
  rowScale: () => {
    const x = leaf([2, 3, 4]);
    const s = leaf([2, 3]);
    gradCheck('rowScale', () => rowScale(x, s), [x, s]);
  },
  gatherRows: () => {
    const x = leaf([2, 5, 3]);
    const idx = Int32Array.from([1, 4, 0, 2]);
    gradCheck('gatherRows', () => gatherRows(x, idx, 2), [x]);
  },
  scatterAddRows: () => {
    const base = leaf([2, 5, 3]);
    const src = leaf([2, 2, 3]);
    const idx = Int32Array.from([1, 4, 0, 2]);
    gradCheck('scatterAddRows', () => scatterAddRows(base, src, idx), [base, src]);
  },
  selectTime: () => {
    const x = leaf([2, 4, 3]);
    gradCheck('selectTime last', () => selectTime(x, 3), [x]);
    gradCheck('selectTime middle', () => selectTime(x, 1), [x]);
  },
  reshape: () => {
    const x = leaf([2, 6]);
    gradCheck('reshape of a leaf', () => reshape(x, [3, -1]), [x]);
    gradCheck('reshape of an op output', () => gelu(reshape(gelu(x), [4, 3])), [x]);
  },
  crossEntropy: () => {
    const logits = leaf([2, 3, 5], 2);
    const targets = Int32Array.from([4, 0, -1, 2, 2, 1]); // -1 is ignored
    gradCheck('crossEntropy', () => crossEntropy(logits, targets), [logits]);
  },
  bceWithLogits: () => {
    const logits = leaf([7], 3);
    const targets = Float32Array.from([0, 1, 1, 0, 0.5, 1, 0]);
    gradCheck('bceWithLogits', () => bceWithLogits(logits, targets), [logits]);
  },
};

test('every differentiable op has a gradient check', () => {
  assert.deepEqual(Object.keys(cases).sort(), [...opNames].sort());
});

for (const name of opNames) {
  test(`gradient check: ${name}`, () => cases[name]());
}

test('an empty routed subset (K = 0) runs forward and backward', () => {
  const [b, t, c] = [2, 3, 8];
  const x = leaf([b, t, c]);
  const w = leaf([3 * c, c]);
  const idx = topk(new Tensor(new Float32Array(b * t), [b, t]), 0);
  assert.equal(idx.length, 0);
  const sub = gatherRows(x, idx, 0); // (B, 0, C)
  const y = attention(linear(sub, w, null), idx, { nHead: 2, rope: true, ropeBase: 10000 });
  const out = scatterAddRows(x, y, idx);
  x.grad = null;
  backward(out, new Float32Array(b * t * c).fill(1));
  assert.deepEqual(out.shape, [b, t, c]);
  assert.ok(x.grad!.every((g) => g === 1));
  releaseGraph();
});
