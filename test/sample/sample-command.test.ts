// `mod sample` end to end on tiny checkpoints trained for a few steps: cached and --no-cache print identical text
// for the same seed (greedy and at temperature 1, across the blockSize crop), output format and streaming UTF-8,
// determinism per seed, and one-line errors.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { captureIo, type Io } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { ByteTokenizer, CharTokenizer } from '../../src/data/tokenizer.js';
import { tempDir, tinyConfig, trainedModel, writeCheckpoint } from './fixtures.js';

const TEXT = 'the café sat on the naïve mat; the dog ✓ sat on the log. '.repeat(8);

async function sample(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; chunks: string[] }> {
  const io = captureIo();
  const chunks: string[] = [];
  const recording: Io = { out: (t) => (chunks.push(t), io.out(t)), err: (t) => io.err(t) };
  const code = await main(['sample', ...args], recording);
  return { code, stdout: io.stdout, stderr: io.stderr, chunks };
}

describe('mod sample', () => {
  const dirs: Record<'learned' | 'rope' | 'char', string> = { learned: '', rope: '', char: '' };
  const root = tempDir();

  before(() => {
    const byte = new ByteTokenizer();
    for (const positions of ['learned', 'rope'] as const) {
      dirs[positions] = path.join(root, positions);
      writeCheckpoint(dirs[positions], trainedModel(tinyConfig({ positions }), byte, TEXT, 60), byte);
    }
    const chars = CharTokenizer.fromText(TEXT);
    dirs.char = path.join(root, 'char');
    writeCheckpoint(dirs.char, trainedModel(tinyConfig({ positions: 'rope', bias: false }), chars, TEXT, 40), chars);
  });

  it('cached and --no-cache print identical text for the same seed (greedy, temperature 1, top-p), across the crop', async () => {
    const settings: string[][] = [
      ['--top-k', '1'],
      ['--temperature', '0.05'],
      ...[1, 2, 3, 4, 5].map((s) => ['--temperature', '1', '--seed', String(s)]),
      ['--temperature', '1.3', '--top-p', '0.9', '--seed', '6'],
      ['--temperature', '0.8', '--top-k', '5', '--top-p', '0.95', '--seed', '7'],
    ];
    for (const ckpt of Object.values(dirs)) {
      for (const extra of settings) {
        // 50 new tokens after a 9-token prompt: past blockSize 16, so the cached path crops and re-prefills.
        const args = ['--ckpt', ckpt, '--prompt', 'the café', '--tokens', '50', ...extra];
        const cached = await sample(...args);
        const uncached = await sample(...args, '--no-cache');
        assert.equal(cached.code, 0, cached.stderr);
        assert.equal(uncached.code, 0, uncached.stderr);
        assert.equal(cached.stdout, uncached.stdout, `${path.basename(ckpt)} ${extra.join(' ')}`);
      }
    }
    // A prompt longer than blockSize: printed whole, the model sees its last 16 tokens.
    const long = ['--ckpt', dirs.rope, '--prompt', 'the dog sat on the naïve mat; the ', '--tokens', '20', '--temperature', '1'];
    const a = await sample(...long);
    assert.ok(a.stdout.startsWith('the dog sat on the naïve mat; the '));
    assert.equal(a.stdout, (await sample(...long, '--no-cache')).stdout);
  });

  it('prints the prompt, streams whole characters, ends with a newline; one line of tokens/s on stderr', async () => {
    const r = await sample('--ckpt', dirs.learned, '--prompt', 'the ', '--tokens', '40', '--top-k', '1');
    assert.equal(r.code, 0);
    assert.ok(r.stdout.startsWith('the '));
    assert.ok(r.stdout.endsWith('\n'));
    assert.equal(r.chunks[0], 'the ');
    assert.equal(r.chunks.join(''), r.stdout);
    // Greedy continuation of the training text: it contains multi-byte characters, each printed whole (a partial
    // UTF-8 sequence yields no chunk), so fewer chunks than tokens and no replacement character.
    assert.match(r.stdout, /[é✓ï]/);
    assert.ok(!r.stdout.includes('\uFFFD'));
    const bytes = Buffer.byteLength(r.stdout.slice(4, -1));
    assert.equal(bytes, 40);
    assert.ok(r.chunks.length < 40 + 2, `${r.chunks.length} chunks for 40 tokens`);
    assert.match(r.stderr, /^40 tokens in \d+\.\d\d s: \d+(\.\d)? tokens\/s \(KV cache, 4-token prompt, (native|reference) \(.+\)\)\n$/);
    const n = await sample('--ckpt', dirs.learned, '--prompt', 'the ', '--tokens', '3', '--no-cache');
    assert.match(n.stderr, /^3 tokens in .*\(no cache, /);
  });

  it('the same seed gives the same text; other seeds differ', async () => {
    const run = async (seed: string): Promise<string> => (await sample('--ckpt', dirs.rope, '--prompt', 'the', '--tokens', '60', '--temperature', '1.5', '--seed', seed)).stdout;
    const a = await run('11');
    assert.equal(await run('11'), a);
    assert.notEqual(await run('12'), a);
    assert.notEqual(await run('13'), a);
  });

  it('a prompt character outside a char vocabulary is the tokenizer\'s one-line error (exit 2, nothing printed)', async () => {
    const r = await sample('--ckpt', dirs.char, '--prompt', 'the Zoo');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: character "Z" \(U\+005A\) is not in the char tokenizer's vocabulary of \d+ characters .*--tokenizer byte.*\n$/);
    assert.equal(r.stderr.split('\n').length, 2);
  });

  it('a missing checkpoint is a one-line CheckpointError', async () => {
    const r = await sample('--ckpt', path.join(dirs.learned, 'nope'), '--prompt', 'x');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*nope: no such directory; pass the output directory \(--out\) of a training run\n$/);
  });
});
