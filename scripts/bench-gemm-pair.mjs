// Paired GEMM timing of two addon builds in one process (e.g. an old commit's build/Release/mod_native.node against
// this one): alternating samples per shape, median of the per-pair speed ratios. Usage: node scripts/bench-gemm-pair.mjs
// A.node B.node THREADS [SAMPLES]
import { createRequire } from 'node:module';
const req = createRequire(import.meta.url);
const [pa, pb, threads, samples = '30'] = process.argv.slice(2);
const A = req(pa), B = req(pb);
A.setThreads(+threads); B.setThreads(+threads);
const shapes = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 256, 1024]];
const med = (x) => { const s = [...x].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const [m, k, n] of shapes) {
  const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5), b = Float32Array.from({ length: k * n }, () => Math.random() - 0.5), c = new Float32Array(m * n);
  const calls = Math.max(1, Math.round(2e8 / (m * n * k)));
  const time = (X) => { const t0 = process.hrtime.bigint(); for (let i = 0; i < calls; i++) X.matmul(c, a, b, m, n, k, false, false, false); return Number(process.hrtime.bigint() - t0) / 1e9 / calls; };
  time(A); time(B);
  const ga = [], gb = [], r = [];
  for (let s = 0; s < +samples; s++) {
    const [ta, tb] = s % 2 ? [time(A), time(B)] : [(() => { const x = time(B); return [time(A), x]; })()].flat();
    ga.push(2 * m * n * k / ta / 1e9); gb.push(2 * m * n * k / tb / 1e9); r.push(ta / tb);
  }
  console.log(`${m}x${k}x${n} threads ${threads}: A ${med(ga).toFixed(1)} GFLOP/s, B ${med(gb).toFixed(1)}, B/A speed ${med(r).toFixed(3)} [${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}]`);
}
