// Running `mod` in a test: in this process (captured output), or as a real child process for the tests that signal
// it or run two at once.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

/** Runs `mod ...argv` in this process and returns its exit code and captured output. */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** The command that runs the CLI: the TypeScript sources under tsx, or the compiled bin/mod.js. */
function cliCommand(): { root: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  let root = path.dirname(here);
  while (!existsSync(path.join(root, 'package.json'))) {
    if (path.dirname(root) === root) throw new Error(`no package.json above ${here}`);
    root = path.dirname(root);
  }
  return here.endsWith('.ts')
    ? { root, args: ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts')] }
    : { root, args: [path.join(root, 'bin', 'mod.js')] };
}

export interface Exit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Sees each stdout line and may signal the child. */
  onLine?: (line: string, kill: (s: NodeJS.Signals) => void) => void;
}

/** Runs `mod ...args` from the package root and resolves with its exit and output. */
export function spawnCli(args: string[], opts: SpawnOptions = {}): Promise<Exit> {
  const { root, args: cmd } = cliCommand();
  const child = spawn(process.execPath, [...cmd, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) opts.onLine?.(line, (s) => child.kill(s));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}
