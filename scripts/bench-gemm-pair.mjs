// Paired GEMM timing of two addon builds in one process (e.g. an old commit's build/Release/mod_native.node against
// this one): alternating samples per shape, median of the per-pair speed ratios. With `busy`, a busy-loop process runs
// throughout and each round also times B on 1 thread, so each build's N-thread speed over the 1-thread speed is
// printed too. Usage: node scripts/bench-gemm-pair.mjs A.node B.node THREADS [SAMPLES] [SECONDS_PER_SAMPLE] [busy]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
const req = createRequire(import.meta.url);
const [pa, pb, threads, samples = '30', seconds = '0.02', busy] = process.argv.slice(2);
const A = req(path.resolve(pa)), B = req(path.resolve(pb));
A.setThreads(+threads); B.setThreads(+threads);
const shapes = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 256, 1024]];
const med = (x) => { const s = [...x].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const competitor = busy === 'busy' ? spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }) : null;
if (competitor) await new Promise((r) => setTimeout(r, 300));
for (const [m, k, n] of shapes) {
  const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5), b = Float32Array.from({ length: k * n }, () => Math.random() - 0.5), c = new Float32Array(m * n);
  const calls = Math.max(1, Math.round((+seconds * 1e10) / (m * n * k)));
  const time = (X) => { const t0 = process.hrtime.bigint(); for (let i = 0; i < calls; i++) X.matmul(c, a, b, m, n, k, false, false, false); return Number(process.hrtime.bigint() - t0) / 1e9 / calls; };
  const time1 = (X) => { X.setThreads(1); const t = time(X); X.setThreads(+threads); return t; };
  time(A); time(B);
  const r = [], ra = [], rb = [], ga = [], gb = [];
  for (let s = 0; s < +samples; s++) {
    const order = [() => time(A), () => time(B), ...(competitor ? [() => time1(B)] : [])];
    const rot = s % order.length;
    const t = new Array(order.length);
    for (let i = 0; i < order.length; i++) { const j = (i + rot) % order.length; t[j] = order[j](); }
    ga.push(2 * m * n * k / t[0] / 1e9); gb.push(2 * m * n * k / t[1] / 1e9); r.push(t[0] / t[1]);
    if (competitor) { ra.push(t[2] / t[0]); rb.push(t[2] / t[1]); }
  }
  const each = competitor ? `, ${threads}t/1t A ${med(ra).toFixed(3)} B ${med(rb).toFixed(3)}` : '';
  console.log(`${m}x${k}x${n} threads ${threads}: A ${med(ga).toFixed(1)} GFLOP/s, B ${med(gb).toFixed(1)}, B/A speed ${med(r).toFixed(3)} [${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}]${each}`);
}
competitor?.kill();
