// Fixtures of the `mod view` tests: tiny checkpoints trained by the real CLI, `mod view` as a real process, a plain
// static file server for the exported site, Debian's Chromium driven by playwright-core, and what the kernel says
// a port listens on.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { tinyText, tinyTextFile } from '../train/fixtures/tiny-run.js';

/** The repository root (tests run compiled from dist/test, or from test/ under tsx). */
export const root = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = path.dirname(dir);
  }
  return dir;
})();
const modBin = path.join(root, 'bin', 'mod.js');

/** Runs `mod ...args` to completion. */
export function runMod(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [modBin, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The tiny model: 4 layers, so blocks 1 and 3 are routed (capacity 0.25) for a MoD run; char tokenizer. */
const TINY = [
  '--nLayer=4', '--nHead=2', '--nEmbd=16', '--blockSize=48', '--batchSize=4', '--tokenizer=char', '--evalIters=2',
  '--warmupIters=2', '--lrDecayIters=40', '--lr=0.01', '--minLr=0.001', '--maxIters=40', '--evalInterval=40',
];

/** Trains a tiny checkpoint with `mod train` on the tiny word-salad text into dir/name; returns its path. */
export function trainTiny(dir: string, name: string, mod: boolean): string {
  const out = path.join(dir, name);
  const routing = mod ? ['--mod.capacity=0.25', '--mod.every=2'] : [];
  const r = runMod(['train', ...TINY, ...routing, `--data=${tinyTextFile(dir, tinyText())}`, `--out=${out}`]);
  if (r.status !== 0) throw new Error(`mod train failed: ${r.stderr}`);
  return out;
}

export interface Running {
  child: ChildProcessWithoutNullStreams;
  /** The first line of stdout that is a URL. */
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `cmd args` and resolves once a stdout or stderr line matches `ready` (its first group is the URL). */
function startServer(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const m = ready.exec(out) ?? ready.exec(err);
      if (m !== null) resolve({ child, url: m[1]!, stdout: () => out, stderr: () => err, exited });
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      check();
    });
    void exited.then(({ code }) => reject(new Error(`${cmd} ${args.join(' ')} exited (${code}) before it was ready:\n${out}${err}`)));
  });
}

/** `mod view ...args` (add --port 0 for a free port), resolved once it prints its URL. */
export function startView(args: string[], env?: NodeJS.ProcessEnv): Promise<Running> {
  return startServer(process.execPath, [modBin, 'view', ...args], /^(http:\/\/\S+\/)$/m, env);
}

/** A plain static file server (Python's http.server, not ours) on 127.0.0.1 serving `dir`. */
export function startStaticServer(dir: string): Promise<Running> {
  return startServer('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, '0'], /Serving HTTP on \S+ port (\d+)/).then((r) => ({ ...r, url: `http://127.0.0.1:${r.url}/` }));
}

/** Stops a server started here with SIGINT (Ctrl-C) and waits for it to exit. */
export async function stop(r: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  r.child.kill('SIGINT');
  return r.exited;
}

/** The Chromium the tests drive: MOD_CHROMIUM, or Debian's (`apt-get install chromium`, as .ci/run does). */
export const chromiumPath = process.env.MOD_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, with a fresh profile and no background traffic (the machine's network is closed).
 * Fails, never skips, when it cannot start. CSP is bypassed for the test's own scripts only (Playwright evaluates
 * strings); that the page loads nothing from elsewhere is checked on its requests.
 */
export async function launchBrowser(): Promise<BrowserContext> {
  try {
    return await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'mod-chromium-')), {
      executablePath: chromiumPath,
      headless: true,
      bypassCSP: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    throw new Error(`Chromium (${chromiumPath}) could not start: install it with \`apt-get install chromium\` (.ci/run does) or set MOD_CHROMIUM: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/** The local addresses the kernel lists as listening on TCP `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. */
export function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A = LISTEN
      const [addr, hexPort] = f[1]!.split(':');
      if (parseInt(hexPort!, 16) === port) out.push(decodeAddress(addr!));
    }
  }
  return out;
}

/** /proc/net/tcp's hex address: IPv4 as one little-endian word, IPv6 as four. */
function decodeAddress(hex: string): string {
  const bytes = (word: string): number[] => [6, 4, 2, 0].map((i) => parseInt(word.slice(i, i + 2), 16));
  if (hex.length === 8) return bytes(hex).join('.');
  const b = [0, 8, 16, 24].flatMap((i) => bytes(hex.slice(i, i + 8)));
  return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
}
