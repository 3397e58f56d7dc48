// Issue 11 through the command line: every failure is one line on stderr (exit 2 for the user's, 1 for a bug),
// two `mod train` processes into one --out, and the divergence guard under SIGKILL.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseSimd, parseThreads } from '../../src/kernels/node.js';
import { ConfigError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { firstNonFinite } from '../../src/train/model-state.js';
import { LOCK_FILE } from '../../src/train/out-dir.js';
import { readLog } from '../../src/train/run-log.js';
import { tempDir, tinyArgs, tinyTextFile } from '../train/fixtures/tiny-run.js';
import { main } from '../../src/cli/main.js';
import { type Exit, runCli as run, spawnCli } from './run-cli.js';

const dir = tempDir('mod-rel-cli-');
const data = tinyTextFile(dir);
const out = (name: string): string => path.join(dir, name);

/** Asserts exit 2 and exactly one `error: ...` line on stderr matching `re`. */
function assertOneLine(r: { code: number; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: [^\n]*\n$/);
  assert.match(r.stderr, re);
}

/** The divergence repro, on the tiny text (NaN at iteration 20). */
const DIVERGE = tinyArgs('--lr=3e4', '--warmupIters=3000', '--lrDecayIters=3000', '--gradClip=0', '--minLr=0', '--maxIters=60', '--evalInterval=5');

describe('one-line errors (issue 11, case 4 and 9)', () => {
  test('divergence: exit 2, one line naming the iteration and the fix', async () => {
    const r = await run('train', ...DIVERGE, '--data', data, '--out', out('div'));
    assertOneLine(r, /^error: training diverged at iteration 20: the loss is NaN .* lower --lr \(now 30000\) or use gradient clipping/);
    const e = await run('eval', '--ckpt', out('div'), '--json');
    assert.equal(e.code, 0, e.stderr);
    assert.ok(Number.isFinite((JSON.parse(e.stdout) as { loss: number }).loss));
  });

  test('--out is an existing file', async () => {
    writeFileSync(out('a-file'), 'x');
    assertOneLine(await run('train', ...tinyArgs(), '--data', data, '--out', out('a-file')), /a-file is a file, not a directory/);
  });

  test('--out=/proc/foo fails at once instead of spinning', async () => {
    assertOneLine(await run('train', ...tinyArgs(), '--data', data, '--out', '/proc/foo'), /cannot create the directory \/proc\/foo \(ENOENT\)/);
  });

  test('--nEmbd=100000 and --batchSize=1e9 are config errors, not RangeErrors', async () => {
    assertOneLine(await run('train', ...tinyArgs('--nEmbd=100000', '--nHead=100'), '--data', data, '--out', out('r')), /3·nEmbd² \(nEmbd=100000\) = 3\.00e\+10 numbers in one tensor/);
    assertOneLine(await run('train', ...tinyArgs('--batchSize=1e9'), '--data', data, '--out', out('r')), /batchSize·blockSize.* more than the largest array/);
    assertOneLine(await run('info', '--nEmbd=100000', '--nHead=100'), /more than the largest array/);
  });

  test('a data file over 2 GiB (sparse) gets a clear error, not ERR_FS_FILE_TOO_LARGE', async () => {
    const big = out('big.txt');
    writeFileSync(big, '');
    truncateSync(big, 2 ** 31 + 10); // sparse: no disk used
    assertOneLine(await run('train', ...tinyArgs(), '--data', big, '--out', out('r')), /big\.txt holds 2 GiB of text, more than mod can hold in memory as one text \(512 MiB/);
  });

  test('duplicate keys, 1e400 and a MoD config without a routed block', async () => {
    assertOneLine(await run('train', '--lr=1e-3', '--lr=2e-3'), /^error: --lr is given twice \('1e-3' and '2e-3'\): give it once$/m);
    assertOneLine(await run('info', '--nLayer=1e400'), /^error: nLayer=1e400 is too large for a number/);
    assertOneLine(await run('compare', '--budget=1e400'), /^error: --budget=1e400 is too large for a number/);
    assertOneLine(await run('info', '--preset=brown-mod-small', '--nLayer=1'), /mod\.every=2 with nLayer=1 routes no block/);
    assertOneLine(await run('compare', '--budget=1e9', '--nLayer=1', '--tokenizer=char', '--blockSize=16', '--data', data, '--out', out('cmp'), '--runs', out('cmp-runs')), /routes no block/);
  });

  test('sample: an empty --ckpt, NaN weights; MOD_BACKEND, MOD_THREADS and MOD_SIMD values', async () => {
    assertOneLine(await run('sample', '--ckpt', ''), /^error: --ckpt='' is empty: give a checkpoint directory$/m);
    assert.ok((await run('train', ...tinyArgs('--maxIters=3'), '--data', data, '--out', out('s'))).code === 0);
    const ckpt = loadCheckpoint(out('s'));
    const { saveCheckpoint } = await import('../../src/train/checkpoint.js');
    [...ckpt.tensors.values()][1]!.data.fill(Number.NaN);
    saveCheckpoint(out('s-nan'), ckpt);
    assertOneLine(await run('sample', '--ckpt', out('s-nan'), '--tokens', '3'), /holds NaN or infinite values \(the run that saved it had diverged\)/);
    assert.throws(() => parseThreads('abc', 'MOD_THREADS'), (e: unknown) => e instanceof ConfigError && /^MOD_THREADS=abc is not a thread count/.test(e.message));
    assert.equal(parseThreads('3', 'MOD_THREADS'), 3);
    assert.throws(() => parseSimd('foo'), /MOD_SIMD=foo is not a SIMD level; use MOD_SIMD=scalar\|avx2\|avx512/);
    assert.equal(parseSimd('avx2'), 'avx2');
    assert.equal(parseSimd(undefined), null);
  });

  test('sample: the stats line is written only after the text, its newline and a flush of stdout', async () => {
    assert.equal((await run('train', ...tinyArgs('--maxIters=2'), '--data', data, '--out', out('order'))).code, 0);
    const events: string[] = [];
    const io = { out: (t: string) => void events.push(`out:${t}`), err: (t: string) => void events.push(`err:${t}`), flush: async () => void events.push('flush') };
    assert.equal(await main(['sample', '--ckpt', out('order'), '--tokens', '4', '--prompt', 'the'], io), 0);
    const flush = events.indexOf('flush');
    assert.ok(flush > 0 && events[flush - 1]!.endsWith('\n'), events.join('|'));
    assert.deepEqual(events.slice(flush + 1).map((e) => e.slice(0, 4)), ['err:']);
  });

  test('the default prompt works on a char checkpoint whose text has no newline', async () => {
    const flat = path.join(dir, 'flat.txt');
    writeFileSync(flat, readFileSync(data, 'utf8').replace(/\n/g, ' '));
    assert.equal((await run('train', ...tinyArgs('--maxIters=2'), '--data', flat, '--out', out('flat'))).code, 0);
    const r = await run('sample', '--ckpt', out('flat'), '--tokens', '5');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^5 tokens in /);
  });
});

// ---------------------------------------------------------------- real processes

test('two mod train processes into one --out: the second gets one line naming the first pid; the log holds one run', async () => {
  // --overwrite: the second run must get past "holds a checkpoint" once the first has saved, to meet the lock.
  const args = ['train', ...tinyArgs('--maxIters=4000', '--evalInterval=1000', '--lrDecayIters=4000'), '--data', data, '--out', out('two'), '--overwrite'];
  let second: Promise<Exit> | null = null;
  let firstPid = 0;
  const first = spawnCli(args, { onLine: (line) => {
    if (second === null && line.startsWith('iter 1/')) {
      firstPid = (JSON.parse(readFileSync(path.join(out('two'), LOCK_FILE), 'utf8')) as { pid: number }).pid;
      second = spawnCli(args);
    }
  } });
  const a = await first;
  assert.ok(second !== null, a.stdout + a.stderr);
  const b = await (second as Promise<Exit>);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, new RegExp(`^error: .*two is in use by another mod train \\(pid ${firstPid}, since [^)]*\\): wait for it to finish, or choose another --out\\n$`));
  assert.deepEqual(readLog(out('two')).map((r) => r.iter), [1000, 2000, 3000, 4000]);
  assert.ok(!existsSync(path.join(out('two'), LOCK_FILE)));
});

test('MOD_BACKEND=foo and MOD_THREADS=abc in a real process: one line, exit 2', async () => {
  const args = ['train', ...tinyArgs('--maxIters=2'), '--data', data, '--out', out('env')];
  for (const env of [{ MOD_BACKEND: 'foo' }, { MOD_THREADS: 'abc' }, { MOD_SIMD: 'foo' }]) {
    const r = await spawnCli(args, { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: MOD_(BACKEND|THREADS|SIMD)=\w+ is not a/);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  }
});

test('kill test: SIGKILL once the run has gone non-finite; the checkpoint before the NaN is the one that loads', async () => {
  // --skipNonFinite keeps the diverged run going, skipping steps 20..29 until its evaluation at 30: the kill lands
  // after the NaN (or, losing the race, the run stops with its divergence error; the checks hold either way).
  const args = ['train', ...DIVERGE.filter((a) => !a.startsWith('--evalInterval')), '--evalInterval=15', '--skipNonFinite=1000000', '--data', data, '--out', out('kill')];
  let killed = false;
  const r = await spawnCli(args, { onLine: (line, kill) => {
    if (!killed && /^note: iteration \d+: the loss is NaN; batch skipped/.test(line)) {
      killed = true;
      kill('SIGKILL');
    }
  } });
  assert.ok(killed, r.stdout + r.stderr);
  assert.ok(r.signal === 'SIGKILL' || r.code === 2, `${r.signal} ${r.code}`);
  const ckpt = loadCheckpoint(out('kill'));
  assert.equal(ckpt.meta.iteration, 15);
  assert.equal(firstNonFinite(ckpt.tensors), null);
  assert.equal(firstNonFinite(ckpt.optimizer), null);
  // A killed run leaves its lock: the next run takes it over with a note.
  const stale = existsSync(path.join(out('kill'), LOCK_FILE));
  const resumed = await run('train', ...tinyArgs('--maxIters=16', '--lr=1e-3', '--warmupIters=0', '--lrDecayIters=16', '--minLr=1e-4'), '--data', data, '--out', out('kill'), '--resume');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(/note: took over the lock of .* from pid \d+, which is no longer running/.test(resumed.stdout), stale);
  assert.ok(!existsSync(path.join(out('kill'), LOCK_FILE)));
});
