// Paired timing of the attention forward in two addon builds in one process (e.g. an old commit's
// build/Release/mod_native.node against this one), alternating 15 samples of 20 calls per shape; prints the median
// speed ratio. Usage: node scripts/bench-attention-pair.mjs A.node B.node
import { createRequire } from 'node:module';
import path from 'node:path';
const req = createRequire(import.meta.url);
const [pa, pb] = process.argv.slice(2);
const A = req(path.resolve(pa)), B = req(path.resolve(pb));
const med = (x) => { const s = [...x].sort((a, b) => a - b); return s[s.length >> 1]; };
for (const [b, t, nh, hs, threads] of [[1, 1024, 3, 64, 2], [1, 512, 1, 64, 2], [3, 256, 1, 64, 2], [1, 1024, 4, 64, 2], [3, 512, 1, 64, 2], [8, 256, 4, 64, 2]]) {
  A.setThreads(threads); B.setThreads(threads);
  const C = nh * hs, qkv = Float32Array.from({ length: b * t * 3 * C }, () => Math.random() - 0.5);
  const pos = Int32Array.from({ length: b * t }, (_, i) => i % t), out = new Float32Array(b * t * C), cache = new Float32Array(b * nh * t);
  const run = (X) => { const t0 = process.hrtime.bigint(); for (let i = 0; i < 20; i++) X.attentionForward(out, cache, qkv, pos, b, t, nh, hs, true, 10000); return Number(process.hrtime.bigint() - t0) / 20e6; };
  run(A); run(B);
  const r = [], ta = [], tb = [];
  for (let s = 0; s < 15; s++) { const x = run(A), y = run(B); ta.push(x); tb.push(y); r.push(x / y); }
  console.log(`B=${b} T=${t} H=${nh} hs=${hs} threads=${threads}: before ${med(ta).toFixed(3)} ms, now ${med(tb).toFixed(3)} ms, speed now/before ${med(r).toFixed(3)}`);
}
