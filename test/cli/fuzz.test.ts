// Fuzz test of the command line (issue 11): 1000 seeded random argv lists (configs, paths, flags, values of every
// kind) run in-process through main() with a captured Io. Each is small enough to fail or finish in well under a
// second. Every one must exit 0 or 2, print no stack trace, and, when it fails, print exactly one line on stderr.
// A failure names the seed and the argv, so it can be replayed: `mod <argv>`.
import assert from 'node:assert/strict';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { rng } from '../helpers.js';
import { tempDir, tinyArgs, tinyText, tinyTextFile } from '../train/fixtures/tiny-run.js';

const CASES = 1000;
const SEED = 11;

const dir = tempDir('mod-fuzz-');
const data = tinyTextFile(dir);
const file = (name: string, content: string | Buffer): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const sparse = file('sparse.txt', '');
truncateSync(sparse, 3 * 2 ** 30); // 3 GiB, no disk used
const DATA = [data, data, data, file('empty.txt', ''), file('binary.bin', Buffer.from([1, 2, 0, 3])), file('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9])),
  file('short.txt', 'abc'), sparse, path.join(dir, 'missing.txt'), dir, '', 'null'];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Values that are wrong for most keys, in every way a person (or a script) gets them wrong. */
const BAD = ['', 'abc', '-1', '0', '1.5', '1e400', '-1e400', 'NaN', 'Infinity', 'null', 'true', '0x10', ' 3', '--', '=', 'é'];
/**
 * Large values: refused for size keys (memory or array limits) whatever the machine, but valid (and slow) for
 * counts such as maxIters, so only size keys get them. 1e9 layers or a batch of 1e9 never fit.
 */
const HUGE = ['1e9', '4294967296', '1e15'];
const SIZE_KEYS = new Set(['nEmbd', 'batchSize', 'nLayer', 'vocabSize']);

/** Per key: values that keep a run tiny (so it finishes fast), and for size keys absurd ones that must be refused. */
const KEYS: Record<string, readonly string[]> = {
  nLayer: ['1', '2'], nHead: ['1', '2', '4'], nEmbd: ['8', '16', '1000000'], blockSize: ['8', '16', '1000000'],
  batchSize: ['1', '4', '1e9'], gradAccumSteps: ['1', '2'], maxIters: ['1', '2', '3'], evalInterval: ['1', '2', '5'],
  evalIters: ['1', '2'], logInterval: ['1', '100'], lr: ['1e-3', '3e4', '1e30'], minLr: ['0', '1e-4'], warmupIters: ['0', '2', '3000'],
  lrDecayIters: ['10', '3000'], lrSchedule: ['cosine', 'constant', 'linear'], beta1: ['0.9', '1'], beta2: ['0.99', '2'],
  weightDecay: ['0', '0.1'], gradClip: ['0', '1'], seed: ['1', '4294967296'], tokenizer: ['char', 'byte', 'bpe'], mlpRatio: ['4', '2.5', '0.1'],
  bias: ['true', 'false'], tiedEmbeddings: ['true', 'false'], positions: ['learned', 'rope', 'alibi'], 'mod.capacity': ['0.5', '0.125', '2'],
  'mod.every': ['1', '2', '3'], 'mod.routing': ['learned', 'random'], 'mod.causal': ['aux', 'predictor'], mod: ['null'], vocabSize: ['300'],
  skipNonFinite: ['0', '2'], preset: ['brown-small', 'brown-mod-small', 'shakespeare-char-cpu', 'nope'], nLayers: ['2'], foo: ['1'],
};

function out(r: Rand, i: number): string {
  const weird = [path.join(dir, 'a-file'), '/proc/fuzz', '/dev/null/x', '', path.join(dir, 'ckpt')];
  return r() < 0.8 ? path.join(dir, `run-${i}`) : pick(r, weird);
}

/** A train (or info) argv: the tiny run with 0–4 random changes. */
function trainArgv(r: Rand, i: number, command: 'train' | 'info'): string[] {
  const args = tinyArgs('--maxIters=2', '--evalInterval=2');
  for (let n = Math.floor(r() * 5); n > 0; n--) {
    const key = pick(r, Object.keys(KEYS));
    const x = r();
    const value = x < 0.65 ? pick(r, KEYS[key]!) : x < 0.75 && SIZE_KEYS.has(key) ? pick(r, HUGE) : pick(r, BAD);
    const arg = r() < 0.85 ? `--${key}=${value}` : pick(r, [`--${key}`, value, `-${key}`, `--${key}=${value}=${value}`]);
    args.push(arg);
  }
  if (command === 'info') return ['info', ...args.filter(() => r() < 0.9)];
  if (r() < 0.9) args.push('--data', pick(r, DATA));
  if (r() < 0.95) args.push(`--out=${out(r, i)}`);
  for (const flag of ['--resume', '--overwrite', '--force']) {
    // --force would try to allocate what the memory check refuses: only with sizes a test machine holds.
    if (r() < 0.08 && !(flag === '--force' && args.some((a) => /=(1e9|1e15|4294967296|1000000)$/.test(a)))) args.push(flag);
  }
  return ['train', ...args];
}

const CKPT = (): string => path.join(dir, 'ckpt');

function evalArgv(r: Rand): string[] {
  const args = ['eval'];
  if (r() < 0.9) args.push('--ckpt', pick(r, [CKPT(), CKPT(), CKPT(), path.join(dir, 'nope'), dir, data, '']));
  if (r() < 0.4) args.push('--data', pick(r, DATA));
  if (r() < 0.3) args.push('--routing', pick(r, ['topk', 'causal', 'both', '']));
  if (r() < 0.3) args.push('--json');
  if (r() < 0.1) args.push(pick(r, ['--bogus', 'stray', '--ckpt']));
  return args;
}

function sampleArgv(r: Rand): string[] {
  const args = ['sample'];
  if (r() < 0.9) args.push('--ckpt', pick(r, [CKPT(), CKPT(), CKPT(), path.join(dir, 'nope'), '']));
  const opt = (flag: string, good: readonly string[]): void => {
    if (r() < 0.35) args.push(flag, r() < 0.7 ? pick(r, good) : pick(r, BAD));
  };
  opt('--prompt', ['the', 'The quick', 'ü', '\n', ' ']);
  opt('--tokens', ['1', '5', '20']);
  opt('--temperature', ['0.5', '1', '2']);
  opt('--top-k', ['1', '5']);
  opt('--top-p', ['0.5', '1']);
  opt('--seed', ['1', '7']);
  if (r() < 0.2) args.push('--no-cache');
  if (!args.includes('--tokens')) args.push('--tokens', '5');
  return args;
}

function otherArgv(r: Rand, i: number): string[] {
  switch (Math.floor(r() * 4)) {
    case 0: {
      const args = ['compare', '--data', data, '--tokenizer=char', '--blockSize=8', '--nEmbd=8', '--nHead=2', '--nLayer=2', '--batchSize=2', '--evalIters=1',
        '--out', path.join(dir, `cmp-${i}`), '--runs', path.join(dir, `cmp-runs-${i}`)];
      // Budgets that fail: a comparison that runs is longer than this test's budget per case.
      if (r() < 0.9) args.push(`--budget=${pick(r, ['0', '-1', 'abc', '1e400', '1', '', 'null'])}`);
      if (r() < 0.3) args.push(`--variants=${pick(r, ['dense,mod', 'x', ''])}`);
      return args;
    }
    case 1:
      return ['export', '--ckpt', pick(r, [CKPT(), path.join(dir, 'nope')]), '--format', pick(r, ['onnx', 'torch', 'tflite', '']),
        '--out', pick(r, [path.join(dir, `exp-${i}`), '/proc/fuzz/x', path.join(dir, 'a-file')])];
    case 2:
      // (`mod train` alone trains the default preset for minutes, `mod bench` benchmarks: not here.)
      return [pick(r, ['trian', 'help', '--help', 'info', 'eval', 'sample']), ...(r() < 0.5 ? [pick(r, BAD)] : [])].filter((a, k) => k > 0 || a !== '');
    default:
      // The second value is a stray argument: always an error, whatever the first did.
      return [pick(r, ['info', 'train', 'eval', 'sample']), `--${pick(r, Object.keys(KEYS))}`, pick(r, BAD), pick(r, BAD.filter((b) => !b.startsWith('--')))];
  }
}

function argvOf(r: Rand, i: number): string[] {
  const x = r();
  if (x < 0.45) return trainArgv(r, i, 'train');
  if (x < 0.6) return trainArgv(r, i, 'info');
  if (x < 0.72) return evalArgv(r);
  if (x < 0.84) return sampleArgv(r);
  return otherArgv(r, i);
}

test(`fuzz: ${CASES} seeded random argv lists each exit 0 or 2, with one line on stderr when they fail, and no stack`, async () => {
  writeFileSync(path.join(dir, 'a-file'), 'x');
  mkdirSync(path.join(dir, 'run-0'), { recursive: true });
  writeFileSync(path.join(dir, 'fuzz.txt'), tinyText(2000, 3));
  const trained = captureIo();
  assert.equal(await main(['train', ...tinyArgs('--maxIters=2', '--evalInterval=2'), '--data', data, '--out', CKPT()], trained), 0, trained.stderr);
  const r = rng(SEED);
  const codes = new Map<number, number>();
  const failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const argv = argvOf(r, i);
    const io = captureIo();
    const code = await main(argv, io);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    const problem = code !== 0 && code !== 2 ? `exit ${code}`
      : /\n\s+at /.test(io.stderr + io.stdout) ? 'a stack trace'
        : code === 2 && !/^[^\n]+\n$/.test(io.stderr) ? `${io.stderr.split('\n').length - 1} lines on stderr`
          : null;
    if (problem !== null) failures.push(`case ${i} (seed ${SEED}): ${problem}: mod ${JSON.stringify(argv)}\n${io.stderr}`);
  }
  assert.deepEqual(failures, []);
  // Both outcomes must be exercised: some runs start (and finish), most fail.
  assert.ok((codes.get(0) ?? 0) >= 100, `exit codes ${JSON.stringify([...codes])}`);
  assert.ok((codes.get(2) ?? 0) >= 300, `exit codes ${JSON.stringify([...codes])}`);
});
