import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CheckpointError, UserError } from '../../src/errors.js';
import { loadCheckpoint, saveCheckpoint, saveSteps } from '../../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '../../src/train/safetensors.js';
import { randArray } from '../helpers.js';
import { fakeCheckpoint, holdsIteration } from './fixtures/ckpt-data.js';

const root = mkdtempSync(path.join(tmpdir(), 'mod-ckpt-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (): string => path.join(root, `d${dirCount++}`);

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function assertSameTensors(a: TensorMap, b: TensorMap): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, t] of a) {
    const u = b.get(name)!;
    assert.deepEqual(u.shape, t.shape, name);
    assert.deepEqual(bits(u.data), bits(t.data), `${name}: bits differ`);
  }
}

/** The message of the CheckpointError that fn throws. */
function checkpointError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    assert.ok(e instanceof UserError);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a CheckpointError');
}

describe('safetensors', () => {
  it('writes the spec layout: LE u64 header length, space-padded JSON header, 8-byte aligned data', () => {
    const t: TensorMap = new Map([['a', { data: new Float32Array([1, 2, 3]), shape: [3] }]]);
    const buf = Buffer.from(encodeSafetensors(t, { k: 'v' }));
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = buf.subarray(8, 8 + n).toString('utf8');
    assert.equal(header.trimEnd(), '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}');
    assert.match(header, /^\{.*\} *$/);
    assert.equal(buf.length, 8 + n + 12);
    assert.deepEqual([...new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n, buf.byteOffset + buf.length))], [1, 2, 3]);
  });

  it('reads a file laid out by hand (unpadded header, tensors out of order)', () => {
    const header = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.from(new Float32Array([1.5, -2, 7]).buffer);
    const { tensors, metadata } = decodeSafetensors(Buffer.concat([len, Buffer.from(header), data]));
    assert.deepEqual(metadata, {});
    assert.deepEqual([...tensors.get('a')!.data], [1.5, -2]);
    assert.deepEqual([...tensors.get('b')!.data], [7]);
    assert.deepEqual(tensors.get('b')!.shape, [1]);
  });
});

describe('checkpoint round trip', () => {
  it('restores every tensor bit-exactly, and the config and meta', () => {
    const ckpt = fakeCheckpoint(7, 100);
    // Awkward floats: NaN payloads, -0, subnormals, infinities, random values.
    const odd = new Float32Array([Number.NaN, -0, 1e-45, -3.4e38, Infinity, -Infinity, 0.1]);
    new Uint32Array(odd.buffer)[0] = 0x7fc00123;
    ckpt.tensors.set('transformer.ln_f.weight', { data: odd, shape: [7] });
    ckpt.tensors.set('lm_head.weight', { data: randArray(3 * 5, 1), shape: [3, 5] });
    ckpt.tensors.set('scalar', { data: new Float32Array([42]), shape: [] });
    ckpt.tensors.set('empty', { data: new Float32Array(0), shape: [0, 4] });
    ckpt.meta.rng = { s: [0xffffffff, 0, 12345, 1], spare: -0.25 };
    const dir = freshDir();
    saveCheckpoint(dir, ckpt);
    const back = loadCheckpoint(dir);
    assert.equal(back.recovered, false);
    assertSameTensors(back.tensors, ckpt.tensors);
    assertSameTensors(back.optimizer, ckpt.optimizer);
    assert.deepEqual(back.config, ckpt.config);
    assert.deepEqual(back.meta, ckpt.meta);
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors']);
  });

  it('records iteration and save id in every file, and the AdamW step in the optimizer file', () => {
    const dir = freshDir();
    saveCheckpoint(dir, fakeCheckpoint(3, 10));
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(config.formatVersion, 1);
    assert.equal(config.iteration, 3);
    for (const [f, kind] of [['model.safetensors', 'model'], ['optimizer.safetensors', 'optimizer']]) {
      const { metadata } = decodeSafetensors(readFileSync(path.join(dir, f!)));
      assert.equal(metadata.kind, kind);
      assert.equal(metadata.iteration, '3');
      assert.equal(metadata.saveId, config.saveId);
    }
    assert.equal(decodeSafetensors(readFileSync(path.join(dir, 'optimizer.safetensors'))).metadata.step, '3');
  });

  it('refuses optimizer state that does not match the parameters', () => {
    const ckpt = fakeCheckpoint(1, 10);
    ckpt.optimizer.set('nope.m', { data: new Float32Array(1), shape: [1] });
    assert.throws(() => saveCheckpoint(freshDir(), ckpt), /nope\.m/);
  });
});

describe('corrupt checkpoints give a one-line CheckpointError naming the file', () => {
  /** A saved checkpoint directory, then `damage` applied to it. */
  function damaged(damage: (dir: string) => void): string {
    const dir = freshDir();
    saveCheckpoint(dir, fakeCheckpoint(1, 64));
    damage(dir);
    return checkpointError(() => loadCheckpoint(dir));
  }
  const model = (dir: string): string => path.join(dir, 'model.safetensors');
  function patchHeader(dir: string, edit: (h: string) => string): void {
    const buf = readFileSync(model(dir));
    const n = Number(buf.readBigUInt64LE(0));
    const h = Buffer.from(edit(buf.subarray(8, 8 + n).toString('utf8')).padEnd(n, ' '));
    assert.equal(h.length, n);
    writeFileSync(model(dir), Buffer.concat([buf.subarray(0, 8), h, buf.subarray(8 + n)]));
  }

  it('missing directory', () => {
    assert.match(checkpointError(() => loadCheckpoint(path.join(root, 'nowhere'))), /nowhere: no such directory/);
  });
  it('a directory that is not a checkpoint', () => {
    const dir = freshDir();
    saveCheckpoint(dir, fakeCheckpoint(1, 8));
    rmSync(path.join(dir, 'config.json'));
    assert.match(checkpointError(() => loadCheckpoint(dir)), /not a checkpoint directory \(no config\.json\)/);
  });
  it('a missing file', () => {
    assert.match(damaged((d) => rmSync(path.join(d, 'optimizer.safetensors'))), /optimizer\.safetensors: missing/);
  });
  it('invalid JSON in config.json', () => {
    assert.match(damaged((d) => writeFileSync(path.join(d, 'config.json'), '{"format": "mod-chec')), /config\.json: not valid JSON.*restore/);
  });
  it('a bad value in config.json', () => {
    const msg = damaged((d) => {
      const c = JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8'));
      c.model.nHead = 3;
      writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
    });
    assert.match(msg, /config\.json: nEmbd=128 is not divisible by nHead=3/);
  });
  it('a newer format version', () => {
    const msg = damaged((d) => {
      const c = JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8'));
      c.formatVersion = 99;
      writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
    });
    assert.match(msg, /format version 99 is not supported.*upgrade/);
  });
  it('a file shorter than the header length field', () => {
    assert.match(damaged((d) => truncateSync(model(d), 5)), /model\.safetensors: file is 5 bytes, too short/);
  });
  it('a header length past the end of the file', () => {
    const msg = damaged((d) => {
      const buf = readFileSync(model(d));
      buf.writeBigUInt64LE(BigInt(buf.length), 0);
      writeFileSync(model(d), buf);
    });
    assert.match(msg, /model\.safetensors: header length \d+ is larger than/);
  });
  it('invalid JSON in a header', () => {
    assert.match(damaged((d) => patchHeader(d, (h) => h.replace('{', '['))), /model\.safetensors: header is not valid JSON/);
  });
  it('data offsets past the end (truncated data)', () => {
    const msg = damaged((d) => {
      const size = readFileSync(model(d)).length;
      truncateSync(model(d), size - 4);
    });
    assert.match(msg, /model\.safetensors: tensor .* data_offsets end at byte \d+ but the data is only \d+ bytes/);
  });
  it('a byte count that does not match the shape', () => {
    assert.match(damaged((d) => patchHeader(d, (h) => h.replace('"shape":[32,1]', '"shape":[31,1]'))), /data_offsets span 128 bytes but shape \[31, 1\] needs 124/);
  });
  it('bytes after the last tensor', () => {
    const msg = damaged((d) => writeFileSync(model(d), Buffer.concat([readFileSync(model(d)), Buffer.alloc(8)])));
    assert.match(msg, /8 bytes after the last tensor/);
  });
  it('an unsupported dtype', () => {
    assert.match(damaged((d) => patchHeader(d, (h) => h.replace('"F32"', '"F16"'))), /dtype F16 is not supported/);
  });
  it('files from different saves, with no previous set to fall back to', () => {
    const dir = freshDir();
    saveCheckpoint(dir, fakeCheckpoint(1, 8));
    const other = freshDir();
    saveCheckpoint(other, fakeCheckpoint(2, 8));
    writeFileSync(path.join(dir, 'model.safetensors'), readFileSync(path.join(other, 'model.safetensors')));
    assert.match(checkpointError(() => loadCheckpoint(dir)), /model\.safetensors: from a different save \(iteration '2'\) than config\.json \(iteration 1\)/);
  });
});

describe('crash safety', () => {
  const n = 64;
  const stepNames = saveSteps(freshDir(), fakeCheckpoint(2, n)).map((s) => s.name);
  const commit = stepNames.indexOf('rename config.json');

  it('has the documented commit point', () => {
    assert.ok(commit > stepNames.indexOf('rename model.safetensors'));
    assert.ok(commit > stepNames.indexOf('rename optimizer.safetensors'));
    assert.ok(commit < stepNames.indexOf('unlink config.json.prev'));
  });

  for (let k = 0; k <= stepNames.length; k++) {
    const expected = k > commit ? 2 : 1;
    it(`a crash after ${k} steps (${stepNames[k - 1] ?? 'none'}) loads iteration ${expected}, and the next save works`, () => {
      const dir = freshDir();
      saveCheckpoint(dir, fakeCheckpoint(1, n));
      for (const s of saveSteps(dir, fakeCheckpoint(2, n)).slice(0, k)) s.run();
      const got = loadCheckpoint(dir);
      assert.equal(got.meta.iteration, expected);
      assert.ok(holdsIteration(got, expected), 'tensors of the loaded iteration');
      saveCheckpoint(dir, fakeCheckpoint(3, n));
      const next = loadCheckpoint(dir);
      assert.equal(next.meta.iteration, 3);
      assert.equal(next.recovered, false);
      assert.ok(holdsIteration(next, 3));
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.prev')), []);
    });
  }

  it('the next save first restores the complete previous set over a half-committed one', () => {
    const dir = freshDir();
    saveCheckpoint(dir, fakeCheckpoint(1, n));
    for (const s of saveSteps(dir, fakeCheckpoint(2, n)).slice(0, commit)) s.run();
    assert.equal(loadCheckpoint(dir).recovered, true);
    saveSteps(dir, fakeCheckpoint(3, n))[0]!.run(); // prepare
    const got = loadCheckpoint(dir);
    assert.equal(got.recovered, false);
    assert.equal(got.meta.iteration, 1);
    assert.ok(holdsIteration(got, 1));
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.prev')), []);
  });

  it('a crash during the very first save leaves no loadable checkpoint and a clean error', () => {
    const dir = freshDir();
    for (const s of saveSteps(dir, fakeCheckpoint(1, n)).slice(0, commit)) s.run();
    assert.match(checkpointError(() => loadCheckpoint(dir)), /not a checkpoint directory/);
  });
});

describe('crash safety with a real SIGKILL', () => {
  const self = fileURLToPath(import.meta.url);
  const ext = path.extname(self);
  const writer = path.join(path.dirname(self), 'fixtures', `ckpt-writer${ext}`);
  const repo = path.resolve(path.dirname(self), ext === '.ts' ? '../..' : '../../..');
  const nodeArgs = ext === '.ts' ? ['--import', 'tsx', writer] : [writer];

  /** Runs the writer until `until(lines)` holds, after `delayMs` more; SIGKILLs it; returns its stdout lines. */
  function runAndKill(args: string[], until: (lines: string[]) => boolean, delayMs: number): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let armed = false;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!armed && until(out.split('\n').filter((l) => l !== ''))) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal}: ${err}`));
        else resolve(out.split('\n').filter((l) => l !== ''));
      });
    });
  }

  for (const step of ['write config', 'rename model.safetensors', 'rename config.json']) {
    it(`killed after step '${step}' of a save: the right checkpoint loads`, async () => {
      const steps = saveSteps(freshDir(), fakeCheckpoint(2, 8)).map((s) => s.name);
      const k = steps.indexOf(step) + 1;
      const dir = freshDir();
      const lines = await runAndKill([dir, 'pause', String(k), '4096'], (l) => l.some((x) => x.startsWith('paused')), 0);
      assert.ok(lines.includes(`paused ${step}`), lines.join('|'));
      const expected = step === 'rename config.json' ? 2 : 1;
      const got = loadCheckpoint(dir);
      assert.equal(got.meta.iteration, expected);
      assert.ok(holdsIteration(got, expected));
    });
  }

  it('killed at random moments while saving large checkpoints: the last complete one loads', async () => {
    // 4M model floats: 16 MB model + 32 MB optimizer per save.
    // A save takes a few hundred ms here (building the next one ~100 ms): the delays land in different phases.
    for (const delay of [0, 150, 250, 350, 450, 700]) {
      const dir = freshDir();
      const lines = await runAndKill([dir, 'loop', String(4 << 20)], (l) => l.some((x) => x.startsWith('saved 1 ')), delay);
      const saved = Math.max(...lines.filter((l) => l.startsWith('saved ')).map((l) => Number(l.split(' ')[1])));
      const got = loadCheckpoint(dir);
      // The save in progress may have reached its commit point before the kill.
      assert.ok(got.meta.iteration === saved || got.meta.iteration === saved + 1, `loaded ${got.meta.iteration}, last saved ${saved}`);
      assert.ok(holdsIteration(got, got.meta.iteration), 'tensors match the loaded iteration');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the fixture exists next to this test', () => {
    assert.ok(existsSync(writer), writer);
  });
});
