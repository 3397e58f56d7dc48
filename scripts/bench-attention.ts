// Attention kernel timings, native vs reference, at the benchmark-block and tiny-GPT shapes.
// Usage: npx tsx scripts/bench-attention.ts [repeats=30]   (prints medians in ms)
import { referenceKernels, nativeBackend, type AttentionDims, type Kernels } from '../src/kernels/node.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, repeats: number): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

function bench(k: Kernels, d: AttentionDims, repeats: number): { fwd: number; bwd: number } {
  const C = d.nHead * d.headSize;
  const qkv = Float32Array.from({ length: d.b * d.t * 3 * C }, () => Math.random() * 2 - 1);
  const dout = Float32Array.from({ length: d.b * d.t * C }, () => Math.random() * 2 - 1);
  const pos = Int32Array.from({ length: d.b * d.t }, (_, i) => i % d.t);
  const out = new Float32Array(d.b * d.t * C);
  const cache = new Float32Array(k.attentionCacheSize(d));
  const dqkv = new Float32Array(qkv.length);
  const fwd = time(() => k.attentionForward(out, cache, qkv, pos, d), repeats);
  const bwd = time(() => k.attentionBackward(dqkv, dout, cache, qkv, pos, d), repeats);
  return { fwd, bwd };
}

const repeats = Number(process.argv[2] ?? 30);
const n = nativeBackend();
if (typeof n === 'string') throw new Error(n);
const shapes: Array<[string, AttentionDims]> = [
  ['block B8 T256 H4 hs64', { b: 8, t: 256, nHead: 4, headSize: 64, rope: true, ropeBase: 10000 }],
  ['tiny  B12 T64 H4 hs32', { b: 12, t: 64, nHead: 4, headSize: 32, rope: true, ropeBase: 10000 }],
];
for (const [name, d] of shapes) {
  const ref = bench(referenceKernels, d, Math.max(3, Math.floor(repeats / 10)));
  const levels = n.addon.getSimdDetected() === 'avx512' ? (['avx512', 'avx2', 'scalar'] as const) : (['avx2', 'scalar'] as const);
  for (const level of levels) {
    n.addon.setSimd(level);
    const nat = bench(n.kernels, d, repeats);
    const f = (x: number): string => x.toFixed(2).padStart(8);
    console.log(
      `${name} ${level.padEnd(6)} native fwd ${f(nat.fwd)} bwd ${f(nat.bwd)} ms | reference fwd ${f(ref.fwd)} bwd ${f(ref.bwd)} ms | ` +
        `speed-up x${((ref.fwd + ref.bwd) / (nat.fwd + nat.bwd)).toFixed(0)}`,
    );
  }
  n.addon.setSimd('avx512');
}
