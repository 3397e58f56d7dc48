// Runs that never lose work (issue 11, docs/reliability.md), on the library: the divergence guard, the --out lock,
// a new run keeping the old log until its first checkpoint, save failures, memory and size checks, the data
// fingerprint, and loading for inference.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CheckpointError, ConfigError, DataError, DivergenceError, ResourceError } from '../../src/index.js';
import { checkArraySizes, trainingMemory } from '../../src/model/memory.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { evaluateCheckpoint } from '../../src/train/evaluate.js';
import { loadModel } from '../../src/train/load.js';
import { firstNonFinite } from '../../src/train/model-state.js';
import { LOCK_FILE, lockOutDir } from '../../src/train/out-dir.js';
import { checkMemory } from '../../src/train/resources.js';
import { readLog, settleLog, stageLog } from '../../src/train/run-log.js';
import { trainStep } from '../../src/train/step.js';
import { train } from '../../src/train/trainer.js';
import { tempDir, tinyRun, tinyTextFile } from './fixtures/tiny-run.js';

const dir = tempDir('mod-reliability-');
const data = tinyTextFile(dir);
const out = (name: string): string => path.join(dir, name);

/** Settings under which the tiny run's loss turns NaN at iteration 20 (after finite evaluations at 5, 10 and 15). */
const DIVERGE = ['--lr=3e4', '--warmupIters=3000', '--lrDecayIters=3000', '--gradClip=0', '--minLr=0', '--maxIters=60', '--evalInterval=5'];

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected a rejection');
}

describe('divergence guard', () => {
  test('a NaN loss stops the run at that iteration with a DivergenceError; the last good checkpoint stays, finite', async () => {
    const notices: string[] = [];
    const saved: number[] = [];
    const e = await rejects(train(tinyRun(data, out('nan'), ...DIVERGE), { onNotice: (m) => notices.push(m), onCheckpoint: (c) => saved.push(c.iteration) }));
    assert.ok(e instanceof DivergenceError, String(e));
    assert.equal(e.iteration, 20);
    assert.match(e.message, /^training diverged at iteration 20: the loss is NaN .*; the checkpoint of iteration 15 in .* is untouched; lower --lr \(now 30000\) or use gradient clipping \(--gradClip=1\)/);
    assert.deepEqual(saved, [5, 10, 15]);
    const ckpt = loadCheckpoint(out('nan'));
    assert.equal(ckpt.meta.iteration, 15);
    assert.equal(firstNonFinite(ckpt.tensors), null);
    assert.equal(firstNonFinite(ckpt.optimizer), null);
    assert.deepEqual(readLog(out('nan')).map((r) => r.iter), [5, 10, 15]);
    assert.ok(Number.isFinite(evaluateCheckpoint(out('nan'), null).loss));
    assert.ok(!existsSync(path.join(out('nan'), LOCK_FILE)), 'the lock is released after the error');
  });

  test('resuming a good run with lr 1e30 does not replace its checkpoint', async () => {
    await train(tinyRun(data, out('good'), '--maxIters=6'));
    const before = readFileSync(path.join(out('good'), 'model.safetensors'));
    const e = await rejects(train({ ...tinyRun(data, out('good'), '--maxIters=12', '--lr=1e30', '--gradClip=0'), resume: true }));
    assert.ok(e instanceof DivergenceError, String(e));
    assert.match(e.message, /the checkpoint of iteration 6 in .* is untouched/);
    assert.ok(readFileSync(path.join(out('good'), 'model.safetensors')).equals(before));
  });

  test('a NaN at the very first evaluation is a DivergenceError, not an internal assertion', async () => {
    const e = await rejects(train(tinyRun(data, out('first'), ...DIVERGE, '--evalInterval=20')));
    assert.ok(e instanceof DivergenceError, String(e));
    assert.match(e.message, /no checkpoint of this run was saved/);
    assert.ok(!existsSync(path.join(out('first'), 'config.json')));
  });

  test('trainStep does not apply a step whose gradient norm is not finite', async () => {
    const r = await train(tinyRun(data, out('step'), '--maxIters=1'));
    const { model } = r;
    const before = firstNonFinite(new Map(model.namedParameters().map(([n, p]) => [n, { data: p.data.slice(), shape: p.shape }])));
    assert.equal(before, null);
    const weights = model.namedParameters().map(([, p]) => p.data.slice());
    const { AdamW } = await import('../../src/train/adamw.js');
    const opt = new AdamW(model.namedParameters(), { lr: 0.01, beta1: 0.9, beta2: 0.99, weightDecay: 0 });
    const T = 16;
    const batch = { x: new Int32Array(4 * T), y: new Int32Array(4 * T), B: 4, T };
    const wte = model.namedParameters().find(([n]) => n === 'transformer.wte.weight')![1];
    wte.data[0] = Number.POSITIVE_INFINITY; // token 0 embeds to infinity: the loss is NaN
    const step = trainStep(model, opt, batch, { lr: 0.01, gradClip: 1 });
    assert.equal(step.applied, false);
    wte.data[0] = weights[model.namedParameters().findIndex(([n]) => n === 'transformer.wte.weight')]![0]!;
    model.namedParameters().forEach(([, p], i) => assert.deepEqual(p.data, weights[i]));
    assert.equal(opt.stepCount, 0);
  });

  test('--skipNonFinite=N skips bad batches with a notice, and still stops when the model itself is broken', async () => {
    const notices: string[] = [];
    const e = await rejects(train({ ...tinyRun(data, out('skip'), ...DIVERGE), skipNonFinite: 3 }, { onNotice: (m) => notices.push(m) }));
    assert.ok(notices.some((m) => /^note: iteration 20: the loss is NaN; batch skipped, weights unchanged \(1 of --skipNonFinite=3\)$/.test(m)), notices.join('\n'));
    assert.ok(e instanceof DivergenceError);
    assert.equal(loadCheckpoint(out('skip')).meta.iteration, 15);
  });
});

describe('--out lock', () => {
  test('a second run into a directory in use gets a ResourceError naming the other pid; the first finishes', async () => {
    const first = train(tinyRun(data, out('locked'), '--maxIters=30', '--evalInterval=30'));
    await new Promise((resolve) => setImmediate(resolve)); // the first run takes the lock before its first yield
    const e = await rejects(train(tinyRun(data, out('locked'), '--maxIters=30'), {}));
    assert.ok(e instanceof ConfigError || e instanceof ResourceError, String(e));
    const r = await first;
    assert.equal(r.iteration, 30);
    assert.ok(!existsSync(path.join(out('locked'), LOCK_FILE)));
  });

  test('the lock names pid and host; a live owner is refused, a dead one is taken over with a notice', () => {
    const d = out('lockfile');
    mkdirSync(d);
    const lock = lockOutDir(d);
    const owner = JSON.parse(readFileSync(path.join(d, LOCK_FILE), 'utf8')) as { pid: number; host: string };
    assert.deepEqual([owner.pid, owner.host], [process.pid, hostname()]);
    assert.throws(() => lockOutDir(d), (e: unknown) => e instanceof ResourceError && new RegExp(`in use by another mod train \\(pid ${process.pid}`).test(e.message));
    lock.release();
    assert.ok(!existsSync(path.join(d, LOCK_FILE)));
    writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: 'then' }));
    const notices: string[] = [];
    const taken = lockOutDir(d, (m) => notices.push(m));
    assert.match(notices.join(), /took over the lock of .* from pid 4206649, which is no longer running/);
    taken.release();
    writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'then' }));
    assert.throws(() => lockOutDir(d), /in use by pid 1 on host elsewhere/);
  });
});

describe('a new run into a used directory', () => {
  test('is refused without --overwrite; with it the old log.jsonl stays until the first checkpoint commits', async () => {
    await train(tinyRun(data, out('reuse'), '--maxIters=6'));
    const oldLog = readFileSync(path.join(out('reuse'), 'log.jsonl'), 'utf8');
    await assert.rejects(train(tinyRun(data, out('reuse'), '--maxIters=6')), /holds a checkpoint: add --resume to continue it, --overwrite to replace it/);
    let logAtFirstStep = '';
    const r = await train({ ...tinyRun(data, out('reuse'), '--maxIters=4', '--evalInterval=2', '--seed=5'), overwrite: true }, {
      onStep: (s) => {
        if (s.iteration === 1) logAtFirstStep = readFileSync(path.join(out('reuse'), 'log.jsonl'), 'utf8');
      },
    });
    assert.equal(logAtFirstStep, oldLog, 'the old history is kept while the new run has no checkpoint');
    assert.equal(r.iteration, 4);
    assert.deepEqual(readLog(out('reuse')).map((x) => x.iter), [2, 4]);
    assert.ok(!existsSync(path.join(out('reuse'), 'log.jsonl.next')));
  });

  test('a kill between the first checkpoint and the log swap is settled at --resume', async () => {
    await train(tinyRun(data, out('settle'), '--maxIters=3'));
    const ckpt = loadCheckpoint(out('settle'));
    const [record] = readLog(out('settle'));
    writeFileSync(path.join(out('settle'), 'log.jsonl'), '{"iter":99,"trainLoss":1,"valLoss":1,"lr":1,"tokensSeen":1,"trainFlops":1,"elapsedMs":1}\n');
    stageLog(out('settle'), [record!]);
    settleLog(out('settle'), ckpt.meta);
    assert.deepEqual(readLog(out('settle')).map((x) => x.iter), [3], 'the staged record belongs to the checkpoint');
    stageLog(out('settle'), [{ ...record!, valLoss: 123 }]);
    settleLog(out('settle'), ckpt.meta);
    assert.deepEqual(readLog(out('settle')).map((x) => x.iter), [3], 'a staged record of a run that never saved is dropped');
    assert.ok(!existsSync(path.join(out('settle'), 'log.jsonl.next')));
  });

  test('--resume with --overwrite is refused', async () => {
    await assert.rejects(train({ ...tinyRun(data, out('both')), resume: true, overwrite: true }), /--resume and --overwrite contradict/);
  });
});

describe('save failures', () => {
  test('a full disk during a save: ResourceError, no .tmp left, the previous checkpoint loads', async () => {
    const r = await train(tinyRun(data, out('full'), '--maxIters=3'));
    const ckpt = loadCheckpoint(out('full'));
    symlinkSync('/dev/full', path.join(out('full'), 'model.safetensors.tmp')); // writes through it fail with ENOSPC
    assert.throws(() => saveCheckpoint(out('full'), { ...ckpt, meta: { ...ckpt.meta, iteration: 4 } }),
      (e: unknown) => e instanceof ResourceError && /cannot save the checkpoint in .*: no space left on device: free some disk space \(ENOSPC\); the previous checkpoint there is intact/.test(e.message));
    assert.deepEqual(readdirSync(out('full')).filter((f) => f.endsWith('.tmp')), []);
    assert.equal(loadCheckpoint(out('full')).meta.iteration, r.iteration);
  });
});

describe('resources', () => {
  test('a config needing more memory than available is refused before allocating, unless forced', () => {
    const run = tinyRun(data, out('mem'));
    const est = trainingMemory(run.model, run.train.batchSize);
    assert.throws(() => checkMemory(est, false, { bytes: est.totalBytes - 1, source: 'test memory' }),
      (e: unknown) => e instanceof ResourceError && /needs about .* more than the .* of test memory: .* or pass --force/.test(e.message));
    checkMemory(est, true, { bytes: 1, source: 'test memory' });
    checkMemory(est, false, { bytes: est.totalBytes, source: 'test memory' });
  });

  test('batchSize 100000 and nEmbd 4096 × 8 layers are refused by train() with one ResourceError', async () => {
    await assert.rejects(train(tinyRun(data, out('big'), '--batchSize=100000', '--blockSize=128')), ResourceError);
    await assert.rejects(train(tinyRun(data, out('big'), '--nEmbd=4096', '--nLayer=8', '--nHead=8', '--batchSize=16', '--blockSize=128')), ResourceError);
    assert.ok(!existsSync(out('big')), 'nothing was created');
  });

  test('tensors longer than any typed array are config errors naming the keys', () => {
    const { model } = tinyRun(data, out('x'));
    assert.throws(() => checkArraySizes({ ...model, nEmbd: 100000, nHead: 100 }, 4), (e: unknown) => e instanceof ConfigError && /3·nEmbd² \(nEmbd=100000\)/.test(e.message));
    assert.throws(() => checkArraySizes(model, 1e9), (e: unknown) => e instanceof ConfigError && /batchSize·blockSize/.test(e.message));
  });
});

describe('data fingerprint', () => {
  test('the checkpoint records path, size and sha256; eval refuses when the text changed or is gone', async () => {
    const d = out('fp');
    const own = path.join(dir, 'fp.txt');
    writeFileSync(own, readFileSync(data));
    await train(tinyRun(own, d, '--maxIters=3'));
    const source = loadCheckpoint(d).config.dataSource!;
    assert.equal(source.path, own);
    assert.equal(source.bytes, readFileSync(own).length);
    const { createHash } = await import('node:crypto');
    assert.equal(source.sha256, createHash('sha256').update(readFileSync(own)).digest('hex'));
    assert.ok(Number.isFinite(evaluateCheckpoint(d, null).loss));
    writeFileSync(own, readFileSync(own, 'utf8').replace('the', 'The'));
    assert.throws(() => evaluateCheckpoint(d, null), (e: unknown) => e instanceof DataError && /changed since .* was trained .* pass --data FILE/.test(e.message));
    assert.ok(Number.isFinite(evaluateCheckpoint(d, own).loss), '--data evaluates the file as it is now');
    unlinkSync(own);
    assert.throws(() => evaluateCheckpoint(d, null), (e: unknown) => e instanceof DataError && /is gone, .* pass --data FILE/.test(e.message));
  });

  test('a checkpoint without a fingerprint (older format) still loads and evaluates', async () => {
    const d = out('old');
    await train(tinyRun(data, d, '--maxIters=3'));
    const file = path.join(d, 'config.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete doc.dataSource;
    writeFileSync(file, JSON.stringify(doc));
    assert.equal(loadCheckpoint(d).config.dataSource, undefined);
    assert.ok(Number.isFinite(evaluateCheckpoint(d, null).loss));
  });
});

describe('loading for inference', () => {
  test('eval and sample need no optimizer.safetensors', async () => {
    const d = out('noopt');
    await train(tinyRun(data, d, '--maxIters=3'));
    unlinkSync(path.join(d, 'optimizer.safetensors'));
    assert.equal(loadModel(d).iteration, 3);
    assert.ok(Number.isFinite(evaluateCheckpoint(d, data).loss));
    assert.throws(() => loadCheckpoint(d), CheckpointError, 'resuming still needs it');
  });

  test('a checkpoint holding NaN weights is refused with a CheckpointError', async () => {
    const d = out('nanckpt');
    await train(tinyRun(data, d, '--maxIters=3'));
    const ckpt = loadCheckpoint(d);
    const [name, t] = [...ckpt.tensors][0]!;
    t.data[0] = Number.NaN;
    saveCheckpoint(d, ckpt);
    assert.throws(() => loadModel(d), (e: unknown) => e instanceof CheckpointError && new RegExp(`tensor ${name.replace(/\./g, '\\.')} holds NaN or infinite values`).test(e.message));
    assert.throws(() => loadModel(''), /checkpoint directory is '' \(empty\)/);
  });
});
