// Reference (TypeScript) kernels: Mixture-of-Depths routing (top-k selection, gather, scatter-add). The oracle for
// the native addon's tests.
import type { I32, Kernels } from '../types.js';

/** NaN scores rank as -Infinity (so a NaN never displaces a real score; ties among them go to lower positions). */
const key = (s: number): number => (Number.isNaN(s) ? -Infinity : s);

/**
 * Chosen set = the first K positions of the total order (higher score first, then lower position); it is unique,
 * so any selection algorithm that respects this order (the native one uses nth_element) returns the same set.
 */
export const topkRows: Kernels['topkRows'] = (idx, scores, b, t, k) => {
  if (!(k >= 0 && k <= t)) throw new RangeError(`topkRows: k = ${k} must be in [0, ${t}]`);
  const order = new Int32Array(t);
  for (let r = 0; r < b; r++) {
    const off = r * t;
    for (let j = 0; j < t; j++) order[j] = j;
    order.sort((p, q) => {
      const sp = key(scores[off + p]!);
      const sq = key(scores[off + q]!);
      return sp > sq ? -1 : sp < sq ? 1 : p - q;
    });
    const chosen = order.subarray(0, k).sort();
    idx.set(chosen, r * k);
  }
};

function checkIdx(idx: I32, b: number, t: number, k: number, what: string): void {
  for (let i = 0; i < b * k; i++) {
    if (!(idx[i]! >= 0 && idx[i]! < t)) throw new RangeError(`${what}: index ${idx[i]} at ${i} is outside [0, ${t})`);
  }
}

export const gatherRows: Kernels['gatherRows'] = (out, x, idx, b, t, k, c) => {
  checkIdx(idx, b, t, k, 'gatherRows');
  for (let r = 0; r < b; r++) {
    for (let j = 0; j < k; j++) {
      const src = (r * t + idx[r * k + j]!) * c;
      out.set(x.subarray(src, src + c), (r * k + j) * c);
    }
  }
};

export const scatterAddRows: Kernels['scatterAddRows'] = (out, src, idx, b, t, k, c) => {
  checkIdx(idx, b, t, k, 'scatterAddRows');
  for (let r = 0; r < b; r++) {
    for (let j = 0; j < k; j++) {
      const dst = (r * t + idx[r * k + j]!) * c;
      const s = (r * k + j) * c;
      for (let q = 0; q < c; q++) out[dst + q] = out[dst + q]! + src[s + q]!;
    }
  }
};
