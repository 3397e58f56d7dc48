// The tape: accumulation, grad mode, topological order, views, stop-gradient and release.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward, graphStats, noGrad, releaseGraph, tapeNodes, topoOrder, zeroGrad } from '../../src/engine/autograd.js';
import { add, detach, gelu, reshape, scale, sigmoid, topk } from '../../src/engine/ops.js';
import { Tensor } from '../../src/engine/tensor.js';
import { assertClose } from '../helpers.js';

const sigm = (x: number): number => 1 / (1 + Math.exp(-x));

test('a tensor used twice accumulates both gradients', () => {
  const x = Tensor.from([0.5, -1, 2], [3], true);
  const y = add(scale(x, 3), x); // dy/dx = 4
  backward(y, Float32Array.from([1, 2, 3]));
  assertClose(x.grad!, [4, 8, 12]);
  releaseGraph();
});

test('gradients accumulate across backward calls until zeroGrad', () => {
  const x = Tensor.from([1, 2], [2], true);
  for (let i = 0; i < 2; i++) {
    backward(scale(x, 2), Float32Array.from([1, 1]));
    releaseGraph();
  }
  assertClose(x.grad!, [4, 4]);
  zeroGrad([x]);
  assertClose(x.grad!, [0, 0]);
});

test('a one-element root is seeded with 1', () => {
  const x = Tensor.from([3], [1], true);
  backward(scale(x, 5));
  assertClose(x.grad!, [5]);
  releaseGraph();
});

test('noGrad records nothing; recording resumes after it', () => {
  const x = Tensor.from([1, 2], [2], true);
  releaseGraph();
  const y = noGrad(() => gelu(add(x, x)));
  assert.equal(tapeNodes().length, 0);
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  assert.throws(() => backward(y, Float32Array.from([1, 1])), /does not require grad/);
  const z = gelu(x);
  assert.equal(tapeNodes().length, 1);
  assert.equal(z.requiresGrad, true);
  releaseGraph();
});

test('inputs that do not require grad are not recorded and get no gradient', () => {
  const c = Tensor.from([1, 2], [2]);
  assert.equal(gelu(c).node, null);
  const x = Tensor.from([3, 4], [2], true);
  backward(add(x, c), Float32Array.from([1, 1]));
  assert.equal(c.grad, null);
  assertClose(x.grad!, [1, 1]);
  releaseGraph();
});

test('diamond graph: topological order and gradient', () => {
  const x = Tensor.from([0.3, -0.7], [2], true);
  const a = gelu(x);
  const b = sigmoid(x);
  const c = add(a, b);
  const order = topoOrder(c);
  assert.deepEqual(order.map((n) => n.op), ['gelu', 'sigmoid', 'add']);
  order.forEach((node, i) => {
    for (const input of node.inputs) if (input.node !== null) assert.ok(order.indexOf(input.node) < i);
  });
  backward(c, Float32Array.from([1, 1]));
  const geluGrad = (v: number): number => {
    const k = Math.sqrt(2 / Math.PI);
    const u = k * (v + 0.044715 * v ** 3);
    const th = Math.tanh(u);
    return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
  };
  const want = [0.3, -0.7].map((v) => geluGrad(v) + sigm(v) * (1 - sigm(v)));
  assertClose(x.grad!, want, 1e-4, 1e-6);
  releaseGraph();
});

test('topological order visits a shared node once in a deep chain', () => {
  const x = Tensor.from([0.1], [1], true);
  let y = x;
  for (let i = 0; i < 50; i++) y = add(y, y); // 2^50 paths, 50 nodes
  assert.equal(topoOrder(y).length, 50);
  releaseGraph();
});

test('reshape views share data and gradient with their base', () => {
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], true);
  const v = reshape(x, [3, 2]);
  assert.equal(v.data, x.data);
  assert.deepEqual(v.shape, [3, 2]);
  backward(scale(v, 2), new Float32Array(6).fill(1));
  assert.equal(v.grad, x.grad);
  assertClose(x.grad!, [2, 2, 2, 2, 2, 2]);
  releaseGraph();
});

test('detach stops the gradient', () => {
  const x = Tensor.from([1, 2], [2], true);
  const y = add(detach(gelu(x)), scale(x, 3));
  backward(y, Float32Array.from([1, 1]));
  assertClose(x.grad!, [3, 3]);
  releaseGraph();
});

test('topk picks the highest scores per row, sorted by position', () => {
  const s = Tensor.from([0.1, 0.9, 0.5, 0.7, 3, 2, 1, 0], [2, 4]);
  assert.deepEqual([...topk(s, 2)], [1, 3, 0, 1]);
  releaseGraph();
});

test('releaseGraph empties op outputs, and using one afterwards throws', () => {
  const x = Tensor.from([1, 2], [2], true);
  const y = gelu(x);
  assert.ok(graphStats().borrowed > 0);
  releaseGraph();
  assert.equal(graphStats().borrowed, 0);
  assert.equal(graphStats().nodes, 0);
  assert.equal(y.size, 0);
  assert.throws(() => gelu(y), /released/);
  assert.equal(x.data.length, 2, 'persistent tensors keep their data');
});
