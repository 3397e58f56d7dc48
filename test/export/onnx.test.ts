// ONNX export checked in onnxruntime-web (WASM backend, in Node): for the same tokens its logits match `mod`'s
// within 1e-4 for dense and Mixture-of-Depths models (top-k and causal routing, learned and RoPE positions); under
// random routing the scores are an input, and with the scores ours drew the logits match too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { ConfigError } from '../../src/errors.js';
import { exportOnnx } from '../../src/export/onnx.js';
import { randInts } from '../helpers.js';
import { tinyConfig } from '../sample/fixtures.js';
import { CASES, checkpointOf, maxAbsDiff, randomRoutingConfig, randomRoutingReference, referenceLogits, tempDir } from './fixtures.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const root = tempDir();
const [B, T] = [2, 16];

async function runOnnx(file: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  try {
    const out = await session.run(feeds);
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const idsTensor = (ids: Int32Array, b: number, t: number): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [b, t]);

CASES.forEach((c, i) => {
  test(`onnxruntime matches mod within 1e-4: ${c.name}`, async (t) => {
    const dir = checkpointOf(root, c.name, c.config, 100 + i);
    const file = path.join(dir, 'model.onnx');
    const ids = randInts(B * T, c.config.vocabSize, 200 + i);
    const ours = referenceLogits(dir, ids, B, T, c.routing);
    const summary = exportOnnx(dir, file, { routing: c.routing, causalBias: ours.causalBias });
    const theirs = await runOnnx(file, { input_ids: idsTensor(ids, B, T) });
    const diff = maxAbsDiff(ours.logits, theirs);
    t.diagnostic(`max abs diff ${diff.toExponential(2)} (${summary.bytes} bytes, routed blocks ${summary.routedBlocks}, k ${summary.k}, processed ${ours.processed.join('/')} of ${B * T})`);
    assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    // Routing must matter for the comparison to mean anything: each routed block skips some tokens and processes
    // others, and the other routing gives clearly different logits.
    for (const n of ours.processed) assert.ok(n > 0 && n < B * T, `a routed block processed ${n} of ${B * T} tokens`);
    if (c.config.mod) assert.ok(maxAbsDiff(ours.logits, referenceLogits(dir, ids, B, T, c.routing === 'topk' ? 'causal' : 'topk').logits) > 1e-2);
  });
});

test('the graph is opset 17 with static T, symbolic batch, and the weights under their checkpoint names', () => {
  const c = CASES[2]!;
  const dir = checkpointOf(root, 'proto', c.config, 7);
  const file = path.join(dir, 'model.onnx');
  exportOnnx(dir, file, { seq: 8 });
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(file));
  assert.deepEqual(model.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
  const graph = model.graph!;
  const dims = (v: onnxProto.onnx.IValueInfoProto): Array<string | number> => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(graph.input!.map((v) => [v.name, dims(v)]), [['input_ids', ['batch', 8]]]);
  assert.deepEqual(graph.output!.map((v) => [v.name, dims(v)]), [['logits', ['batch', 8, 256]]]);
  const inits = new Set(graph.initializer!.map((x) => x.name));
  for (const n of ['transformer.wte.weight', 'transformer.h.1.router.weight', 'transformer.h.3.attn.c_attn.weight']) assert.ok(inits.has(n), n);
  const ops = new Set(graph.node!.map((n) => n.opType));
  for (const op of ['TopK', 'GatherElements', 'ScatterElements', 'LayerNormalization', 'Softmax']) assert.ok(ops.has(op), op);
});

test('random routing: the scores are an input; with the scores ours drew, the logits match', async (t) => {
  const dir = checkpointOf(root, 'random', randomRoutingConfig(), 9);
  const file = path.join(dir, 'model.onnx');
  const summary = exportOnnx(dir, file);
  assert.deepEqual(summary.inputs.map((v) => [v.name, v.shape]), [['input_ids', ['batch', T]], ['routing_scores', ['batch', 2, T]]]);
  const ids = randInts(B * T, 256, 300);
  const ours = randomRoutingReference(dir, ids, B, T);
  const theirs = await runOnnx(file, { input_ids: idsTensor(ids, B, T), routing_scores: new ort.Tensor('float32', ours.scores, [B, 2, T]) });
  const diff = maxAbsDiff(ours.logits, theirs);
  t.diagnostic(`max abs diff ${diff.toExponential(2)}`);
  assert.ok(diff < 1e-4, `max abs diff ${diff}`);
});

test('--seq outside 1..blockSize is a ConfigError naming the limit', () => {
  const dir = checkpointOf(root, 'seq', tinyConfig(), 11);
  assert.throws(() => exportOnnx(dir, path.join(dir, 'x.onnx'), { seq: 17 }), (e: unknown) => e instanceof ConfigError && /--seq 17 is outside 1\.\.16/.test(e.message));
});
