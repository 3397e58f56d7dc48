import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatKeyValues } from '../../src/cli/format.js';
import { formatDuration, formatSi } from '../../src/format.js';
import { createProgress } from '../../src/cli/progress.js';

function sink(isTTY: boolean): { write(t: string): boolean; isTTY: boolean; text: string } {
  const s = { isTTY, text: '', write(t: string): boolean { s.text += t; return true; } };
  return s;
}

describe('progress', () => {
  it('without a terminal: one line every logInterval iterations and at the last', () => {
    const out = sink(false);
    const p = createProgress({ total: 25, logInterval: 10, stream: out });
    for (let i = 1; i <= 25; i++) p.update(i, { loss: 2.5 - i / 100, tokensPerSec: 12345 });
    p.log('step 25: val loss 2.0000');
    p.stop();
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^iter 10\/25 \| loss 2\.4000 \| 12\.3 ktok\/s \| ETA \S+$/);
    assert.match(lines[1]!, /^iter 20\/25 /);
    assert.match(lines[2]!, /^iter 25\/25 \| loss 2\.2500 .* ETA 0s$/);
    assert.equal(lines[3], 'step 25: val loss 2.0000');
  });

  it('on a terminal: a bar with iter/total, loss, tokens/s and ETA', () => {
    const out = sink(true);
    const p = createProgress({ total: 100, start: 40, logInterval: 10, stream: out });
    p.update(41, { loss: 1.25, tokensPerSec: 5000 });
    p.update(42, { loss: 1.2, tokensPerSec: 5000 });
    p.log('hello');
    p.stop();
    assert.match(out.text, /iter 42\/100/);
    assert.match(out.text, /loss 1\.2000 \| 5 ktok\/s/);
    assert.match(out.text, /ETA/);
    assert.match(out.text, /hello/);
  });
});

describe('formatting', () => {
  it('SI units, durations, key=value lines', () => {
    assert.equal(formatSi(1_770_496, 'FLOP'), '1.77 MFLOP');
    assert.equal(formatSi(999, 'FLOP'), '999 FLOP');
    assert.equal(formatSi(1.63e13, 'FLOP'), '16.3 TFLOP');
    assert.equal(formatDuration(59.4), '59s');
    assert.equal(formatDuration(192), '3m12s');
    assert.equal(formatDuration(3720), '1h02m');
    assert.equal(formatDuration(Number.NaN), '?');
    assert.equal(formatKeyValues({ a: 1, b: null, mod: { c: true } }), '  a=1 b=null mod.c=true\n');
    const wrapped = formatKeyValues({ aaaa: 'x'.repeat(60), bbbb: 'y'.repeat(60) });
    assert.equal(wrapped.split('\n').length, 3);
  });
});
