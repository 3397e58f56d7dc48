// GEMM benchmark: C (M,N) = A (M,K) · B (K,N), no transposes, on the active backend (the native addon when it
// loads). Each shape: one warm-up call, a calibration that picks enough calls per sample for ~20 ms (0.2 s beside a `--busy` competitor), then the
// median GFLOP/s over `repeats` samples. Compare with numpy via scripts/bench-numpy-gemm.py (same shapes).
import { activeThreads, kernels } from '../kernels/node.js';
import { Rng } from '../engine/rng.js';
import { median } from './stats.js';

export interface GemmBenchRow {
  m: number;
  k: number;
  n: number;
  gflops: number;
  threads: number;
}

/** [M, K, N]: square 256, 512, 1024, and the tall-skinny product of a d=256 MLP on 2048 tokens. */
export const defaultGemmSizes: Array<[number, number, number]> = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [2048, 256, 1024],
];

/** Seconds per sample; beside a competitor (`--busy`) 0.2 s, so that a sample spans many scheduler time slices. */
const sampleSeconds = 0.02;
export const busySampleSeconds = 0.2;


function seconds(fn: () => void, calls: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Median seconds per call of fn over `repeats` samples of about `sample` seconds each. */
function timePerCall(fn: () => void, repeats: number, sample: number): number {
  fn();
  const once = Math.max(seconds(fn, 1), 1e-7);
  const calls = Math.max(1, Math.ceil(sample / once));
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) samples.push(seconds(fn, calls) / calls);
  return median(samples);
}

export function runGemmBench(opts: { repeats?: number; sizes?: Array<[number, number, number]>; sampleSeconds?: number } = {}): GemmBenchRow[] {
  const repeats = opts.repeats ?? 7;
  const k = kernels();
  const threads = activeThreads();
  const rng = new Rng(42);
  return (opts.sizes ?? defaultGemmSizes).map(([m, kk, n]) => {
    const a = rng.fillNormal(new Float32Array(m * kk), 1);
    const b = rng.fillNormal(new Float32Array(kk * n), 1);
    const c = new Float32Array(m * n);
    const t = timePerCall(() => k.matmul(c, a, b, m, n, kk, false, false, false), repeats, opts.sampleSeconds ?? sampleSeconds);
    return { m, k: kk, n, gflops: (2 * m * n * kk) / t / 1e9, threads };
  });
}
