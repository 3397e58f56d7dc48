// Train a tiny Mixture-of-Depths model for a few steps, sample from it, then load the checkpoint that train() saved
// and check that the loaded model samples the same text. Only the package's own entry point is imported.
//   node examples/tiny-mod.mjs [OUT_DIR]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng, datasetFromText, generate, getPreset, loadModel, train } from 'mixture-of-depths';

const out = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), 'mod-example-'));
const preset = getPreset('brown-mod-small'); // every 2nd block routed, capacity 0.125
const model = { ...preset.model, nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32 };
const data = datasetFromText('the quick brown fox jumps over the lazy dog. '.repeat(200), 'char', model.blockSize);
const trainConfig = { ...preset.train, maxIters: 40, evalInterval: 20, evalIters: 2, batchSize: 8, warmupIters: 4, lrDecayIters: 40, out };

const run = await train({ model, train: trainConfig, overwrite: true }, { data, onEval: (r) => console.log(`iter ${r.iter}: val loss ${r.valLoss.toFixed(3)}`) });
const sample = (m) => run.tokenizer.decode(generate(m, run.tokenizer.encode('the '), { maxNewTokens: 40, temperature: 0.8, rng: new Rng(7) }));
const before = sample(run.model);
console.log(`sample: ${JSON.stringify(before)}`);

const loaded = loadModel(out); // the checkpoint train() saved at its last evaluation
console.log(`loaded ${out} at iteration ${loaded.iteration}: ${loaded.model.numParams()} parameters, routed blocks ${loaded.model.routedBlocks().length}`);
console.log(`the loaded model samples the same text: ${sample(loaded.model) === before}`);
