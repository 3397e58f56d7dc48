// Benchmarks the elementwise / norm / loss / optimizer kernels: native (2 threads and 1 thread) vs reference,
// median of repeats. Run: npx tsx scripts/bench-elementwise.ts [--quick]
import { nativeBackend, referenceKernels as R, type Kernels } from '../src/kernels/node.js';
import { randArray, randInts } from '../test/helpers.js';

const nb = nativeBackend();
if (typeof nb === 'string') throw new Error(nb);
const N = nb.kernels;
const quick = process.argv.includes('--quick');

/** Median wall time (µs) of one call, timing batches so that tiny calls are measurable. */
function median(fn: () => void, budgetMs: number): number {
  fn();
  const t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-4);
  const batch = Math.max(1, Math.floor(1 / once));
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (times.length < 5 || (performance.now() < end && times.length < 200)) {
    const s = performance.now();
    for (let i = 0; i < batch; i++) fn();
    times.push(((performance.now() - s) * 1000) / batch);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

interface Case {
  name: string;
  run: (k: Kernels) => void;
  skipReference?: boolean;
}

function cases(n: number, c: number): Case[] {
  const x = randArray(n * c, 1, 3);
  const dout = randArray(n * c, 2);
  const out = new Float32Array(n * c);
  const dinp = new Float32Array(n * c);
  const w = randArray(c, 3);
  const b = randArray(c, 4);
  const mean = new Float32Array(n);
  const rstd = new Float32Array(n);
  const dw = new Float32Array(c);
  const db = new Float32Array(c);
  const targets = randInts(n, c, 5);
  const losses = new Float32Array(n);
  const dl = new Float32Array(n).fill(1 / n);
  R.layernormForward(out, mean, rstd, x, w, b, n, c);
  const tag = `N=${n} C=${c}`;
  return [
    { name: `layernormForward ${tag}`, run: (k) => k.layernormForward(out, mean, rstd, x, w, b, n, c) },
    { name: `layernormBackward ${tag}`, run: (k) => k.layernormBackward(dinp, dw, db, dout, x, w, mean, rstd, n, c) },
    { name: `geluForward ${tag}`, run: (k) => k.geluForward(out, x, n * c) },
    { name: `geluBackward ${tag}`, run: (k) => k.geluBackward(dinp, dout, x, n * c) },
    { name: `crossEntropyForward ${tag}`, run: (k) => k.crossEntropyForward(losses, out, x, targets, n, c) },
    { name: `crossEntropyBackward ${tag}`, run: (k) => k.crossEntropyBackward(dinp, dl, out, targets, n, c) },
    { name: `accumulate ${tag}`, run: (k) => k.accumulate(dinp, dout, n * c) },
  ];
}

function adamwCase(n: number): Case {
  const p = randArray(n, 1);
  const g = randArray(n, 2, 0.01);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  return { name: `adamw n=${(n / 1e6).toFixed(1)}M`, run: (k) => k.adamw(p, g, m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.1, 10) };
}

function sumSquaresCase(n: number): Case {
  const x = randArray(n, 1);
  return { name: `sumSquares n=${(n / 1e6).toFixed(1)}M`, run: (k) => void k.sumSquares(x, n) };
}

const all: Case[] = [...cases(2048, 256), ...cases(2048, 1024), adamwCase(3_000_000), sumSquaresCase(3_000_000)];
const budget = quick ? 150 : 600;
const threads = nb.addon.getThreads();
console.log(`native ${nb.addon.getSimd()}, ${threads} threads; medians in µs`);
console.log('kernel'.padEnd(36), 'reference'.padStart(10), `native×${threads}`.padStart(10), 'native×1'.padStart(10), 'ref/nat'.padStart(8));
for (const c of all) {
  const ref = median(() => c.run(R), budget);
  const nat = median(() => c.run(N), budget);
  nb.addon.setThreads(1);
  const nat1 = median(() => c.run(N), budget);
  nb.addon.setThreads(threads);
  console.log(c.name.padEnd(36), ref.toFixed(0).padStart(10), nat.toFixed(1).padStart(10), nat1.toFixed(1).padStart(10), (ref / nat).toFixed(0).padStart(8));
}
