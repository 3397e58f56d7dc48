// Contention benchmarks: the competitor processes really compute while a measurement runs and are gone after it,
// and the busy table's medians, lowest ratio and spread over rounds.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, it } from 'node:test';
import { parseCompetitor, withCompetitor } from '../../src/bench/busy.js';
import { gemmBusyTable } from '../../src/cli/bench.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { ConfigError } from '../../src/errors.js';

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const busyDirs = (): string[] => readdirSync(os.tmpdir()).filter((f) => f.startsWith('mod-busy-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe('mod bench --busy competitors', () => {
  it('--busy names a competitor', () => {
    assert.equal(parseCompetitor(true), 'loop');
    assert.equal(parseCompetitor('train'), 'train');
    assert.throws(() => parseCompetitor('looop'), (e: unknown) => e instanceof ConfigError && e.message === '--busy=looop is not a competitor: use --busy=loop or --busy=train');
  });

  for (const kind of ['loop', 'train'] as const) {
    it(`the ${kind} competitor computes during the measurement and is gone after it`, async () => {
      const before = busyDirs();
      const pid = await withCompetitor(async (p) => {
        const c0 = cpuSeconds(p);
        await sleep(600);
        assert.ok(cpuSeconds(p) - c0 > 0.3, `the ${kind} competitor used ${cpuSeconds(p) - c0} CPU-s in 0.6 s`);
        if (kind === 'train') assert.match(readFileSync(`/proc/${p}/cmdline`, 'utf8'), /brown-small/);
        return p;
      }, kind);
      assert.ok(!alive(pid), `competitor ${pid} still runs`);
      assert.deepEqual(busyDirs(), before);
    });
  }

  it('mod bench gemm --busy --rounds 2 --json gives both rounds', async () => {
    const io = captureIo();
    assert.equal(await main(['bench', 'gemm', '--busy', '--rounds', '2', '--repeats', '1', '--json'], io), 0, io.stderr);
    const r = JSON.parse(io.stdout) as { gemm: { threads: number; competitor: string; rounds: Array<Record<string, Array<{ gflops: number }>>> } };
    assert.equal(r.gemm.competitor, 'loop');
    assert.equal(r.gemm.rounds.length, 2);
    for (const round of r.gemm.rounds) {
      assert.deepEqual(Object.keys(round), ['quiet', 'quiet1', 'busy', 'busy1']);
      for (const part of Object.values(round)) assert.ok(part.length === 4 && part.every((x) => x.gflops > 0));
    }
    const bad = captureIo();
    assert.equal(await main(['bench', 'gemm', '--rounds', '2'], bad), 2);
    assert.equal(bad.stderr, 'error: --rounds repeats a --busy measurement: add --busy, or drop --rounds\n');
  });

  it('the busy table gives medians over rounds, the lowest ratio and the spreads of the quiet and busy medians', () => {
    const row = (gflops: number): Array<{ m: number; k: number; n: number; gflops: number; threads: number }> => [{ m: 8, k: 8, n: 8, gflops, threads: 2 }];
    const round = (quiet: number, busy: number, busy1: number): { threads: number; quiet: ReturnType<typeof row>; quiet1: ReturnType<typeof row>; busy: ReturnType<typeof row>; busy1: ReturnType<typeof row> } =>
      ({ threads: 2, quiet: row(quiet), quiet1: row(100), busy: row(busy), busy1: row(busy1) });
    const lines = gemmBusyTable([round(190, 90, 100), round(200, 100, 80), round(205, 110, 100)], 'train').split('\n');
    assert.match(lines[0]!, /busy 2t\/1t\s+2t\/1t lowest\s+quiet 2t spread\s+busy 2t spread\s+busy 1t spread$/);
    // ratios 0.9, 1.25, 1.1: median 1.10, lowest 0.90; quiet 190..205 around 200: spread 7.5 %; busy 90..110 around
    // 100: spread 20 %; busy 1 thread 80..100 around 100: spread 20 %
    assert.match(lines[1]!, /^8\s+8\s+8\s+200\.0\s+100\.0\s+100\.0\s+100\.0\s+1\.10x\s+0\.90x\s+7\.5 %\s+20\.0 %\s+20\.0 %$/);
    assert.match(lines[2]!, /medians over 3 rounds; busy = beside a second brown-small training process/);
  });
});
