// Reference (TypeScript) kernels: elementwise ops, embedding and losses. Plain loops in double precision, stored
// to float32; the oracle for the native addon's tests.
import type { F32, I32, Kernels } from '../types.js';

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBE = 0.044715;

export const add: Kernels['add'] = (out, a, b, n) => {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
};

export const accumulate: Kernels['accumulate'] = (acc, x, n) => {
  for (let i = 0; i < n; i++) acc[i] = acc[i]! + x[i]!;
};

/** The scale is rounded to float32 first, as the native kernel does. */
export const scaleInPlace: Kernels['scaleInPlace'] = (x, s, n) => {
  const sf = Math.fround(s);
  for (let i = 0; i < n; i++) x[i] = x[i]! * sf;
};

// gelu(x) = 0.5·x·(1 + tanh(u)),  u = sqrt(2/π)·(x + 0.044715·x³)
export const geluForward: Kernels['geluForward'] = (out, inp, n) => {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + GELU_CUBE * x * x * x)));
  }
};

// gelu'(x) = 0.5·(1 + tanh u) + 0.5·x·(1 - tanh² u)·sqrt(2/π)·(1 + 3·0.044715·x²)
export const geluBackward: Kernels['geluBackward'] = (dinp, dout, inp, n) => {
  for (let i = 0; i < n; i++) {
    const x = inp[i]!;
    const t = Math.tanh(GELU_SCALE * (x + GELU_CUBE * x * x * x));
    const du = GELU_SCALE * (1 + 3 * GELU_CUBE * x * x);
    dinp[i] = dinp[i]! + (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du) * dout[i]!;
  }
};

/** sigmoid without overflow: exp is only ever taken of -|x|. */
function sigmoid(x: number): number {
  const z = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + z) : z / (1 + z);
}

export const sigmoidForward: Kernels['sigmoidForward'] = (out, inp, n) => {
  for (let i = 0; i < n; i++) out[i] = sigmoid(inp[i]!);
};

export const sigmoidBackward: Kernels['sigmoidBackward'] = (dinp, dout, out, n) => {
  for (let i = 0; i < n; i++) {
    const s = out[i]!;
    dinp[i] = dinp[i]! + s * (1 - s) * dout[i]!;
  }
};

export const rowScaleForward: Kernels['rowScaleForward'] = (out, x, s, rows, cols) => {
  for (let i = 0; i < rows; i++) {
    const si = s[i]!;
    for (let j = i * cols; j < (i + 1) * cols; j++) out[j] = si * x[j]!;
  }
};

export const rowScaleBackward: Kernels['rowScaleBackward'] = (dx, ds, dout, x, s, rows, cols) => {
  for (let i = 0; i < rows; i++) {
    const si = s[i]!;
    let dot = 0;
    for (let j = i * cols; j < (i + 1) * cols; j++) {
      if (dx !== null) dx[j] = dx[j]! + si * dout[j]!;
      dot += dout[j]! * x[j]!;
    }
    if (ds !== null) ds[i] = ds[i]! + dot;
  }
};

/** Throws unless every id indexes a row of a (length / c)-row table. */
function checkIds(ids: I32, n: number, rowsAvailable: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < rowsAvailable)) throw new RangeError(`${what}: id ${id} at ${i} is outside [0, ${rowsAvailable})`);
  }
}

export const embeddingForward: Kernels['embeddingForward'] = (out, ids, table, n, c) => {
  checkIds(ids, n, Math.floor(table.length / c), 'embeddingForward');
  for (let i = 0; i < n; i++) out.set(table.subarray(ids[i]! * c, ids[i]! * c + c), i * c);
};

export const embeddingBackward: Kernels['embeddingBackward'] = (dtable, dout, ids, n, c) => {
  checkIds(ids, n, Math.floor(dtable.length / c), 'embeddingBackward');
  for (let i = 0; i < n; i++) {
    const t = ids[i]! * c;
    for (let j = 0; j < c; j++) dtable[t + j] = dtable[t + j]! + dout[i * c + j]!;
  }
};

/** Throws unless every target is < v (negative targets mean "ignored"). */
function checkTargets(targets: I32, n: number, v: number): void {
  for (let i = 0; i < n; i++) {
    if (targets[i]! >= v) throw new RangeError(`crossEntropy: target ${targets[i]} at row ${i} is not < ${v}`);
  }
}

/** Softmax of row `i` of logits (N,V) into probs; returns log Σ exp(x - max) and the max (log-sum-exp parts). */
function softmaxRow(probs: F32, logits: F32, i: number, v: number): { logSum: number; max: number } {
  const off = i * v;
  let max = -Infinity;
  for (let j = 0; j < v; j++) max = Math.max(max, logits[off + j]!);
  let sum = 0;
  for (let j = 0; j < v; j++) sum += Math.exp(logits[off + j]! - max);
  for (let j = 0; j < v; j++) probs[off + j] = Math.exp(logits[off + j]! - max) / sum;
  return { logSum: Math.log(sum), max };
}

// loss = -log softmax(x)[t] = log Σ exp(x - max) - (x[t] - max)
export const crossEntropyForward: Kernels['crossEntropyForward'] = (losses, probs, logits, targets, n, v) => {
  checkTargets(targets, n, v);
  for (let i = 0; i < n; i++) {
    const { logSum, max } = softmaxRow(probs, logits, i, v);
    const t = targets[i]!;
    losses[i] = t < 0 ? 0 : logSum - (logits[i * v + t]! - max);
  }
};

export const crossEntropyBackward: Kernels['crossEntropyBackward'] = (dlogits, dlosses, probs, targets, n, v) => {
  checkTargets(targets, n, v);
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    if (t < 0) continue;
    const d = dlosses[i]!;
    for (let j = 0; j < v; j++) dlogits[i * v + j] = dlogits[i * v + j]! + (probs[i * v + j]! - (j === t ? 1 : 0)) * d;
  }
};

// BCE(sigmoid(x), t) = max(x, 0) - x·t + log(1 + exp(-|x|))
export const bceWithLogitsForward: Kernels['bceWithLogitsForward'] = (losses, logits, targets, n) => {
  for (let i = 0; i < n; i++) {
    const x = logits[i]!;
    losses[i] = Math.max(x, 0) - x * targets[i]! + Math.log1p(Math.exp(-Math.abs(x)));
  }
};

export const bceWithLogitsBackward: Kernels['bceWithLogitsBackward'] = (dlogits, dlosses, logits, targets, n) => {
  for (let i = 0; i < n; i++) dlogits[i] = dlogits[i]! + (sigmoid(logits[i]!) - targets[i]!) * dlosses[i]!;
};
