import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockJson, blockTable, gemmJson, gemmTable } from '../../src/cli/bench.js';
import { captureIo } from '../../src/cli/io.js';
import { reportError } from '../../src/cli/main.js';
import { parseSampleOptions } from '../../src/cli/sample.js';
import { ConfigError, UserError } from '../../src/errors.js';
import { paramCounts } from '../../src/model/flops.js';
import { getPreset } from '../../src/train/presets.js';
import { runCli as run } from './run-cli.js';

describe('mod info', () => {
  it('prints the resolved config, parameter counts and FLOPs', async () => {
    const r = await run('info');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const p = paramCounts(getPreset('brown-small').model);
    assert.match(r.stdout, /^preset brown-small$/m);
    assert.match(r.stdout, /nLayer=4 nHead=4 nEmbd=128/);
    assert.match(r.stdout, new RegExp(`total\\s+${p.total.toLocaleString('en-US')} `));
    assert.match(r.stdout, new RegExp(`non-embedding\\s+${p.nonEmbedding.toLocaleString('en-US')} `));
    assert.match(r.stdout, /forward per token\s+1\.77 MFLOP/);
    assert.match(r.stdout, /training per token\s+5\.31 MFLOP \(3 × forward\)/);
    assert.match(r.stdout, /forward per sequence\s+227 MFLOP/);
  });

  it('takes a preset and overrides', async () => {
    const r = await run('info', '--preset', 'shakespeare-char-cpu', '--nLayer=2', '--blockSize', '32');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^preset shakespeare-char-cpu$/m);
    assert.match(r.stdout, /blockSize=32 nLayer=2/);
    assert.match(r.stdout, /FLOPs \(T = 32/);
  });
});

describe('errors', () => {
  it('a config error is one line on stderr and exit code 2', async () => {
    const r = await run('info', '--nLayers=2');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "error: unknown config key 'nLayers'; did you mean 'nLayer'?\n");
  });

  it('a UserError thrown inside a command: one line, no stack, exit code 2', async () => {
    const r = await run('compare', '--nLayer=2');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: mod compare needs --budget FLOPS: the training FLOPs each run may spend, e.g. --budget=3e13\n');
  });

  it('train validates before training', async () => {
    const r = await run('train', '--preset', 'shakespeare-char-cpu');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: preset shakespeare-char-cpu needs a training text file: pass --data PATH/);
    assert.equal(r.stderr.split('\n').length, 2);
  });

  it('unexpected errors: one line and exit code 1; the stack only with MOD_DEBUG=1', () => {
    const io = captureIo();
    assert.equal(reportError(new TypeError('boom\nsecond line'), io, {}), 1);
    assert.equal(io.stderr, 'error: internal error: TypeError: boom second line (run with MOD_DEBUG=1 for the stack)\n');
    const debug = captureIo();
    assert.equal(reportError(new TypeError('boom'), debug, { MOD_DEBUG: '1' }), 1);
    assert.match(debug.stderr, /^TypeError: boom\n\s+at /);
    const io2 = captureIo();
    assert.equal(reportError(new UserError('multi\nline'), io2), 2);
    assert.equal(io2.stderr, 'error: multi line\n');
  });

  it('unknown commands and missing required options are usage errors (exit 2)', async () => {
    const r = await run('trian');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'trian'/);
    assert.match(r.stderr, /Did you mean train\?/);
    const s = await run('sample', '--prompt', 'x');
    assert.equal(s.code, 2);
    assert.match(s.stderr, /required option '--ckpt <dir>' not specified/);
  });

  it('--help exits 0 and lists presets and keys', async () => {
    const r = await run('train', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /shakespeare-char-cpu/);
    assert.match(r.stdout, /--maxIters=3000/);
    assert.match(r.stdout, /--resume/);
  });
});

describe('mod sample / mod eval options', () => {
  const raw = { ckpt: 'out/x', cache: true };

  it('defaults and parsed values', () => {
    assert.deepEqual(parseSampleOptions(raw), { ckpt: 'out/x', prompt: null, tokens: 200, temperature: 0.8, topK: null, topP: 1, seed: 1337, cache: true });
    const o = parseSampleOptions({ ...raw, prompt: 'The', tokens: '5', temperature: '1.5', topK: '40', topP: '0.9', seed: '7', cache: false });
    assert.deepEqual(o, { ckpt: 'out/x', prompt: 'The', tokens: 5, temperature: 1.5, topK: 40, topP: 0.9, seed: 7, cache: false });
  });

  it('out-of-range values are ConfigErrors naming the flag and the range', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ temperature: '0' }, /^--temperature=0 is out of range: must be a number > 0$/],
      [{ topP: '0' }, /^--top-p=0 is out of range: must be a number in \(0, 1\]$/],
      [{ topP: '1.01' }, /^--top-p=1\.01 is out of range/],
      [{ topK: '0' }, /^--top-k=0 is out of range: must be an integer >= 1$/],
      [{ topK: '2.5' }, /^--top-k=2\.5 has the wrong type: must be an integer >= 1$/],
      [{ tokens: '0' }, /^--tokens=0 is out of range/],
      [{ tokens: 'many' }, /^--tokens='many' has the wrong type/],
      [{ prompt: '' }, /^--prompt='' is empty/],
    ];
    for (const [opts, re] of bad) assert.throws(() => parseSampleOptions({ ...raw, ...opts }), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  });

  it('through main: a bad option exits 2 before the sampler runs', async () => {
    const r = await run('sample', '--ckpt', 'nowhere', '--top-p', '2');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: --top-p=2 is out of range: must be a number in (0, 1]\n');
    const e = await run('eval', '--ckpt', '');
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--ckpt='' is empty/);
  });
});

describe('mod bench output', () => {
  const rows = [
    { m: 1024, k: 1024, n: 1024, gflops: 123.4, threads: 2 },
    { m: 64, k: 768, n: 3072, gflops: 80, threads: 1 },
  ];

  it('--json is exactly the documented objects', () => {
    assert.equal(gemmJson(rows), '{"gemm":[{"m":1024,"k":1024,"n":1024,"gflops":123.4,"threads":2},{"m":64,"k":768,"n":3072,"gflops":80,"threads":1}]}\n');
    assert.equal(blockJson({ fwdMs: 1.5, fwdBwdMs: 4.25 }), '{"block":{"fwdMs":1.5,"fwdBwdMs":4.25}}\n');
  });

  it('tables are aligned', () => {
    const lines = gemmTable(rows).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(new Set(lines.map((l) => l.length)).size, 1);
    assert.match(lines[1]!, /1024\s+1024\s+1024\s+123\.4\s+2$/);
    assert.match(blockTable({ fwdMs: 1.5, fwdBwdMs: 4.25 }), /forward \+ backward\s+4\.25 ms/);
  });

  it('mod bench gemm --json and mod bench block --json print one JSON object and nothing else', async () => {
    const g = await run('bench', 'gemm', '--json', '--repeats', '1');
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.stdout.split('\n').length, 2);
    const gemm = JSON.parse(g.stdout) as { gemm: Array<Record<string, number>> };
    assert.deepEqual(Object.keys(gemm), ['gemm']);
    assert.ok(gemm.gemm.length > 0);
    for (const r of gemm.gemm) {
      assert.deepEqual(Object.keys(r), ['m', 'k', 'n', 'gflops', 'threads']);
      assert.ok(r.gflops! > 0 && Number.isInteger(r.threads));
    }
    const b = await run('bench', 'block', '--json', '--repeats', '1');
    assert.equal(b.code, 0, b.stderr);
    const block = JSON.parse(b.stdout) as { block: Record<string, number> };
    assert.deepEqual(Object.keys(block), ['block']);
    assert.deepEqual(Object.keys(block.block), ['fwdMs', 'fwdBwdMs']);
    assert.ok(block.block.fwdBwdMs! > 0);
  });

  it('--repeats is validated', async () => {
    const r = await run('bench', 'block', '--repeats', '0');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: --repeats=0 is out of range: must be an integer >= 1\n');
  });
});
