// The comparison's progress display: overall fraction and ETA in FLOPs, best val loss per variant, TTY vs plain.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompareProgress } from '../../src/cli/compare-progress.js';

const RUNS = [
  { name: 'dense-s1', variant: 'dense', steps: 10, flopsPerStep: 3 },
  { name: 'mod-s1', variant: 'mod', steps: 20, flopsPerStep: 1.5 },
];

function setup(tty: boolean): { progress: CompareProgress; written: string[]; clock: { ms: number } } {
  const written: string[] = [];
  const clock = { ms: 0 };
  const progress = new CompareProgress({ runs: RUNS, stream: { write: (t: string) => written.push(t) }, tty, now: () => clock.ms });
  return { progress, written, clock };
}

describe('compare progress', () => {
  test('fraction and ETA are measured in training FLOPs over all runs', () => {
    const { progress, clock } = setup(false);
    assert.ok(Number.isNaN(progress.etaSeconds()));
    progress.startRun(0);
    clock.ms = 10_000;
    progress.step(5); // 15 of 60 FLOPs
    assert.equal(progress.fraction(), 0.25);
    assert.equal(progress.etaSeconds(), 30);
    progress.startRun(1);
    progress.step(10); // 30 + 15 of 60
    assert.equal(progress.fraction(), 0.75);
  });

  test('plain output: a line per run start and per evaluation with the best val loss per variant', () => {
    const { progress, written } = setup(false);
    progress.startRun(0);
    progress.step(5);
    progress.evaluated(5, 2.5);
    progress.evaluated(10, 2.75);
    progress.startRun(1);
    progress.evaluated(20, 2.25);
    progress.stop();
    assert.equal(written[0], '[1/2] dense-s1: 10 steps of 3 FLOP\n');
    assert.match(written[1]!, /^\[1\/2 dense-s1\] iter 5\/10 \| 25% \| ETA \S+ \| best val: dense 2\.5000, mod \? \| val 2\.5000 at iter 5\n$/);
    assert.match(written[2]!, /best val: dense 2\.5000, mod \? \| val 2\.7500 at iter 10\n$/, 'best stays the lowest');
    assert.match(written[4]!, /^\[2\/2 mod-s1\] .*best val: dense 2\.5000, mod 2\.2500 /);
    assert.ok(written.every((w) => !w.includes('\r')));
  });

  test('terminal output: one status line redrawn in place, messages above it, throttled', () => {
    const { progress, written, clock } = setup(true);
    progress.startRun(0);
    const n = written.length;
    clock.ms = 1000;
    progress.step(1);
    progress.step(2); // within 250 ms of the last draw: not redrawn
    assert.equal(written.length, n + 1);
    assert.match(written[written.length - 1]!, /^\r\x1b\[2K\[1\/2 dense-s1\] iter 1\/10 /);
    progress.log('hello');
    assert.ok(written.includes('hello\n'));
    progress.stop();
    assert.equal(written[written.length - 1], '\n');
  });

  test('reused runs and the resumed part of a run count as done but not towards the ETA rate', () => {
    const { progress, clock } = setup(false);
    progress.startRun(0);
    progress.reused(); // 30 of 60 FLOPs, in no time
    assert.equal(progress.fraction(), 0.5);
    assert.ok(Number.isNaN(progress.etaSeconds()), 'no rate yet');
    progress.startRun(1);
    progress.resumed(10); // 15 more skipped
    assert.equal(progress.fraction(), 0.75);
    clock.ms = 5_000;
    progress.step(15); // 7.5 FLOPs trained in 5 s; 7.5 left
    assert.equal(progress.fraction(), 0.875);
    assert.equal(progress.etaSeconds(), 5);
  });

  test('placeholder runs are replaced by the planned ones, and the total follows', () => {
    const { progress, written } = setup(false);
    progress.startRun(0);
    progress.step(10);
    progress.setRuns(1, [{ name: 'mod-s1', variant: 'mod', steps: 10, flopsPerStep: 3 }, { name: 'random-s1', variant: 'random', steps: 10, flopsPerStep: 3 }]);
    assert.equal(progress.fraction(), 1 / 3);
    progress.startRun(2);
    assert.equal(written[written.length - 1], '[3/3] random-s1: 10 steps of 3 FLOP\n');
    progress.evaluated(10, 2.5);
    assert.match(written[written.length - 1]!, /best val: dense \?, mod \?, random 2\.5000 \|/, 'a variant first seen in the new runs');
  });
});
