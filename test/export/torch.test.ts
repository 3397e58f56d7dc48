// PyTorch export, run with Debian's python3-torch (.ci/run installs it; a missing torch fails, never skips):
// modeling_mod.py reproduces our logits within 1e-4 (dense, MoD top-k and causal, learned and RoPE positions, random
// routing with our scores), and train_ddp.py, under torchrun with DistributedDataParallel, continues training our
// trained weights on our data with the loss going down, saving weights that mod's reader accepts.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CharTokenizer } from '../../src/data/tokenizer.js';
import { exportTorch, TORCH_FILES } from '../../src/export/torch.js';
import { modConfigDefaults } from '../../src/model/config.js';
import { decodeSafetensors } from '../../src/train/safetensors.js';
import { randInts } from '../helpers.js';
import { tinyConfig, trainedModel, writeCheckpoint } from '../sample/fixtures.js';
import { tinyText } from '../train/fixtures/tiny-run.js';
import { CASES, checkpointOf, maxAbsDiff, randomRoutingConfig, randomRoutingReference, referenceLogits, tempDir } from './fixtures.js';

const root = tempDir();
const [B, T] = [2, 16];
/** Debian's python3 (which has python3-torch), unless MOD_PYTHON names another interpreter. */
const PYTHON = process.env.MOD_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** test/export in the source tree (the .py helpers are not compiled into dist). */
const SOURCE = path.resolve(HERE, '..', '..', '..', 'test', 'export');

function python(args: string[], cwd = root): string {
  const r = spawnSync(PYTHON, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${PYTHON} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return r.stdout;
}

test('torch is installed (apt-get install python3-torch; .ci/run does it)', () => {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} cannot import torch: apt-get install -y python3-torch (or set MOD_PYTHON to a python with torch)\n${r.stderr ?? ''}`);
});

test('modeling_mod.py reproduces our logits within 1e-4', (t) => {
  interface Job { dir: string; ids: string; b: number; t: number; routing: string; scores?: string; out: string; ours: Float32Array; name: string }
  const jobs: Job[] = CASES.map((c, i) => {
    const ckpt = checkpointOf(root, `torch ${c.name}`, c.config, 100 + i);
    const ids = randInts(B * T, c.config.vocabSize, 200 + i);
    const ours = referenceLogits(ckpt, ids, B, T, c.routing);
    const dir = `${ckpt}-torch`;
    exportTorch(ckpt, dir, { causalBias: ours.causalBias });
    writeFileSync(path.join(dir, 'ids.bin'), ids);
    return { name: c.name, dir, ids: path.join(dir, 'ids.bin'), b: B, t: T, routing: c.routing, out: path.join(dir, 'logits.bin'), ours: ours.logits };
  });
  const ckpt = checkpointOf(root, 'torch random', randomRoutingConfig(), 9);
  const ids = randInts(B * T, 256, 300);
  const random = randomRoutingReference(ckpt, ids, B, T);
  const dir = `${ckpt}-torch`;
  exportTorch(ckpt, dir);
  writeFileSync(path.join(dir, 'ids.bin'), ids);
  writeFileSync(path.join(dir, 'scores.bin'), random.scores);
  jobs.push({ name: 'MoD random routing, our scores', dir, ids: path.join(dir, 'ids.bin'), b: B, t: T, routing: 'topk', scores: path.join(dir, 'scores.bin'), out: path.join(dir, 'logits.bin'), ours: random.logits });

  const spec = path.join(root, 'jobs.json');
  writeFileSync(spec, JSON.stringify(jobs.map(({ ours: _o, name: _n, ...job }) => job)));
  python([path.join(SOURCE, 'torch_logits.py'), spec]);
  for (const job of jobs) {
    const buf = readFileSync(job.out);
    const theirs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const diff = maxAbsDiff(job.ours, theirs);
    t.diagnostic(`${job.name}: max abs diff ${diff.toExponential(2)}`);
    assert.ok(diff < 1e-4, `${job.name}: max abs diff ${diff}`);
  }
  assert.deepEqual(readdirSync(jobs[0]!.dir).filter((f) => !f.endsWith('.bin')).sort(), ['config.json', 'model.safetensors', ...TORCH_FILES].sort());
});

/** A free TCP port on 127.0.0.1 for the process group's rendezvous. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs `args` as `world` DDP ranks with the env:// variables torchrun sets for its workers (Debian's torch 1.13
 * torchrun itself fails under Python 3.11: `to_map` gets None for --redirects). Returns rank 0's stdout.
 */
async function ddp(args: string[], world: number): Promise<string> {
  const port = await freePort();
  const runs = Array.from({ length: world }, (_, rank) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const env = { ...process.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(world), LOCAL_WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), OMP_NUM_THREADS: '1' };
    const child = spawn(PYTHON, args, { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  }));
  const done = await Promise.all(runs);
  done.forEach((r, rank) => assert.equal(r.code, 0, `rank ${rank}: ${PYTHON} ${args.join(' ')} failed:\n${r.stderr}`));
  return done[0]!.stdout;
}

test('train_ddp.py on 2 DDP ranks (gloo) continues training our weights on our data: the loss goes down', async (t) => {
  const text = tinyText(6000, 3);
  const tokenizer = CharTokenizer.fromText(text);
  const cfg = tinyConfig({ nLayer: 4, positions: 'rope', mod: { ...modConfigDefaults, capacity: 0.5, every: 2, predictorHidden: 8 } });
  const model = trainedModel(cfg, tokenizer, text, 10);
  const ckpt = path.join(root, 'trained');
  writeCheckpoint(ckpt, model, tokenizer);
  const dir = path.join(root, 'trained-torch');
  exportTorch(ckpt, dir);
  const textFile = path.join(root, 'tiny.txt');
  writeFileSync(textFile, text);
  const out = path.join(root, 'trained-more');
  const stdout = await ddp([path.join(dir, 'train_ddp.py'), '--text', textFile, '--steps', '30', '--batch', '4', '--lr', '3e-3', '--seed', '1', '--out', out], 2);
  const steps = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { step: number; loss: number; world: number });
  assert.equal(steps.length, 30);
  assert.equal(steps[0]!.world, 2);
  const mean = (xs: Array<{ loss: number }>): number => xs.reduce((a, s) => a + s.loss, 0) / xs.length;
  const [first, last] = [mean(steps.slice(0, 5)), mean(steps.slice(-5))];
  t.diagnostic(`loss ${first.toFixed(3)} (steps 0-4) -> ${last.toFixed(3)} (steps 25-29)`);
  assert.ok(last < first - 0.05, `loss did not go down: ${first} -> ${last}`);
  // What PyTorch saved is mod's layout again: the same tensor names and shapes, new values.
  const saved = decodeSafetensors(readFileSync(path.join(out, 'model.safetensors'))).tensors;
  const before = decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors'))).tensors;
  assert.deepEqual([...saved].map(([n, v]) => [n, v.shape]).sort(), [...before].map(([n, v]) => [n, v.shape]).sort());
  assert.notDeepEqual(saved.get('transformer.h.1.router.weight')!.data, before.get('transformer.h.1.router.weight')!.data);
});
