// Contention measurements (`mod bench gemm|train --busy`): a CPU-bound competitor process, left unpinned as a real
// one would be, runs while a benchmark is measured; the benchmark runs at N threads and at 1 thread, quiet and
// beside the competitor, so each N-thread figure has a 1-thread figure taken under the same load.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { activeThreads, setThreads } from '../kernels/node.js';

// A busy loop that prints "ready" once running and exits by itself if its parent goes away.
const competitorScript = `
const parent = process.ppid;
process.stdout.write('ready\\n');
for (let i = 0; ; i++) if ((i & 0xfffff) === 0 && process.ppid !== parent) process.exit(0);
`;

/** Runs fn while a CPU-bound competitor process spins; the competitor is stopped when fn settles. */
export async function withCompetitor<T>(fn: () => T | Promise<T>): Promise<T> {
  const child: ChildProcess = spawn(process.execPath, ['-e', competitorScript], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await once(child.stdout!, 'data');
    return await fn();
  } finally {
    child.kill('SIGKILL');
  }
}

/** One benchmark's results at N threads and at 1 thread, quiet and beside a competitor. */
export interface BusyResults<R> {
  threads: number;
  quiet: R;
  quiet1: R;
  busy: R;
  busy1: R;
}

/** Runs `bench` at the current thread count and at 1 thread, quiet and then beside a competitor. */
export async function runBusy<R>(bench: () => Promise<R>): Promise<BusyResults<R>> {
  const threads = activeThreads();
  const at = async (n: number): Promise<R> => {
    setThreads(n);
    try {
      return await bench();
    } finally {
      setThreads(threads);
    }
  };
  const quiet = await at(threads);
  const quiet1 = await at(1);
  const { busy, busy1 } = await withCompetitor(async () => ({ busy: await at(threads), busy1: await at(1) }));
  return { threads, quiet, quiet1, busy, busy1 };
}
