// Training the causal routing rule of a MoD model: the predictor sends no gradient into the model (same seed, the same
// model weights whether it is trained or not), aux does, and log.jsonl records the rule's loss and accuracy.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint, type TensorMap } from '../../src/train/checkpoint.js';
import { readLog } from '../../src/train/run-log.js';
import { reportedTrain, tempDir, tinyRun, tinyTextFile } from './fixtures/tiny-run.js';

const dir = tempDir();
const data = tinyTextFile(dir);
const MOD = ['--nLayer=2', '--mod.capacity=0.25', '--mod.every=2', '--gradClip=0.5', '--maxIters=6'];

async function run(name: string, ...extra: string[]): Promise<TensorMap> {
  const out = path.join(dir, name);
  await reportedTrain(tinyRun(data, out, ...MOD, ...extra));
  return loadCheckpoint(out).tensors;
}

function same(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

test('predictor training leaves the model bit-identical; its own weights move; aux training moves the model', async () => {
  const trained = await run('pred', '--mod.causal=predictor', '--mod.auxWeight=1');
  const untrained = await run('pred0', '--mod.causal=predictor', '--mod.auxWeight=0');
  let model = 0;
  for (const [name, t] of trained) {
    const other = untrained.get(name)!;
    if (name.includes('.predictor.')) assert.ok(!same(t.data, other.data), `${name} is trained`);
    else {
      assert.ok(same(t.data, other.data), `${name}: model weights differ`);
      model++;
    }
  }
  assert.ok(model > 10 && trained.has('transformer.h.1.predictor.fc.weight'));

  const aux = await run('aux', '--mod.causal=aux', '--mod.auxWeight=1');
  const aux0 = await run('aux0', '--mod.causal=aux', '--mod.auxWeight=0');
  assert.ok(!same(aux.get('transformer.h.1.router.weight')!.data, aux0.get('transformer.h.1.router.weight')!.data));
  // The untrained predictor run is the plain MoD model: the same weights as the aux run without its loss.
  for (const [name, t] of aux0) assert.ok(same(t.data, untrained.get(name)!.data), name);
});

test('log.jsonl records the causal rule\'s BCE and per-block accuracy at each evaluation', async () => {
  await run('log', '--mod.causal=predictor');
  const log = readLog(path.join(dir, 'log'));
  assert.deepEqual(log.map((r) => r.iter), [3, 6]);
  for (const r of log) {
    assert.ok(typeof r.causalLoss === 'number' && r.causalLoss > 0 && r.causalLoss < 2, `causalLoss ${r.causalLoss}`);
    assert.equal(r.causalAccuracy!.length, 1);
    assert.ok(r.causalAccuracy![0]! >= 0 && r.causalAccuracy![0]! <= 1);
  }
  const dense = path.join(dir, 'dense');
  await reportedTrain(tinyRun(data, dense, '--maxIters=3'));
  assert.equal(readLog(dense)[0]!.causalLoss, undefined);
});
