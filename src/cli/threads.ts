// `--threads N` on every command that computes: sets the native kernels' thread count before the command runs
// (overriding MOD_THREADS; default: the cores this process may use).
import { type Command, Option } from 'commander';
import { parseThreads, setThreads } from '../kernels/node.js';

const doc = 'native kernel threads, 1-256 (default: MOD_THREADS, else the CPUs this process may use)';

/** Adds --threads to every leaf command of `program` (checked as it is parsed) and applies it before the action. */
export function addThreadsOption(program: Command): void {
  const visit = (cmd: Command): void => {
    if (cmd.commands.length === 0) cmd.addOption(new Option('--threads <n>', doc).argParser((raw) => parseThreads(raw, '--threads')));
    else cmd.commands.forEach(visit);
  };
  program.commands.forEach(visit);
  program.hook('preAction', (_program, action) => {
    const n: unknown = action.opts()['threads'];
    if (typeof n === 'number') setThreads(n);
  });
}
