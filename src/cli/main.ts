// The `mod` command line. bin/mod.js calls main(argv) and exits with the code it returns:
// 0 success, 2 a user error (one line `error: ...`, no stack), 1 a bug (the stack is printed).
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import '../kernels/node.js'; // registers the native backend
import { UserError } from '../errors.js';
import { registerBench } from './bench.js';
import { registerCompare } from './compare.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerInfo } from './info.js';
import { type Io, processIo } from './io.js';
import { registerSample } from './sample.js';
import { registerSweep } from './sweep.js';
import { registerTrain } from './train.js';

export const EXIT_USER_ERROR = 2;
export const EXIT_BUG = 1;

function buildProgram(io: Io): Command {
  const program = new Command('mod')
    .description('Mixture-of-Depths transformer language models: train, compare with dense at equal compute, sample.')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (text, write) => write(text) })
    .showSuggestionAfterError();
  registerTrain(program, io);
  registerSample(program, io);
  registerEval(program, io);
  registerInfo(program, io);
  registerBench(program, io);
  registerCompare(program, io);
  registerSweep(program, io);
  registerExport(program, io);
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e, io);
  }
}

/** Prints an error the way the CLI does and returns its exit code. */
export function reportError(e: unknown, io: Io): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (or the help).
    return e.exitCode === 0 ? 0 : EXIT_USER_ERROR;
  }
  if (e instanceof UserError) {
    io.err(`error: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return EXIT_USER_ERROR;
  }
  io.err(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT_BUG;
}

// Allows `npx tsx src/cli/main.ts ...` during development.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
