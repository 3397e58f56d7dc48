// `mod export`: writes the ONNX file or the PyTorch directory and says what it wrote; bad options and checkpoints
// are one-line errors with exit code 2.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CASES, checkpointOf, tempDir } from '../export/fixtures.js';
import { runCli as run } from './run-cli.js';

const root = tempDir();

test('mod export --format onnx writes the graph and names its inputs and outputs', async () => {
  const ckpt = checkpointOf(root, 'cli-onnx', CASES[2]!.config, 1);
  const out = path.join(root, 'm.onnx');
  const r = await run('export', '--ckpt', ckpt, '--format', 'onnx', '--out', out, '--seq', '8', '--routing', 'causal', '--causal-bias', '0.1,-0.2');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  assert.match(r.stdout, /^wrote .*m\.onnx: [\d,]+ bytes, opset 17, 2 routed blocks, causal; input_ids \(batch, 8\) int64, logits \(batch, 8, 256\) float32\n$/);
});

test('mod export --format torch writes config.json, model.safetensors and the python files', async () => {
  const ckpt = checkpointOf(root, 'cli-torch', CASES[2]!.config, 2);
  const out = path.join(root, 'torch');
  const r = await run('export', '--ckpt', ckpt, '--format', 'torch', '--out', out, '--causal-bias', '0.5');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['README.md', 'config.json', 'model.safetensors', 'modeling_mod.py', 'train_ddp.py']);
  const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as { causalBias: number[]; tokenizer: unknown };
  assert.deepEqual(config.causalBias, [0.5, 0.5]);
  assert.deepEqual(config.tokenizer, { kind: 'byte' });
});

test('bad options and checkpoints: one line, exit code 2', async () => {
  const ckpt = checkpointOf(root, 'cli-bad', CASES[2]!.config, 3);
  const cases: Array<[string[], RegExp]> = [
    [['--format', 'tflite', '--out', 'x'], /--format='tflite' is not allowed: must be onnx or torch/],
    [['--format', 'onnx', '--out', 'x', '--routing', 'all'], /--routing='all' is not allowed/],
    [['--format', 'onnx', '--out', 'x', '--seq', '99'], /--seq 99 is outside 1\.\.16/],
    [['--format', 'onnx', '--out', 'x', '--causal-bias', '1,2,3'], /--causal-bias has 3 values but the model has 2 routed blocks/],
    [['--format', 'onnx', '--out', 'x', '--causal-bias', 'high'], /--causal-bias='high' is not a number/],
    [['--format', 'torch', '--out', 'x', '--seq', '8'], /--seq and --routing apply to --format onnx only/],
  ];
  for (const [args, re] of cases) {
    const r = await run('export', '--ckpt', ckpt, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  }
  const missing = await run('export', '--ckpt', path.join(root, 'nope'), '--format', 'onnx', '--out', 'x');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: .*nope: no such directory/);
});
