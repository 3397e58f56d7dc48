// Reference (TypeScript) kernels: attention. Plain loops; the oracle for the native addon's tests.
//
// Visibility: row i of a sequence sees row j of the same sequence iff pos[j] <= pos[i] (every row is scanned, so
// positions need not be sorted; rows with equal positions see each other). Scores are scaled by 1/sqrt(headSize)
// and the softmax subtracts the row max.
// Cache layout (this backend only): the softmax probabilities att (B, nHead, T, T), zero where masked.
// The backward recomputes the rotated q and k (cheap next to the T² work).
import type { AttentionDims, F32, I32, Kernels } from '../types.js';

/** cos and sin of every RoPE angle of one position: cs[2i] = cos(pos·θ_i), cs[2i+1] = sin(pos·θ_i). */
function ropeAngles(p: number, headSize: number, ropeBase: number): Float64Array {
  const cs = new Float64Array(headSize);
  for (let i = 0; i < headSize / 2; i++) {
    const a = p * Math.pow(ropeBase, -(2 * i) / headSize);
    cs[2 * i] = Math.fround(Math.cos(a));
    cs[2 * i + 1] = Math.fround(Math.sin(a));
  }
  return cs;
}

/** dst[0..hs) = src[so..so+hs) rotated by cs (the pair rotation (x0, x1) → (x0·c − x1·s, x0·s + x1·c)). */
function rotate(dst: Float64Array, src: ArrayLike<number>, so: number, cs: Float64Array | null, hs: number): void {
  if (cs === null) {
    for (let e = 0; e < hs; e++) dst[e] = src[so + e]!;
    return;
  }
  for (let e = 0; e < hs; e += 2) {
    const x0 = src[so + e]!;
    const x1 = src[so + e + 1]!;
    const c = cs[e]!;
    const s = cs[e + 1]!;
    dst[e] = Math.fround(x0 * c - x1 * s);
    dst[e + 1] = Math.fround(x0 * s + x1 * c);
  }
}

function checkDims(d: AttentionDims): void {
  if (d.rope && d.headSize % 2 !== 0) throw new Error(`RoPE needs an even headSize, got ${d.headSize}`);
}

/** Rotated (when d.rope) q and k of sequence b: two (T, C) arrays. */
function rotatedQK(qkv: F32, pos: I32, d: AttentionDims, b: number): [Float64Array, Float64Array] {
  const { t: T, nHead, headSize: hs } = d;
  const C = nHead * hs;
  const q = new Float64Array(T * C);
  const k = new Float64Array(T * C);
  const tmp = new Float64Array(hs);
  for (let t = 0; t < T; t++) {
    const cs = d.rope ? ropeAngles(pos[b * T + t]!, hs, d.ropeBase) : null;
    const row = (b * T + t) * 3 * C;
    for (let h = 0; h < nHead; h++) {
      rotate(tmp, qkv, row + h * hs, cs, hs);
      q.set(tmp, t * C + h * hs);
      rotate(tmp, qkv, row + C + h * hs, cs, hs);
      k.set(tmp, t * C + h * hs);
    }
  }
  return [q, k];
}

export const attentionCacheSize: Kernels['attentionCacheSize'] = (d) => d.b * d.nHead * d.t * d.t;

export const attentionForward: Kernels['attentionForward'] = (out, cache, qkv, pos, d) => {
  checkDims(d);
  const { b: B, t: T, nHead, headSize: hs } = d;
  const C = nHead * hs;
  const scale = 1 / Math.sqrt(hs);
  const scores = new Float64Array(T);
  const o = new Float64Array(hs);
  for (let b = 0; b < B; b++) {
    const [q, k] = rotatedQK(qkv, pos, d, b);
    for (let h = 0; h < nHead; h++) {
      for (let i = 0; i < T; i++) {
        const pi = pos[b * T + i]!;
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          if (pos[b * T + j]! > pi) continue;
          let s = 0;
          for (let e = 0; e < hs; e++) s += q[i * C + h * hs + e]! * k[j * C + h * hs + e]!;
          scores[j] = s * scale;
          if (scores[j]! > max) max = scores[j]!;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          scores[j] = pos[b * T + j]! > pi ? 0 : Math.exp(scores[j]! - max);
          sum += scores[j]!;
        }
        const att = ((b * nHead + h) * T + i) * T; // (B, nHead, T, T)
        for (let j = 0; j < T; j++) cache[att + j] = scores[j]! / sum;
        o.fill(0);
        for (let j = 0; j < T; j++) {
          const a = cache[att + j]!;
          const v = (b * T + j) * 3 * C + 2 * C + h * hs;
          if (a !== 0) for (let e = 0; e < hs; e++) o[e] += a * qkv[v + e]!;
        }
        for (let e = 0; e < hs; e++) out[(b * T + i) * C + h * hs + e] = o[e]!;
      }
    }
  }
};

/** dqkv[row + off + h·hs ..] += dx rotated back by −θ (the transpose of the forward rotation). */
function addUnrotated(dqkv: F32, row: number, dx: Float64Array, xo: number, cs: Float64Array | null, hs: number): void {
  if (cs === null) {
    for (let e = 0; e < hs; e++) dqkv[row + e] += dx[xo + e]!;
    return;
  }
  for (let e = 0; e < hs; e += 2) {
    const d0 = dx[xo + e]!;
    const d1 = dx[xo + e + 1]!;
    const c = cs[e]!;
    const s = cs[e + 1]!;
    dqkv[row + e] += d0 * c + d1 * s;
    dqkv[row + e + 1] += -d0 * s + d1 * c;
  }
}

export const attentionBackward: Kernels['attentionBackward'] = (dqkv, dout, cache, qkv, pos, d) => {
  checkDims(d);
  const { b: B, t: T, nHead, headSize: hs } = d;
  const C = nHead * hs;
  const scale = 1 / Math.sqrt(hs);
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    const [q, k] = rotatedQK(qkv, pos, d, b);
    const dq = new Float64Array(T * C); // gradients w.r.t. the rotated q, k: (T, C)
    const dk = new Float64Array(T * C);
    for (let h = 0; h < nHead; h++) {
      for (let i = 0; i < T; i++) {
        const att = ((b * nHead + h) * T + i) * T;
        const dOut = (b * T + i) * C + h * hs;
        let dsum = 0; // D_i = Σ_j att_ij · datt_ij
        for (let j = 0; j < T; j++) {
          const v = (b * T + j) * 3 * C + 2 * C + h * hs;
          const a = cache[att + j]!;
          datt[j] = 0;
          if (a === 0) continue; // masked (or underflowed): no gradient through this score
          let s = 0;
          for (let e = 0; e < hs; e++) s += dout[dOut + e]! * qkv[v + e]!;
          datt[j] = s;
          dsum += a * s;
          for (let e = 0; e < hs; e++) dqkv[v + e] += a * dout[dOut + e]!;
        }
        for (let j = 0; j < T; j++) {
          const ds = cache[att + j]! * (datt[j]! - dsum) * scale; // d(score before scaling)
          if (ds === 0) continue;
          for (let e = 0; e < hs; e++) {
            dq[i * C + h * hs + e] += ds * k[j * C + h * hs + e]!;
            dk[j * C + h * hs + e] += ds * q[i * C + h * hs + e]!;
          }
        }
      }
    }
    for (let t = 0; t < T; t++) {
      const cs = d.rope ? ropeAngles(pos[b * T + t]!, hs, d.ropeBase) : null;
      const row = (b * T + t) * 3 * C;
      for (let h = 0; h < nHead; h++) {
        addUnrotated(dqkv, row + h * hs, dq, t * C + h * hs, cs, hs);
        addUnrotated(dqkv, row + C + h * hs, dk, t * C + h * hs, cs, hs);
      }
    }
  }
};

export const ropeInPlace: Kernels['ropeInPlace'] = (x, pos, n, rowStride, offset, nHead, headSize, ropeBase) => {
  if (headSize % 2 !== 0) throw new Error(`RoPE needs an even headSize, got ${headSize}`);
  const tmp = new Float64Array(headSize);
  for (let r = 0; r < n; r++) {
    const cs = ropeAngles(pos[r]!, headSize, ropeBase);
    for (let h = 0; h < nHead; h++) {
      const o = r * rowStride + offset + h * headSize;
      rotate(tmp, x, o, cs, headSize);
      for (let e = 0; e < headSize; e++) x[o + e] = tmp[e]!;
    }
  }
};

export const attentionDecode: Kernels['attentionDecode'] = (out, q, keys, values, len, nHead, headSize) => {
  const C = nHead * headSize;
  const scale = 1 / Math.sqrt(headSize);
  const p = new Float64Array(len);
  for (let h = 0; h < nHead; h++) {
    let max = -Infinity;
    for (let j = 0; j < len; j++) {
      let s = 0;
      for (let e = 0; e < headSize; e++) s += q[h * headSize + e]! * keys[j * C + h * headSize + e]!;
      p[j] = s * scale;
      if (p[j]! > max) max = p[j]!;
    }
    let sum = 0;
    for (let j = 0; j < len; j++) {
      p[j] = Math.exp(p[j]! - max);
      sum += p[j]!;
    }
    for (let e = 0; e < headSize; e++) {
      let o = 0;
      for (let j = 0; j < len; j++) o += p[j]! * values[j * C + h * headSize + e]!;
      out[h * headSize + e] = len === 0 ? 0 : o / sum;
    }
  }
};
