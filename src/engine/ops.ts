// Differentiable ops. Each op's forward and backward sit side by side in one rule table typed
// `{ [K in OpName]: Rule<K> }`, so an op without a gradient rule does not compile. Forwards write fresh pooled
// outputs through the active kernels; backwards accumulate (+=) into the inputs' .grad.
// Index and target arrays (ids, positions, top-k indices, targets) are kept by reference for the backward: do not
// overwrite them before backward() has run.
import { kernels, type AttentionDims } from '../kernels/index.js';
import { gradIfNeeded, gradOrScratch, output, record, temp, tempInts, track } from './autograd.js';
import { Tensor, shapeStr, sizeOf } from './tensor.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

export interface AttentionOptions {
  nHead: number;
  rope: boolean;
  ropeBase: number;
}

/** Per op: its arguments, and what its forward saves for its backward. */
interface Ops {
  matmul: {
    args: [a: Tensor, b: Tensor, opts?: MatmulOptions];
    saved: { a: Tensor; b: Tensor; m: number; n: number; k: number; transA: boolean; transB: boolean };
  };
  linear: {
    args: [x: Tensor, w: Tensor, bias: Tensor | null];
    saved: { x: Tensor; w: Tensor; bias: Tensor | null; n: number; inF: number; outF: number };
  };
  embedding: { args: [ids: Int32Array, table: Tensor, lead?: number[]]; saved: { ids: Int32Array; table: Tensor; c: number } };
  layerNorm: {
    args: [x: Tensor, w: Tensor, b: Tensor | null];
    saved: { x: Tensor; w: Tensor; b: Tensor | null; mean: Float32Array; rstd: Float32Array; n: number; c: number };
  };
  rmsNorm: { args: [x: Tensor, w: Tensor]; saved: { x: Tensor; w: Tensor; rstd: Float32Array; n: number; c: number } };
  gelu: { args: [x: Tensor]; saved: { x: Tensor } };
  sigmoid: { args: [x: Tensor]; saved: { x: Tensor; out: Tensor } };
  attention: {
    args: [qkv: Tensor, pos: Int32Array, opts: AttentionOptions];
    saved: { qkv: Tensor; pos: Int32Array; d: AttentionDims; cache: Float32Array };
  };
  add: { args: [a: Tensor, b: Tensor]; saved: { a: Tensor; b: Tensor } };
  scale: { args: [x: Tensor, s: number]; saved: { x: Tensor; s: number } };
  rowScale: { args: [x: Tensor, s: Tensor]; saved: { x: Tensor; s: Tensor; rows: number; cols: number } };
  gatherRows: { args: [x: Tensor, idx: Int32Array, k: number]; saved: { x: Tensor; idx: Int32Array; b: number; t: number; k: number; c: number } };
  scatterAddRows: {
    args: [base: Tensor, src: Tensor, idx: Int32Array];
    saved: { base: Tensor; src: Tensor; idx: Int32Array; b: number; t: number; k: number; c: number };
  };
  selectTime: { args: [x: Tensor, t: number]; saved: { x: Tensor; t: number } };
  reshape: { args: [x: Tensor, shape: number[]]; saved: Record<string, never> };
  crossEntropy: {
    args: [logits: Tensor, targets: Int32Array];
    saved: { logits: Tensor; targets: Int32Array; probs: Float32Array; n: number; v: number; count: number };
  };
  bceWithLogits: { args: [logits: Tensor, targets: Float32Array]; saved: { logits: Tensor; targets: Float32Array } };
}

export type OpName = keyof Ops;

interface Forward<K extends OpName> {
  out: Tensor;
  /** The tensor inputs the gradient flows to (the graph's edges). */
  inputs: Tensor[];
  saved: Ops[K]['saved'];
}

interface Rule<K extends OpName> {
  forward(...args: Ops[K]['args']): Forward<K>;
  /** Accumulates the inputs' gradients given dout = d(loss)/d(out). */
  backward(dout: Float32Array, saved: Ops[K]['saved']): void;
}

const rules: { [K in OpName]: Rule<K> } = {
  // c (M,N) = op(a) (M,K) · op(b) (K,N); a stored (K,M) when transA, b stored (N,K) when transB.
  matmul: {
    forward(a, b, opts = {}) {
      const transA = opts.transA ?? false;
      const transB = opts.transB ?? false;
      need2d('matmul', a);
      need2d('matmul', b);
      const [m, k] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
      const [kb, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
      if (k !== kb) throw new Error(`matmul: inner dims differ: ${shapeStr(a)}${transA ? 'ᵀ' : ''} · ${shapeStr(b)}${transB ? 'ᵀ' : ''}`);
      const out = output([m, n]);
      kernels().matmul(out.data, a.data, b.data, m, n, k, transA, transB, false);
      return { out, inputs: [a, b], saved: { a, b, m, n, k, transA, transB } };
    },
    backward(dout, { a, b, m, n, k, transA, transB }) {
      const K = kernels();
      const da = gradIfNeeded(a);
      if (da !== null) {
        if (transA) K.matmul(da, b.data, dout, k, m, n, transB, true, true); // dAᵀ (K,M) = op(b) · dCᵀ
        else K.matmul(da, dout, b.data, m, k, n, false, !transB, true); // dA (M,K) = dC · op(b)ᵀ
      }
      const db = gradIfNeeded(b);
      if (db !== null) {
        if (transB) K.matmul(db, dout, a.data, n, k, m, true, transA, true); // dBᵀ (N,K) = dCᵀ · op(a)
        else K.matmul(db, a.data, dout, k, n, m, !transA, false, true); // dB (K,N) = op(a)ᵀ · dC
      }
    },
  },

  // y (..., OUT) = x (..., IN) · wᵀ + bias, with w stored (OUT, IN) as torch / nanoGPT.
  linear: {
    forward(x, w, bias) {
      need2d('linear weight', w);
      const [outF, inF] = [w.shape[0]!, w.shape[1]!];
      if (lastDim(x) !== inF) throw new Error(`linear: input ${shapeStr(x)} does not end in ${inF} (weight ${shapeStr(w)})`);
      if (bias !== null) needShape('linear bias', bias, [outF]);
      const n = x.size / inF;
      const out = output([...x.shape.slice(0, -1), outF]);
      const K = kernels();
      K.matmul(out.data, x.data, w.data, n, outF, inF, false, true, false);
      if (bias !== null) K.addBias(out.data, bias.data, n, outF);
      return { out, inputs: bias !== null ? [x, w, bias] : [x, w], saved: { x, w, bias, n, inF, outF } };
    },
    backward(dout, { x, w, bias, n, inF, outF }) {
      const K = kernels();
      const dx = gradIfNeeded(x);
      if (dx !== null) K.matmul(dx, dout, w.data, n, inF, outF, false, false, true); // dx (N,IN) = dy (N,OUT) · w
      const dw = gradIfNeeded(w);
      if (dw !== null) K.matmul(dw, dout, x.data, outF, inF, n, true, false, true); // dw (OUT,IN) = dyᵀ · x
      const db = bias !== null ? gradIfNeeded(bias) : null;
      if (db !== null) K.biasBackward(db, dout, n, outF);
    },
  },

  // out (...lead, C) = table (V, C) rows at ids; lead defaults to [ids.length].
  embedding: {
    forward(ids, table, lead = [ids.length]) {
      need2d('embedding table', table);
      const [v, c] = [table.shape[0]!, table.shape[1]!];
      if (sizeOf(lead) !== ids.length) throw new Error(`embedding: ${ids.length} ids do not fill shape [${lead.join(', ')}]`);
      needIndices('embedding', ids, v);
      const out = output([...lead, c]);
      kernels().embeddingForward(out.data, ids, table.data, ids.length, c);
      return { out, inputs: [table], saved: { ids, table, c } };
    },
    backward(dout, { ids, table, c }) {
      const dtable = gradIfNeeded(table);
      if (dtable !== null) kernels().embeddingBackward(dtable, dout, ids, ids.length, c); // scatter-add
    },
  },

  // Per row of x (..., C): (x - mean) / std · w + b.
  layerNorm: {
    forward(x, w, b) {
      const c = lastDim(x);
      needShape('layerNorm weight', w, [c]);
      if (b !== null) needShape('layerNorm bias', b, [c]);
      const n = x.size / c;
      const out = output(x.shape);
      const mean = temp(n);
      const rstd = temp(n);
      kernels().layernormForward(out.data, mean, rstd, x.data, w.data, b?.data ?? null, n, c);
      return { out, inputs: b !== null ? [x, w, b] : [x, w], saved: { x, w, b, mean, rstd, n, c } };
    },
    backward(dout, { x, w, b, mean, rstd, n, c }) {
      const db = b !== null ? gradIfNeeded(b) : null;
      kernels().layernormBackward(gradOrScratch(x), gradOrScratch(w), db, dout, x.data, w.data, mean, rstd, n, c);
    },
  },

  // Per row of x (..., C): x / rms(x) · w.
  rmsNorm: {
    forward(x, w) {
      const c = lastDim(x);
      needShape('rmsNorm weight', w, [c]);
      const n = x.size / c;
      const out = output(x.shape);
      const rstd = temp(n);
      kernels().rmsnormForward(out.data, rstd, x.data, w.data, n, c);
      return { out, inputs: [x, w], saved: { x, w, rstd, n, c } };
    },
    backward(dout, { x, w, rstd, n, c }) {
      kernels().rmsnormBackward(gradOrScratch(x), gradOrScratch(w), dout, x.data, w.data, rstd, n, c);
    },
  },

  gelu: {
    forward(x) {
      needLive(x);
      const out = output(x.shape);
      kernels().geluForward(out.data, x.data, x.size);
      return { out, inputs: [x], saved: { x } };
    },
    backward(dout, { x }) {
      const dx = gradIfNeeded(x);
      if (dx !== null) kernels().geluBackward(dx, dout, x.data, x.size);
    },
  },

  sigmoid: {
    forward(x) {
      needLive(x);
      const out = output(x.shape);
      kernels().sigmoidForward(out.data, x.data, x.size);
      return { out, inputs: [x], saved: { x, out } };
    },
    backward(dout, { x, out }) {
      const dx = gradIfNeeded(x);
      if (dx !== null) kernels().sigmoidBackward(dx, dout, out.data, x.size);
    },
  },

  // Causal multi-head attention: qkv (B,T,3C) → (B,T,C); row i sees row j of its sequence iff pos[j] <= pos[i].
  attention: {
    forward(qkv, pos, { nHead, rope, ropeBase }) {
      if (qkv.shape.length !== 3 || qkv.shape[2]! % 3 !== 0) throw new Error(`attention: qkv must be (B, T, 3C), got ${shapeStr(qkv)}`);
      needLive(qkv);
      const [b, t] = [qkv.shape[0]!, qkv.shape[1]!];
      const c = qkv.shape[2]! / 3;
      if (c % nHead !== 0) throw new Error(`attention: C = ${c} is not divisible by nHead = ${nHead}`);
      const headSize = c / nHead;
      if (rope && headSize % 2 !== 0) throw new Error(`attention: rope needs an even head size, got ${headSize}`);
      if (pos.length !== b * t) throw new Error(`attention: ${pos.length} positions for B·T = ${b * t} rows`);
      const d: AttentionDims = { b, t, nHead, headSize, rope, ropeBase };
      const K = kernels();
      const out = output([b, t, c]);
      const cache = temp(K.attentionCacheSize(d));
      K.attentionForward(out.data, cache, qkv.data, pos, d);
      return { out, inputs: [qkv], saved: { qkv, pos, d, cache } };
    },
    backward(dout, { qkv, pos, d, cache }) {
      const dqkv = gradIfNeeded(qkv);
      if (dqkv !== null) kernels().attentionBackward(dqkv, dout, cache, qkv.data, pos, d);
    },
  },

  add: {
    forward(a, b) {
      needSameShape('add', a, b);
      const out = output(a.shape);
      kernels().add(out.data, a.data, b.data, a.size);
      return { out, inputs: [a, b], saved: { a, b } };
    },
    backward(dout, { a, b }) {
      const K = kernels();
      const da = gradIfNeeded(a);
      if (da !== null) K.accumulate(da, dout, dout.length);
      const db = gradIfNeeded(b);
      if (db !== null) K.accumulate(db, dout, dout.length);
    },
  },

  // y = s · x for a constant s.
  scale: {
    forward(x, s) {
      needLive(x);
      const out = output(x.shape);
      out.data.set(x.data);
      kernels().scaleInPlace(out.data, s, x.size);
      return { out, inputs: [x], saved: { x, s } };
    },
    backward(dout, { x, s }) {
      const dx = gradIfNeeded(x);
      if (dx === null) return;
      const K = kernels();
      const scaled = temp(dout.length);
      scaled.set(dout);
      K.scaleInPlace(scaled, s, scaled.length);
      K.accumulate(dx, scaled, scaled.length);
    },
  },

  // y[i, :] = s[i] · x[i, :], x (..., C), s one value per row of x; gradients flow to both.
  rowScale: {
    forward(x, s) {
      const cols = lastDim(x);
      const rows = x.size / cols;
      needLive(s);
      if (s.size !== rows) throw new Error(`rowScale: ${s.size} scales for ${rows} rows of ${shapeStr(x)}`);
      const out = output(x.shape);
      kernels().rowScaleForward(out.data, x.data, s.data, rows, cols);
      return { out, inputs: [x, s], saved: { x, s, rows, cols } };
    },
    backward(dout, { x, s, rows, cols }) {
      const dx = gradIfNeeded(x);
      const ds = gradIfNeeded(s);
      if (dx !== null || ds !== null) kernels().rowScaleBackward(dx, ds, dout, x.data, s.data, rows, cols);
    },
  },

  // out (B,K,C)[b, j] = x (B,T,C)[b, idx[b, j]].
  gatherRows: {
    forward(x, idx, k) {
      const [b, t, c] = dims3('gatherRows', x);
      if (idx.length !== b * k) throw new Error(`gatherRows: ${idx.length} indices for B·K = ${b * k}`);
      needIndices('gatherRows', idx, t);
      const out = output([b, k, c]);
      kernels().gatherRows(out.data, x.data, idx, b, t, k, c);
      return { out, inputs: [x], saved: { x, idx, b, t, k, c } };
    },
    backward(dout, { x, idx, b, t, k, c }) {
      const dx = gradIfNeeded(x);
      if (dx !== null) kernels().scatterAddRows(dx, dout, idx, b, t, k, c);
    },
  },

  // out = base (B,T,C), plus src (B,K,C)[b, j] added at row idx[b, j] of each sequence b.
  scatterAddRows: {
    forward(base, src, idx) {
      const [b, t, c] = dims3('scatterAddRows', base);
      const k = src.shape[1] ?? 0;
      needShape('scatterAddRows src', src, [b, k, c]);
      if (idx.length !== b * k) throw new Error(`scatterAddRows: ${idx.length} indices for B·K = ${b * k}`);
      needIndices('scatterAddRows', idx, t);
      const out = output(base.shape);
      out.data.set(base.data);
      kernels().scatterAddRows(out.data, src.data, idx, b, t, k, c);
      return { out, inputs: [base, src], saved: { base, src, idx, b, t, k, c } };
    },
    backward(dout, { base, src, idx, b, t, k, c }) {
      const K = kernels();
      const dbase = gradIfNeeded(base);
      if (dbase !== null) K.accumulate(dbase, dout, dout.length);
      const dsrc = gradIfNeeded(src);
      if (dsrc === null) return;
      const gathered = temp(dsrc.length);
      K.gatherRows(gathered, dout, idx, b, t, k, c);
      K.accumulate(dsrc, gathered, gathered.length);
    },
  },

  // out (B,C) = x (B,T,C)[:, t, :]; e.g. the last position's hidden state for sampling.
  selectTime: {
    forward(x, t) {
      const [b, tt, c] = dims3('selectTime', x);
      if (!Number.isInteger(t) || t < 0 || t >= tt) throw new Error(`selectTime: t = ${t} outside [0, ${tt})`);
      const out = output([b, c]);
      for (let i = 0; i < b; i++) out.data.set(x.data.subarray((i * tt + t) * c, (i * tt + t + 1) * c), i * c);
      return { out, inputs: [x], saved: { x, t } };
    },
    backward(dout, { x, t }) {
      const dx = gradIfNeeded(x);
      if (dx === null) return;
      const [b, tt, c] = [x.shape[0]!, x.shape[1]!, x.shape[2]!];
      for (let i = 0; i < b; i++) {
        const row = (i * tt + t) * c;
        for (let j = 0; j < c; j++) dx[row + j]! += dout[i * c + j]!;
      }
    },
  },

  // A view with a new shape (one dim may be -1); it shares x's data and x's gradient buffer.
  reshape: {
    forward(x, shape) {
      const out = track(new Tensor(x.data, inferShape(shape, x), { persistent: false, base: x.base ?? x }));
      return { out, inputs: [x], saved: {} };
    },
    backward() {
      // Nothing to do: the view's gradient is its base's gradient buffer, already accumulated in place.
    },
  },

  // Mean over the rows whose target is >= 0 of -log softmax(logits)[target]; logits (..., V), targets one per row.
  crossEntropy: {
    forward(logits, targets) {
      const v = lastDim(logits);
      const n = logits.size / v;
      if (targets.length !== n) throw new Error(`crossEntropy: ${targets.length} targets for ${n} rows of ${shapeStr(logits)}`);
      let count = 0;
      for (let i = 0; i < n; i++) {
        const y = targets[i]!;
        if (y >= v) throw new Error(`crossEntropy: target ${y} at row ${i} is outside the vocabulary [0, ${v})`);
        if (y >= 0) count++;
      }
      const losses = temp(n);
      const probs = temp(n * v);
      kernels().crossEntropyForward(losses, probs, logits.data, targets, n, v);
      const out = output([]);
      out.data[0] = count === 0 ? 0 : meanOf(losses, targets);
      return { out, inputs: [logits], saved: { logits, targets, probs, n, v, count } };
    },
    backward(dout, { logits, targets, probs, n, v, count }) {
      const dlogits = gradIfNeeded(logits);
      if (dlogits === null || count === 0) return;
      const dlosses = temp(n).fill(dout[0]! / count);
      kernels().crossEntropyBackward(dlogits, dlosses, probs, targets, n, v);
    },
  },

  // Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed from the logits.
  bceWithLogits: {
    forward(logits, targets) {
      needLive(logits);
      const n = logits.size;
      if (targets.length !== n) throw new Error(`bceWithLogits: ${targets.length} targets for ${n} logits`);
      const losses = temp(n);
      kernels().bceWithLogitsForward(losses, logits.data, targets, n);
      const out = output([]);
      out.data[0] = n === 0 ? 0 : meanOf(losses, null);
      return { out, inputs: [logits], saved: { logits, targets } };
    },
    backward(dout, { logits, targets }) {
      const dlogits = gradIfNeeded(logits);
      const n = logits.size;
      if (dlogits === null || n === 0) return;
      const dlosses = temp(n).fill(dout[0]! / n);
      kernels().bceWithLogitsBackward(dlogits, dlosses, logits.data, targets, n);
    },
  },
};

/** Every differentiable op (the test suite gradient-checks each). */
export const opNames = Object.keys(rules) as OpName[];

function apply<K extends OpName>(name: K, ...args: Ops[K]['args']): Tensor {
  const rule: Rule<K> = rules[name];
  const { out, inputs, saved } = rule.forward(...args);
  record(name, out, inputs, (dout) => rule.backward(dout, saved));
  return out;
}

// ------------------------------------------------------------------ the public ops

type Args<K extends OpName> = Ops[K]['args'];

export const matmul = (...a: Args<'matmul'>): Tensor => apply('matmul', ...a);
export const linear = (...a: Args<'linear'>): Tensor => apply('linear', ...a);
export const embedding = (...a: Args<'embedding'>): Tensor => apply('embedding', ...a);
export const layerNorm = (...a: Args<'layerNorm'>): Tensor => apply('layerNorm', ...a);
export const rmsNorm = (...a: Args<'rmsNorm'>): Tensor => apply('rmsNorm', ...a);
export const gelu = (...a: Args<'gelu'>): Tensor => apply('gelu', ...a);
export const sigmoid = (...a: Args<'sigmoid'>): Tensor => apply('sigmoid', ...a);
export const attention = (...a: Args<'attention'>): Tensor => apply('attention', ...a);
export const add = (...a: Args<'add'>): Tensor => apply('add', ...a);
export const scale = (...a: Args<'scale'>): Tensor => apply('scale', ...a);
export const rowScale = (...a: Args<'rowScale'>): Tensor => apply('rowScale', ...a);
export const gatherRows = (...a: Args<'gatherRows'>): Tensor => apply('gatherRows', ...a);
export const scatterAddRows = (...a: Args<'scatterAddRows'>): Tensor => apply('scatterAddRows', ...a);
export const selectTime = (...a: Args<'selectTime'>): Tensor => apply('selectTime', ...a);
export const reshape = (...a: Args<'reshape'>): Tensor => apply('reshape', ...a);
export const crossEntropy = (...a: Args<'crossEntropy'>): Tensor => apply('crossEntropy', ...a);
export const bceWithLogits = (...a: Args<'bceWithLogits'>): Tensor => apply('bceWithLogits', ...a);

// ------------------------------------------------------------------ ops without a gradient

/** idx (B,K): per row of scores (B,T), the positions of the K highest scores, ascending. No gradient. */
export function topk(scores: Tensor, k: number): Int32Array {
  if (scores.shape.length !== 2) throw new Error(`topk: scores must be (B, T), got ${shapeStr(scores)}`);
  needLive(scores);
  const [b, t] = [scores.shape[0]!, scores.shape[1]!];
  if (!Number.isInteger(k) || k < 0 || k > t) throw new Error(`topk: k = ${k} outside [0, ${t}]`);
  const idx = tempInts(b * k);
  kernels().topkRows(idx, scores.data, b, t, k);
  return idx;
}

/** x's values with no gradient path back to x (stop-gradient); shares x's data. */
export function detach(x: Tensor): Tensor {
  needLive(x);
  return track(new Tensor(x.data, x.shape, { persistent: false }));
}

/** Positions 0..T-1 for each of B sequences, (B,T), on pooled memory. */
export function sequencePositions(b: number, t: number): Int32Array {
  const pos = tempInts(b * t);
  for (let i = 0; i < b; i++) for (let j = 0; j < t; j++) pos[i * t + j] = j;
  return pos;
}

// ------------------------------------------------------------------ checks and helpers

function meanOf(losses: Float32Array, targets: Int32Array | null): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < losses.length; i++) {
    if (targets !== null && targets[i]! < 0) continue;
    sum += losses[i]!;
    count++;
  }
  return sum / count;
}

function lastDim(x: Tensor): number {
  if (x.shape.length === 0) throw new Error('expected a tensor with at least one dimension, got a scalar');
  needLive(x);
  return x.shape[x.shape.length - 1]!;
}

function need2d(what: string, x: Tensor): void {
  if (x.shape.length !== 2) throw new Error(`${what}: expected a 2-D tensor, got ${shapeStr(x)}`);
  needLive(x);
}

function dims3(what: string, x: Tensor): [number, number, number] {
  if (x.shape.length !== 3) throw new Error(`${what}: expected (B, T, C), got ${shapeStr(x)}`);
  needLive(x);
  return [x.shape[0]!, x.shape[1]!, x.shape[2]!];
}

function needShape(what: string, x: Tensor, shape: number[]): void {
  if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: expected shape [${shape.join(', ')}], got ${shapeStr(x)}`);
  }
  needLive(x);
}

function needSameShape(what: string, a: Tensor, b: Tensor): void {
  needShape(what, b, a.shape);
  needLive(a);
}

/** Catches the use of an op output after releaseGraph() emptied it. */
function needLive(x: Tensor): void {
  if (x.data.length !== sizeOf(x.shape)) throw new Error(`tensor ${shapeStr(x)} was released by releaseGraph()`);
}

function needIndices(what: string, idx: Int32Array, limit: number): void {
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    if (j < 0 || j >= limit) throw new Error(`${what}: index ${j} at ${i} is outside [0, ${limit})`);
  }
}

function inferShape(shape: number[], x: Tensor): number[] {
  needLive(x);
  const free = shape.indexOf(-1);
  const known = shape.reduce((p, d, i) => (i === free ? p : p * d), 1);
  const out = free < 0 ? shape : shape.map((d, i) => (i === free ? x.size / known : d));
  if (sizeOf(out) !== x.size) throw new Error(`reshape: ${shapeStr(x)} cannot be viewed as [${shape.join(', ')}]`);
  return out;
}
