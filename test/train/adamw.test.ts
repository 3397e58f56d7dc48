// AdamW against hand-computed steps, weight decay only on >= 2-D tensors, exact resume, and gradient clipping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/engine/tensor.js';
import { AdamW, clipGradNorm } from '../../src/train/adamw.js';
import { assertClose } from '../helpers.js';

function withGrad(values: number[], shape: number[], grad: number[]): Tensor {
  const t = Tensor.from(values, shape, true);
  t.grad = Float32Array.from(grad);
  return t;
}

test('one step matches the hand-computed update; decay is skipped on 1-D tensors', () => {
  const w = withGrad([1, -2], [1, 2], [0.5, -1]);
  const b = withGrad([1], [1], [0.5]);
  const opt = new AdamW([['w', w], ['b', b]], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  opt.step();
  // Step 1: m̂ = g, v̂ = g², so the Adam direction is g/|g| = ±1; then p -= lr·(±1 + wd·p) on 2-D tensors only.
  assertClose(w.data, [1 - 0.1 * (1 + 0.1 * 1), -2 - 0.1 * (-1 + 0.1 * -2)], 1e-6, 1e-6);
  assertClose(b.data, [1 - 0.1], 1e-6, 1e-6);
});

test('a second step with a new gradient and lr override matches the formula', () => {
  const p = withGrad([0.5], [1], [0.2]);
  const opt = new AdamW([['p', p]], { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 });
  opt.step();
  p.grad!.set([-0.4]);
  opt.step({ lr: 0.02 });
  const m = 0.9 * (0.1 * 0.2) + 0.1 * -0.4;
  const v = 0.99 * (0.01 * 0.04) + 0.01 * 0.16;
  const step2 = (m / (1 - 0.81)) / (Math.sqrt(v / (1 - 0.99 ** 2)) + 1e-8);
  assertClose(p.data, [0.5 - 0.01 * 1 - 0.02 * step2], 1e-6, 1e-7);
  assert.equal(opt.stepCount, 2);
});

test('exported state resumes exactly', () => {
  const make = (): [Tensor, AdamW] => {
    const p = withGrad([0.3, -0.1, 0.7, 2], [2, 2], [0, 0, 0, 0]);
    return [p, new AdamW([['p', p]], { lr: 0.05 })];
  };
  const grads = [[0.1, -0.2, 0.3, 0.5], [-0.3, 0.1, 0.2, -0.1], [0.05, 0.4, -0.6, 0.2]];
  const [a, optA] = make();
  for (const g of grads) {
    a.grad!.set(g);
    optA.step();
  }
  const [b, optB] = make();
  b.grad!.set(grads[0]!);
  optB.step();
  const saved = optB.exportState();
  const params = b.data.slice();
  const [c, optC] = make();
  c.data.set(params);
  optC.importState(saved);
  for (const g of grads.slice(1)) {
    c.grad!.set(g);
    optC.step();
  }
  assert.deepEqual(c.data, a.data);
  assert.throws(() => optC.importState({ step: 1, m: {}, v: {} }), /no moments for parameter p/);
});

test('parameters without a gradient are left alone', () => {
  const p = Tensor.from([1, 2], [2], true);
  new AdamW([['p', p]], { lr: 0.1 }).step();
  assert.deepEqual([...p.data], [1, 2]);
});

test('a 2-D parameter without a gradient gets no weight decay either (a zero gradient would decay it)', () => {
  // A 2-D weight is decayed when it has a gradient (see the first test); without one it must be left alone, its
  // moments untouched. Control: the same weight with an all-zero gradient moves by lr·wd·p, 100× above float32 noise.
  const values = [1.5, -2, 0.25, 3, -0.75, 1];
  const make = (): [Tensor, Tensor] => [Tensor.from(values, [2, 3], true), Tensor.from(values, [2, 3], true)];
  const [gradless, zeroGrad] = make();
  zeroGrad.grad = new Float32Array(6);
  const hyper = { lr: 0.1, weightDecay: 0.1 };
  const opt = new AdamW([['w', gradless], ['z', zeroGrad]], hyper);
  for (let i = 0; i < 3; i++) opt.step();
  assert.deepEqual([...gradless.data], [...Float32Array.from(values)]);
  const state = opt.exportState();
  assert.ok(state.m.w!.every((v) => v === 0) && state.v.w!.every((v) => v === 0), 'no moments for a parameter never reached');
  assertClose(zeroGrad.data, values.map((v) => v * (1 - hyper.lr * hyper.weightDecay) ** 3), 1e-6, 1e-7, 'decayed by (1 − lr·wd) per step');
  assert.ok(zeroGrad.data.every((v, i) => Math.abs(v - values[i]!) > 100 * 1e-6 * Math.abs(values[i]!)), 'control: decay is visible');
});

test('clipGradNorm scales all gradients to the max norm and returns the norm before clipping', () => {
  const a = withGrad([0], [1], [3]);
  const b = withGrad([0, 0], [2], [0, 4]);
  assert.ok(Math.abs(clipGradNorm([a, b], 1) - 5) < 1e-6);
  assertClose([...a.grad!, ...b.grad!], [0.6, 0, 0.8], 1e-5, 1e-6);
  const c = withGrad([0], [1], [0.5]);
  assert.ok(Math.abs(clipGradNorm([c], 1) - 0.5) < 1e-7);
  assertClose(c.grad!, [0.5]);
});
