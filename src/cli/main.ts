// The `mod` command line. bin/mod.js calls main(argv) and exits with the code it returns:
// 0 success, 2 a user error (one line `error: ...`, no stack), 1 a bug (one line too; MOD_DEBUG=1 prints the stack).
// reportError is the one place where a failure becomes output: every command's errors pass through it.
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import '../kernels/node.js'; // registers the native backend
import { ConfigError, UserError } from '../errors.js';
import { registerBench } from './bench.js';
import { registerCompare } from './compare.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerInfo } from './info.js';
import { type Io, processIo } from './io.js';
import { registerSample } from './sample.js';
import { registerSweep } from './sweep.js';
import { addThreadsOption } from './threads.js';
import { registerTrain } from './train.js';
import { registerView } from './view.js';

export const EXIT_USER_ERROR = 2;
export const EXIT_BUG = 1;

function buildProgram(io: Io): Command {
  const program = new Command('mod')
    .description('Mixture-of-Depths transformer language models: train, compare with dense at equal compute, sample.')
    .enablePositionalOptions()
    .exitOverride()
    // Commander's errors are one line too: "error: unknown command 'trian' (Did you mean train?)".
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (text, write) => write(`${text.trimEnd().replace(/\s*\n\s*/g, ' ')}\n`) })
    .showSuggestionAfterError();
  registerTrain(program, io);
  registerSample(program, io);
  registerEval(program, io);
  registerInfo(program, io);
  registerBench(program, io);
  registerCompare(program, io);
  registerSweep(program, io);
  registerExport(program, io);
  registerView(program, io);
  addThreadsOption(program);
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (io === processIo) quietOnClosedStdout();
  try {
    const program = buildProgram(io);
    checkHelpTopic(program, argv);
    // `mod` alone shows the help on stdout, as `mod --help` does (not as an error).
    await program.parseAsync(argv.length === 0 ? ['--help'] : argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e, io);
  }
}

/** `mod help NAME` for a NAME that is no command: one line (Commander would print the whole help as the error). */
function checkHelpTopic(program: Command, argv: readonly string[]): void {
  const names = program.commands.map((c) => c.name());
  if (argv[0] === 'help' && argv[1] !== undefined && !names.includes(argv[1])) {
    throw new ConfigError(`mod help: there is no command '${argv[1]}'; the commands are ${names.filter((n) => n !== 'help').join(', ')}`);
  }
}

let stdoutGuarded = false;

/** `mod sample | head`: a reader that went away ends the process quietly (EPIPE), not with a stack trace. */
function quietOnClosedStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

/** Prints an error the way the CLI does and returns its exit code. */
export function reportError(e: unknown, io: Io, env: NodeJS.ProcessEnv = process.env): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (or the help).
    return e.exitCode === 0 ? 0 : EXIT_USER_ERROR;
  }
  if (e instanceof UserError) {
    io.err(`error: ${oneLine(e.message)}\n`);
    return EXIT_USER_ERROR;
  }
  const system = systemError(e);
  if (system !== null) {
    io.err(`error: ${system}\n`);
    return EXIT_USER_ERROR;
  }
  if (env.MOD_DEBUG === '1') {
    io.err(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  } else {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    io.err(`error: internal error: ${oneLine(what)} (run with MOD_DEBUG=1 for the stack)\n`);
  }
  return EXIT_BUG;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** Operating-system failures the user's environment causes (full disk, permissions, missing paths): not bugs. */
const SYSTEM_CODES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device: free some disk space',
  EDQUOT: 'disk quota exceeded: free some space',
  EACCES: 'permission denied: choose a path you may write to',
  EPERM: 'operation not permitted: choose a path you may write to',
  EROFS: 'read-only file system: choose a writable path',
  ENOTDIR: 'a part of the path is not a directory: check the path',
  EISDIR: 'is a directory: give a file',
  EEXIST: 'already exists: choose another path',
  ENOENT: 'no such file or directory: check the path',
  ENAMETOOLONG: 'file name too long: choose a shorter path',
  ELOOP: 'too many symbolic links: check the path',
  EMFILE: 'too many open files: close other programs or raise the limit (ulimit -n)',
  ENFILE: 'too many open files in the system: try again later',
  EIO: 'input/output error: check the disk',
  ENOMEM: 'out of memory: use a smaller model or batch',
};

/** A one-line message for a Node system error (one with an errno code) from the environment, or null. */
function systemError(e: unknown): string | null {
  if (!(e instanceof Error)) return null;
  if (e instanceof RangeError && e.message.includes('Array buffer allocation failed')) {
    return 'out of memory while allocating an array: use a smaller model, batch or blockSize, or free memory';
  }
  const { code, syscall, path } = e as NodeJS.ErrnoException;
  const what = code === undefined ? undefined : SYSTEM_CODES[code];
  if (what === undefined) return null;
  return `${syscall ?? 'file operation'}${path === undefined ? '' : ` ${path}`}: ${what} (${code})`;
}

// Allows `npx tsx src/cli/main.ts ...` during development.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
