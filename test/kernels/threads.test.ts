// The thread pool: native kernels with more threads than cores (3, 8 and 16 on a 2-core machine) agree with the
// reference backend and give the same bits as one thread; the default thread count, MOD_THREADS, MOD_SIMD and
// --threads; and idle pool threads that use no CPU.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { type AttentionDims, type Kernels, parseThreads, referenceKernels as ref } from '../../src/kernels/node.js';
import { ConfigError } from '../../src/errors.js';
import { addonForTest, assertClose, nativeKernelsForTest, randArray, randInts, withThreads } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const kernelsUrl = pathToFileURL(path.join(root, 'dist', 'src', 'kernels', 'node.js')).href;

/** Every output of a few parallel kernels (GEMM, GEMV, attention, norms, losses, routing, AdamW) on one backend. */
function outputs(k: Kernels): Record<string, Float32Array | number> {
  const out: Record<string, Float32Array | number> = {};
  const mm = (name: string, m: number, n: number, kk: number, ta: boolean, tb: boolean): void => {
    const c = randArray(m * n, 9);
    k.matmul(c, randArray(m * kk, 1), randArray(kk * n, 2), m, n, kk, ta, tb, true);
    out[name] = c;
  };
  mm('gemm', 301, 263, 270, false, false);
  mm('gemm transA transB', 190, 333, 150, true, true);
  mm('gemm wide', 20, 1500, 64, false, true);
  mm('gemv', 1, 900, 700, false, false);
  mm('gemv column', 900, 1, 700, false, false);
  const d: AttentionDims = { b: 2, t: 150, nHead: 3, headSize: 32, rope: true, ropeBase: 10000 };
  const C = d.nHead * d.headSize;
  const qkv = randArray(d.b * d.t * 3 * C, 3);
  const pos = Int32Array.from({ length: d.b * d.t }, (_, i) => i % d.t);
  const att = new Float32Array(d.b * d.t * C);
  const cache = new Float32Array(k.attentionCacheSize(d));
  k.attentionForward(att, cache, qkv, pos, d);
  const dqkv = new Float32Array(qkv.length);
  k.attentionBackward(dqkv, randArray(att.length, 4), cache, qkv, pos, d);
  Object.assign(out, { attention: att, 'attention backward': dqkv });
  const [n, c] = [2000, 200];
  const x = randArray(n * c, 5);
  const ln = new Float32Array(n * c);
  k.layernormForward(ln, new Float32Array(n), new Float32Array(n), x, randArray(c, 6), randArray(c, 7), n, c);
  out.layernorm = ln;
  const [rows, v] = [500, 300];
  const losses = new Float32Array(rows);
  const probs = new Float32Array(rows * v);
  k.crossEntropyForward(losses, probs, randArray(rows * v, 8, 4), randInts(rows, v, 9), rows, v);
  Object.assign(out, { 'cross-entropy': losses, probs });
  const idx = Int32Array.from({ length: 4 * 40 }, (_, i) => (i % 40) * 5);
  const scattered = randArray(4 * 200 * 64, 10);
  k.scatterAddRows(scattered, randArray(4 * 40 * 64, 11), idx, 4, 200, 40, 64);
  out.scatter = scattered;
  const p = randArray(300_000, 12);
  k.adamw(p, randArray(p.length, 13), randArray(p.length, 14, 0.1), randArray(p.length, 15, 0.1).map(Math.abs), p.length, 1e-3, 0.9, 0.95, 1e-8, 0.1, 3);
  out.adamw = p;
  out.sumSquares = k.sumSquares(p, p.length);
  return out;
}

describe('native kernels with more threads than cores', () => {
  const native = nativeKernelsForTest();
  const want = outputs(ref);
  const one = withThreads(1, () => outputs(native));
  for (const threads of [3, 8, 16]) {
    it(`${threads} threads: agree with the reference and give the same bits as 1 thread`, () => {
      const got = withThreads(threads, () => {
        assert.equal(addonForTest().getThreads(), threads);
        return outputs(native);
      });
      for (const [name, w] of Object.entries(want)) {
        const g = got[name]!;
        if (typeof w === 'number') {
          assert.ok(Math.abs((g as number) - w) <= 1e-6 * Math.abs(w), `${name}: ${g} vs ${w}`);
        } else {
          assertClose(g as Float32Array, w, 2e-4, 2e-4, `${name} at ${threads} threads`);
        }
        assert.deepEqual(g, one[name], `${name}: ${threads} threads differ from 1 thread`);
      }
    });
  }
});

describe('thread count', () => {
  it('parseThreads takes 1-256 and names the source of a bad value', () => {
    assert.equal(parseThreads('3', 'MOD_THREADS'), 3);
    assert.equal(parseThreads('256', '--threads'), 256);
    for (const bad of ['0', '-2', '1.5', 'abc', '', '257', '2x']) {
      assert.throws(() => parseThreads(bad, 'MOD_THREADS'), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`MOD_THREADS=${bad} `));
    }
  });

  const child = (env: Record<string, string>): { threads: number; cores: number } => {
    const script = `const k = await import(${JSON.stringify(kernelsUrl)}); const n = k.nativeBackend();
      console.log(JSON.stringify({ threads: n.addon.getThreads(), cores: n.addon.getCores() }));`;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'MOD_THREADS' && key !== 'MOD_SIMD'));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...clean, ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { threads: number; cores: number };
  };

  it('defaults to the cores this process may use; MOD_THREADS overrides it', () => {
    const d = child({});
    assert.ok(d.cores >= 1 && d.cores <= availableParallelism(), `cores ${d.cores}, availableParallelism ${availableParallelism()}`);
    assert.equal(d.threads, d.cores);
    assert.equal(child({ MOD_THREADS: '5' }).threads, 5);
  });

  const cli = (args: string[], env: Record<string, string>): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'mod.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  };

  it('a bad MOD_THREADS or MOD_SIMD is a one-line error', () => {
    for (const [env, msg] of [[{ MOD_THREADS: 'lots' }, 'error: MOD_THREADS=lots is not a thread count'], [{ MOD_SIMD: 'foo' }, 'error: MOD_SIMD=foo is not a SIMD level']] as const) {
      const r = cli(['bench', 'block', '--repeats', '1'], env);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.startsWith(msg), r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('--threads sets the pool on every command that computes, and a bad value is a one-line error', async () => {
    const io = captureIo();
    const before = addonForTest().getThreads();
    try {
      assert.equal(await main(['bench', 'gemm', '--threads', '3', '--repeats', '1', '--json'], io), 0, io.stderr);
      assert.equal((JSON.parse(io.stdout) as { gemm: Array<{ threads: number }> }).gemm[0]!.threads, 3);
    } finally {
      addonForTest().setThreads(before);
    }
    for (const cmd of [['train'], ['sample'], ['eval'], ['compare'], ['info'], ['bench', 'train'], ['bench', 'decode']]) {
      const bad = captureIo();
      assert.equal(await main([...cmd, '--threads', '0'], bad), 2, `${cmd.join(' ')}: ${bad.stderr}`);
      assert.equal(bad.stderr, 'error: --threads=0 is not a thread count; use an integer from 1 to 256\n');
    }
  });
});

/** CPU seconds (user + system) of every thread of process `pid` so far. */
function cpuSeconds(pid: number): number {
  const dir = `/proc/${pid}/task`;
  let ticks = 0;
  for (const tid of readdirSync(dir)) {
    const stat = readFileSync(`${dir}/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);  // utime, stime (fields 14 and 15 of stat)
  }
  return ticks / 100;  // USER_HZ is 100 on Linux
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it('idle pool threads sleep: a process that has run parallel kernels uses ~0 CPU while idle', async () => {
  // The child runs GEMMs on 2 and then 4 threads, says "ready" and idles. We count its CPU time over 2 s.
  const script = `const k = await import(${JSON.stringify(kernelsUrl)}); const n = k.nativeBackend();
    const a = new Float32Array(512 * 512).fill(1), c = new Float32Array(512 * 512);
    for (const t of [2, 4]) { n.addon.setThreads(t); for (let i = 0; i < 20; i++) n.kernels.matmul(c, a, a, 512, 512, 512, false, false, false); }
    console.log('ready ' + n.addon.getThreads()); setTimeout(() => {}, 60000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString())));
    assert.match(line, /^ready 4/);
    await sleep(300);
    const before = cpuSeconds(child.pid!);
    await sleep(2000);
    const used = cpuSeconds(child.pid!) - before;
    assert.ok(used <= 0.1, `the idle process used ${used.toFixed(2)} CPU seconds in 2 s`);
  } finally {
    child.kill('SIGKILL');
  }
});
