// ms per training step of a source tree (its dist/), the step of the benchmark before issue 12: zeroGrad, forward,
// backward, AdamW, no clipping; d 256, 8 layers, T 256, B 8. Usage: node scripts/bench-step-tree.mjs TREE [REPEATS]; run
// two trees alternately to compare them.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = pathToFileURL(path.resolve(process.argv[2] ?? '.')).href;
const reps = +(process.argv[3] ?? 8);
const imp = (p) => import(`${root}/dist/src/${p}`);
if ((await import('node:fs')).existsSync(new URL(`${root}/dist/src/kernels/node.js`))) await imp('kernels/node.js');
const { backward, releaseGraph, zeroGrad } = await imp('engine/autograd.js');
const { GPT } = await imp('model/gpt.js');
const { AdamW } = await imp('train/adamw.js');
const { Rng } = await imp('engine/rng.js');
const { backendInfo } = await imp('kernels/index.js');
const b = 8, t = 256;
const dense = { vocabSize: 256, blockSize: t, nLayer: 8, nHead: 4, nEmbd: 256, mlpRatio: 4, bias: false, tiedEmbeddings: true, positions: 'learned' };
const rng = new Rng(7);
const ids = Int32Array.from({ length: b * t }, () => rng.int(256)), tg = Int32Array.from({ length: b * t }, () => rng.int(256));
const model = new GPT(dense, new Rng(1));
const opt = new AdamW(model.namedParameters(), { lr: 1e-4 });
const params = model.parameters();
const times = [];
for (let i = 0; i < reps + 2; i++) {
  const t0 = performance.now();
  zeroGrad(params);
  const { loss } = model.forward(ids, b, t, tg);
  backward(loss);
  opt.step();
  releaseGraph();
  if (i >= 2) times.push(performance.now() - t0);
}
times.sort((x, y) => x - y);
console.log(JSON.stringify({ ms: times[times.length >> 1], backend: backendInfo() }));
