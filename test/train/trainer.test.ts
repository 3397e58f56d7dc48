// The trainer on tiny runs: log.jsonl records and checkpoints, exact resume, gradient accumulation, flat memory,
// and resume errors.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, mock, test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { evalBatches, loadDataset, tokenizerFromJSON } from '../../src/data/index.js';
import { graphStats, noGrad, releaseGraph } from '../../src/engine/autograd.js';
import { ConfigError } from '../../src/errors.js';
import { trainingFlops } from '../../src/model/flops.js';
import { loadCheckpoint, type TensorMap } from '../../src/train/checkpoint.js';
import { modelFromTensors } from '../../src/train/model-files.js';
import { readLog, type LogRecord } from '../../src/train/run-log.js';
import { learningRate } from '../../src/train/schedule.js';
import { EVAL_SEED } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { reportedTrain, tempDir, tinyRun, tinyText, tinyTextFile } from './fixtures/tiny-run.js';

const dir = tempDir();
const data = tinyTextFile(dir);
const out = (name: string): string => path.join(dir, name);

async function trainQuietly(...args: Parameters<typeof tinyRun>): Promise<{ stdout: string; result: Awaited<ReturnType<typeof reportedTrain>> }> {
  const io = captureIo();
  const result = await reportedTrain(tinyRun(...args), io);
  return { stdout: io.stdout, result };
}

function withoutTime(records: LogRecord[]): Array<Omit<LogRecord, 'elapsedMs'>> {
  return records.map(({ elapsedMs: _, ...r }) => r);
}

function assertSameTensors(a: TensorMap, b: TensorMap, what: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()], `${what}: names`);
  for (const [name, t] of a) {
    assert.deepEqual(t.shape, b.get(name)!.shape, `${what} ${name}: shape`);
    assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.get(name)!.data.buffer, b.get(name)!.data.byteOffset, b.get(name)!.data.byteLength)), `${what} ${name}: values differ`);
  }
}

describe('a tiny run', () => {
  test('writes one log record per evaluation (every evalInterval and at the end) with the right fields', async () => {
    const { stdout, result } = await trainQuietly(data, out('log'), '--maxIters=5', '--evalInterval=2', '--gradAccumSteps=2');
    assert.equal(result.aborted, false);
    assert.equal(result.iteration, 5);
    const log = readLog(out('log'));
    assert.deepEqual(log.map((r) => r.iter), [2, 4, 5]);
    const run = tinyRun(data, out('log'));
    const ckpt = loadCheckpoint(out('log'));
    const perToken = trainingFlops(ckpt.config.model).perToken;
    for (const r of log) {
      assert.deepEqual(Object.keys(r).sort(), ['elapsedMs', 'iter', 'lr', 'tokensSeen', 'trainFlops', 'trainLoss', 'valLoss']);
      assert.equal(r.tokensSeen, r.iter * 2 * 4 * 16);
      assert.equal(r.trainFlops, perToken * r.tokensSeen);
      assert.equal(r.lr, learningRate(run.train, r.iter - 1));
      assert.ok(r.trainLoss > 0 && r.valLoss > 0 && r.elapsedMs > 0);
    }
    assert.ok(log[0]!.elapsedMs <= log[2]!.elapsedMs);
    assert.match(stdout, /iter 2: train loss \d\.\d{4}, val loss \d\.\d{4}/);
    assert.match(stdout, /^done: iteration 5, /m);
    assert.match(stdout, /npx mod sample --ckpt /);
    assert.equal(result.last?.valLoss, log[2]!.valLoss);
  });

  test('the checkpoint loads, holds the vocab of the tokenizer, and its val loss is the fixed eval set\'s', () => {
    const ckpt = loadCheckpoint(out('log'));
    assert.equal(ckpt.meta.iteration, 5);
    assert.equal(ckpt.meta.optimizerStep, 5);
    assert.equal(ckpt.meta.tokensSeen, 5 * 2 * 4 * 16);
    assert.ok((ckpt.meta.elapsedMs ?? 0) > 0);
    const tokenizer = tokenizerFromJSON(ckpt.config.tokenizer);
    assert.equal(ckpt.config.model.vocabSize, tokenizer.vocabSize);
    assert.equal(tokenizer.vocabSize, new Set(tinyText()).size);
    // Recompute the last val loss from the saved weights on the same fixed batches.
    const { model } = modelFromTensors(ckpt.config, ckpt.tensors, 'test');
    const d = loadDataset({ data, tokenizer, blockSize: 16 });
    const batches = evalBatches(d.val, 2, 4, 16, EVAL_SEED.val);
    const loss = batches.reduce((s, b) => s + noGrad(() => model.forward(b.x, 4, 16, b.y).loss!.item()), 0) / batches.length;
    releaseGraph();
    const log = readLog(out('log'));
    assert.equal(loss, log[log.length - 1]!.valLoss);
    assert.equal(ckpt.meta.bestValLoss, Math.min(...log.map((r) => r.valLoss)));
  });
});

describe('resume', () => {
  test('3 steps + resume 3 steps is bit-identical to 6 steps straight', async () => {
    const extra = ['--gradAccumSteps=2', '--gradClip=0.5'];
    await trainQuietly(data, out('straight'), ...extra);
    await trainQuietly(data, out('split'), ...extra, '--maxIters=3');
    assert.equal(loadCheckpoint(out('split')).meta.iteration, 3);
    const io = captureIo();
    const r = await reportedTrain({ ...tinyRun(data, out('split'), ...extra), resume: true }, io);
    assert.equal(r.iteration, 6);
    assert.match(io.stdout, /note: resuming with changed train settings: maxIters 3 → 6/);
    assert.match(io.stdout, /from iteration 3 to 6/);

    assert.deepEqual(withoutTime(readLog(out('split'))), withoutTime(readLog(out('straight'))));
    const a = loadCheckpoint(out('straight'));
    const b = loadCheckpoint(out('split'));
    assertSameTensors(b.tensors, a.tensors, 'weights');
    assertSameTensors(b.optimizer, a.optimizer, 'optimizer');
    assert.deepEqual(b.meta.rng, a.meta.rng);
    assert.equal(b.meta.tokensSeen, a.meta.tokensSeen);
    assert.equal(b.meta.bestValLoss, a.meta.bestValLoss);
    // Elapsed time continues from the checkpoint's.
    const [r3, r6] = readLog(out('split'));
    assert.ok(r6!.elapsedMs > r3!.elapsedMs, `elapsed ${r3!.elapsedMs} then ${r6!.elapsedMs}`);
  });

  test('a log record ahead of the checkpoint (kill between log and save) is dropped on resume', async () => {
    await trainQuietly(data, out('ahead'), '--maxIters=3');
    const log = readFileSync(path.join(out('ahead'), 'log.jsonl'), 'utf8');
    writeFileSync(path.join(out('ahead'), 'log.jsonl'), log + '{"iter":99,"trainLoss":1}\n{"iter":');
    await reportedTrain({ ...tinyRun(data, out('ahead'), '--maxIters=6'), resume: true });
    assert.deepEqual(readLog(out('ahead')).map((r) => r.iter), [3, 6]);
  });

  test('a different model config is a clear ConfigError naming the keys', async () => {
    await assert.rejects(
      reportedTrain({ ...tinyRun(data, out('straight'), '--nEmbd=32', '--nLayer=2'), resume: true }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^--resume: the checkpoint in .* has a different model: nLayer=1 \(this run: 2\), nEmbd=16 \(this run: 32\); /);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      },
    );
  });

  test('a different tokenizer, or no checkpoint at all, is a clean error', async () => {
    await assert.rejects(reportedTrain({ ...tinyRun(data, out('straight'), '--tokenizer=byte'), resume: true }),
      /uses the char tokenizer, this run tokenizer=byte/);
    await assert.rejects(reportedTrain({ ...tinyRun(data, out('none')), resume: true }), /no such directory/);
  });

  test('a checkpoint already at maxIters: nothing to train', async () => {
    const io = captureIo();
    const r = await reportedTrain({ ...tinyRun(data, out('straight')), resume: true }, io);
    assert.equal(r.iteration, 6);
    assert.match(io.stdout, /already at iteration 6 >= maxIters=6: nothing to train/);
    assert.equal(readLog(out('straight')).length, 2);
  });

  test('a new run into a used directory (--overwrite) starts a fresh log', async () => {
    const io = captureIo();
    await reportedTrain({ ...tinyRun(data, out('straight'), '--maxIters=3'), overwrite: true }, io);
    assert.match(io.stdout, /holds a checkpoint; this new run replaces it/);
    assert.deepEqual(readLog(out('straight')).map((r) => r.iter), [3]);
    assert.equal(loadCheckpoint(out('straight')).meta.iteration, 3);
  });
});

test('gradient accumulation: 2 micro-batches of 2 rows step like 1 batch of the same 4 rows', async () => {
  // randomBatch draws one offset per row from the batch Rng, so both runs see the same rows in the same order.
  await trainQuietly(data, out('acc2'), '--batchSize=2', '--gradAccumSteps=2', '--maxIters=2', '--evalInterval=2');
  await trainQuietly(data, out('acc1'), '--batchSize=4', '--gradAccumSteps=1', '--maxIters=2', '--evalInterval=2');
  const a = loadCheckpoint(out('acc2'));
  const b = loadCheckpoint(out('acc1'));
  assert.equal(a.meta.tokensSeen, b.meta.tokensSeen);
  for (const [name, t] of a.tensors) assertClose(t.data, b.tensors.get(name)!.data, 1e-3, 1e-5, name);
});

test('memory is flat across steps between evaluations', async () => {
  const created: number[] = [];
  await reportedTrain(tinyRun(data, out('mem'), '--maxIters=12', '--evalInterval=100'), captureIo(), {
    onStep: () => created.push(graphStats().pool.created),
  });
  assert.equal(created.length, 12);
  assert.equal(created[11], created[2], `pool buffers created per step: ${created.join(', ')}`);
  assert.equal(graphStats().nodes, 0);
});

test('as a library: token arrays in, callbacks out, an AbortSignal stops after the step with a checkpoint, nothing printed', async () => {
  const { train } = await import('../../src/train/trainer.js');
  const { datasetFromText } = await import('../../src/data/dataset.js');
  const { tokenizer, train: tokens, val } = datasetFromText(tinyText(), 'char', 16);
  const controller = new AbortController();
  const events: string[] = [];
  const written: string[] = [];
  // Text written to stdout or stderr is recorded; the test runner's own (binary) reports pass through.
  const capture = (stream: NodeJS.WriteStream) => {
    const original = stream.write.bind(stream);
    return (chunk: string | Uint8Array, ...rest: never[]): boolean => (typeof chunk === 'string' ? written.push(chunk) > 0 : original(chunk, ...rest));
  };
  const spies = [mock.method(process.stdout, 'write', capture(process.stdout)), mock.method(process.stderr, 'write', capture(process.stderr))];
  let result;
  try {
    result = await train(tinyRun(data, out('lib'), '--maxIters=10', '--evalInterval=4'), {
      data: { tokenizer, train: tokens, val },
      signal: controller.signal,
      onStart: (s) => events.push(`start ${s.iteration} ${s.data.source ?? 'arrays'}`),
      onStep: (s) => {
        events.push(`step ${s.iteration}`);
        assert.ok(Number.isFinite(s.loss) && s.gradNorms.length === 1 && s.gradNorms[0]! > 0);
        if (s.iteration === 6) controller.abort();
      },
      onEval: (r) => events.push(`eval ${r.iter}`),
      onCheckpoint: (c) => events.push(`checkpoint ${c.iteration}`),
    });
  } finally {
    for (const spy of spies) spy.mock.restore();
  }
  assert.deepEqual(written, [], 'the trainer printed');
  assert.deepEqual(events, ['start 0 arrays', 'step 1', 'step 2', 'step 3', 'step 4', 'checkpoint 4', 'eval 4', 'step 5', 'step 6', 'checkpoint 6']);
  assert.equal(result.aborted, true);
  assert.equal(result.iteration, 6);
  assert.equal(loadCheckpoint(out('lib')).meta.iteration, 6);
  assert.equal(result.tokenizer, tokenizer);
  assert.ok(result.model.numParams() > 0);
});
