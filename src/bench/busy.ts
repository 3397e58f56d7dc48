// Contention measurements (`mod bench gemm|train --busy[=loop|train]`): a CPU-bound competitor process, left
// unpinned as a real one would be, runs while a benchmark is measured; the benchmark runs at N threads and at 1
// thread, quiet and beside the competitor, so each N-thread figure has a 1-thread figure taken under the same load.
// `--rounds R` repeats the whole measurement to show how much the medians move between repeats.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { activeThreads, setThreads } from '../kernels/node.js';

/** `loop`: one busy loop. `train`: a second training process (brown-small, default threads), as a user would run. */
export const COMPETITORS = ['loop', 'train'] as const;
export type Competitor = (typeof COMPETITORS)[number];

/** `--busy` alone means a loop; anything but a competitor's name is a one-line error. */
export function parseCompetitor(raw: string | true): Competitor {
  if (raw === true) return 'loop';
  const c = COMPETITORS.find((k) => k === raw);
  if (c === undefined) throw new ConfigError(`--busy=${raw} is not a competitor: use --busy=loop or --busy=train`);
  return c;
}

// Each competitor prints "ready" once it is computing and exits by itself if its parent goes away.
const loopScript = `
const parent = process.ppid;
process.stdout.write('ready\\n');
for (let i = 0; ; i++) if ((i & 0xfffff) === 0 && process.ppid !== parent) break;
`;

const indexUrl = new URL('../index.js', import.meta.url).href;

function trainScript(out: string): string {
  return `
const { getPreset, train } = await import(${JSON.stringify(indexUrl)});
const parent = process.ppid;
const stop = new AbortController();
const p = getPreset('brown-small');
let ready = false;
await train({ model: p.model, train: { ...p.train, maxIters: 1000000, lrDecayIters: 1000000, out: ${JSON.stringify(out)} } }, {
  signal: stop.signal,
  onStep: () => {
    if (!ready) { ready = true; process.stdout.write('ready\\n'); }
    if (process.ppid !== parent) stop.abort();
  },
});
`;
}

/**
 * Runs fn (given the competitor's pid) while a competitor process computes; the competitor is killed, and its files
 * removed, when fn settles.
 */
export async function withCompetitor<T>(fn: (pid: number) => T | Promise<T>, kind: Competitor = 'loop'): Promise<T> {
  const out = kind === 'train' ? mkdtempSync(path.join(os.tmpdir(), 'mod-busy-')) : null;
  const script = out === null ? loopScript : trainScript(path.join(out, 'run'));
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const exited = once(child, 'exit').then(() => {
      throw new Error(`the ${kind} competitor process exited before it was ready`);
    });
    await Promise.race([once(child.stdout!, 'data'), exited]);
    exited.catch(() => undefined);
    return await fn(child.pid!);
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    if (out !== null) rmSync(out, { recursive: true, force: true });
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

/** Runs `bench` at the current thread count and at 1 thread, quiet and then beside a competitor, `rounds` times. */
export async function runBusy<R>(bench: () => Promise<R>, kind: Competitor = 'loop', rounds = 1): Promise<BusyResults<R>[]> {
  const threads = activeThreads();
  const at = async (n: number): Promise<R> => {
    setThreads(n);
    try {
      return await bench();
    } finally {
      setThreads(threads);
    }
  };
  const results: BusyResults<R>[] = [];
  for (let i = 0; i < rounds; i++) {
    const quiet = await at(threads);
    const quiet1 = await at(1);
    const { busy, busy1 } = await withCompetitor(async () => ({ busy: await at(threads), busy1: await at(1) }), kind);
    results.push({ threads, quiet, quiet1, busy, busy1 });
  }
  return results;
}
