// Our half of the parity check (a dev tool; see run.sh): loads the PyTorch model's initial weights, trains on the
// batches it drew with our engine, AdamW, clipping and schedule, and compares the losses step by step.
import { readFileSync } from 'node:fs';
import { AdamW, GPT, Rng, learningRate, trainStep, type ScheduleConfig } from 'mixture-of-depths';
const meta = JSON.parse(readFileSync('meta.json', 'utf8')) as { names: Record<string, number[]>; losses: number[] };
const cfg = { vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, mlpRatio: 4, bias: false, tiedEmbeddings: true, positions: 'learned' as const };
const model = new GPT(cfg, new Rng(0));
const map = (n: string): string => n.replace(/^wte/, 'transformer.wte').replace(/^wpe/, 'transformer.wpe').replace(/^ln_f/, 'transformer.ln_f')
  .replace(/^h\.(\d+)\.c_attn/, 'transformer.h.$1.attn.c_attn').replace(/^h\.(\d+)\.c_proj/, 'transformer.h.$1.attn.c_proj')
  .replace(/^h\.(\d+)\.c_fc/, 'transformer.h.$1.mlp.c_fc').replace(/^h\.(\d+)\.m_proj/, 'transformer.h.$1.mlp.c_proj').replace(/^h\.(\d+)\.ln_/, 'transformer.h.$1.ln_');
const raw = (f: string) => { const b = readFileSync(f); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };
const params = new Map(model.namedParameters());
for (const n of Object.keys(meta.names)) params.get(map(n))!.data.set(new Float32Array(raw(`w_${n}.bin`)));
const bx = new Int32Array(raw('bx.bin')); const by = new Int32Array(raw('by.bin'));
const opt = new AdamW(model.namedParameters(), { lr: 1e-3, beta1: 0.9, beta2: 0.99, weightDecay: 0.1 });
const sched: ScheduleConfig = { lr: 1e-3, minLr: 1e-4, warmupIters: 100, lrDecayIters: 2000, lrSchedule: 'cosine' };
const out: number[] = [];
for (let it = 0; it < meta.losses.length; it++) {
  const batch = { x: bx.subarray(it * 768, (it + 1) * 768), y: by.subarray(it * 768, (it + 1) * 768), B: 12, T: 64 };
  out.push(trainStep(model, opt, batch, { lr: learningRate(sched, it), gradClip: 1.0 }).loss);
}
let worst = 0;
for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - meta.losses[i]!));
for (const i of [0, 1, 10, 100, 200, out.length - 1]) console.log(`step ${i}: ours ${out[i]!.toFixed(6)} torch ${meta.losses[i]!.toFixed(6)}`);
console.log(`max |loss difference| over ${out.length} steps: ${worst.toExponential(2)}`);
