// `mod train` and `mod eval` through the CLI: output, exit codes, one-line errors, and Ctrl-C on the real process.
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { readLog } from '../../src/train/run-log.js';
import { TINY_ARGS, reportedTrain, tempDir, tinyArgs, tinyRun, tinyTextFile } from '../train/fixtures/tiny-run.js';
import { runCli as run, spawnCli } from './run-cli.js';

const dir = tempDir('mod-cli-');
const data = tinyTextFile(dir);
const out = (name: string): string => path.join(dir, name);

describe('mod train', () => {
  test('prints the config, progress, evaluations and where the checkpoint is', async () => {
    const r = await run('train', ...TINY_ARGS, '--data', data, '--out', out('a'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^preset brown-small\nmodel\n/);
    assert.match(r.stdout, /^iter 1\/6 \| loss \d\.\d{4} \| .*tok\/s \| ETA /m);
    assert.match(r.stdout, /^iter 3: train loss .* val loss /m);
    assert.match(r.stdout, new RegExp(`^checkpoint: ${out('a').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'));
    assert.deepEqual(readLog(out('a')).map((x) => x.iter), [3, 6]);
  });

  test('--resume with another model config: one-line error, exit 2', async () => {
    const r = await run('train', ...tinyArgs('--nEmbd=32'), '--data', data, '--out', out('a'), '--resume');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --resume: the checkpoint in .* has a different model: nEmbd=16 \(this run: 32\); .*\n$/);
    assert.equal(r.stderr.split('\n').length, 2);
  });
});

describe('mod eval', () => {
  test('--json prints exactly {"loss", "tokens"} and nothing else', async () => {
    const r = await run('eval', '--ckpt', out('a'), '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^\{"loss": [\d.e-]+, "tokens": \d+\}\n$/);
    const v = JSON.parse(r.stdout) as Record<string, number>;
    assert.deepEqual(Object.keys(v), ['loss', 'tokens']);
    assert.ok(v.loss! > 0 && v.tokens! > 0 && v.tokens! % 16 === 0);
  });

  test('human output names the checkpoint, the data, loss, tokens and perplexity', async () => {
    const r = await run('eval', '--ckpt', out('a'), '--data', data);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^checkpoint: .* \(brown-small, iteration 6\)$/m);
    assert.match(r.stdout, /^data: .*tiny\.txt \(whole file\)$/m);
    assert.match(r.stdout, /^loss \d\.\d{4} \| [\d,]+ tokens \([\d,]+ windows of 16\) \| perplexity \d+\.\d{3}$/m);
  });

  test('a missing, non-checkpoint or corrupt directory: one-line error, exit 2', async () => {
    const missing = await run('eval', '--ckpt', out('nope'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: .*nope: no such directory; pass the output directory \(--out\) of a training run\n$/);
    const empty = await run('eval', '--ckpt', dir);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^error: .*: not a checkpoint directory \(no config\.json\)/);
    await run('train', ...tinyArgs('--maxIters=3'), '--data', data, '--out', out('corrupt'));
    truncateSync(path.join(out('corrupt'), 'model.safetensors'), 100);
    const corrupt = await run('eval', '--ckpt', out('corrupt'), '--json');
    assert.equal(corrupt.code, 2);
    assert.equal(corrupt.stdout, '');
    assert.match(corrupt.stderr, /^error: .*model\.safetensors: .*the checkpoint is damaged/);
    assert.equal(corrupt.stderr.split('\n').length, 2);
  });
});

// ---------------------------------------------------------------- Ctrl-C on a real process

test('Ctrl-C: finishes the step, saves a checkpoint, exits 130; --resume continues to the same weights as a straight run', async () => {
  const maxIters = 5000; // tiny steps take ~0.3 ms: 1.5 s, far more than the signal's round trip
  const overrides = [`--maxIters=${maxIters}`, `--evalInterval=${maxIters}`, `--lrDecayIters=${maxIters}`];
  const args = ['train', ...tinyArgs(...overrides), '--data', data];
  let sent = false;
  const stopped = await spawnCli([...args, '--out', out('sigint')], { onLine: (line, kill) => {
    if (!sent && line.startsWith('iter 1/')) {
      sent = true;
      kill('SIGINT');
    }
  } });
  assert.ok(sent, `no progress line: ${stopped.stdout}\n${stopped.stderr}`);
  assert.equal(stopped.code, 130, stopped.stderr);
  const m = /^stopped at iteration (\d+)\/5000; checkpoint saved in .*\nto continue, run the same `mod train` command again with --resume added$/m.exec(stopped.stdout);
  assert.ok(m !== null, stopped.stdout);
  assert.match(stopped.stdout, /SIGINT: stopping after this step and saving a checkpoint/);
  const at = Number(m[1]);
  assert.ok(at >= 1 && at < maxIters, `stopped at ${at}`);
  assert.equal(loadCheckpoint(out('sigint')).meta.iteration, at);

  const resumed = await spawnCli([...args, '--out', out('sigint'), '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`from iteration ${at} to ${maxIters}`));
  const a = loadCheckpoint(out('sigint'));
  assert.equal(a.meta.iteration, maxIters);

  await reportedTrain(tinyRun(data, out('sigint-straight'), ...overrides));
  const b = loadCheckpoint(out('sigint-straight'));
  for (const [name, t] of b.tensors) assert.deepEqual(a.tensors.get(name)!.data, t.data, name);
  assert.deepEqual(readLog(out('sigint')).map(({ elapsedMs: _, ...r }) => r), readLog(out('sigint-straight')).map(({ elapsedMs: _, ...r }) => r));
});

test('SIGTERM: the same graceful stop, exit 143', async () => {
  let sent = false;
  const r = await spawnCli(['train', ...tinyArgs('--maxIters=5000', '--evalInterval=5000'), '--data', data, '--out', out('sigterm')], { onLine: (line, kill) => {
    if (!sent && line.startsWith('iter 1/')) {
      sent = true;
      kill('SIGTERM');
    }
  } });
  assert.equal(r.code, 143, r.stderr);
  const m = /^stopped at iteration (\d+)\/5000; checkpoint saved/m.exec(r.stdout);
  assert.ok(m !== null, r.stdout);
  assert.equal(loadCheckpoint(out('sigterm')).meta.iteration, Number(m[1]));
});
