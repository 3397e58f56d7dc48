// `mod view`: the routing viewer. Serves the page built into dist/view (scripts/build-view.js) and one checkpoint's
// files, read-only, on 127.0.0.1 unless --host says otherwise (src/cli/view-server.ts), until Ctrl-C; or, with
// --export, writes the same page and the checkpoint files the page loads as a static site. The model runs in the
// page; the server only hands out files.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError, UserError } from '../errors.js';
import { formatSi } from '../format.js';
import { CONFIG_FILE, MODEL_FILE } from '../train/checkpoint-format.js';
import type { Io } from './io.js';
import { optionValue } from './options.js';
import { createViewServer, listen, serverUrl, type ViewSite } from './view-server.js';

export interface ViewOptions {
  ckpt: string;
  port: number;
  host: string;
  open: boolean;
  /** Write the static site here instead of serving. */
  exportDir: string | null;
}

interface RawViewOpts {
  ckpt: string;
  port?: string;
  host?: string;
  open?: boolean;
  export?: string;
}

export const viewDefaults = { port: 8080, host: '127.0.0.1' } as const;
/** The page's own files in dist/view. */
export const PAGE_FILES = ['index.html', 'page.js', 'style.css'] as const;
/** The checkpoint files the page fetches (the optimizer state is not needed to look at a model). */
export const PAGE_CKPT_FILES = [CONFIG_FILE, MODEL_FILE] as const;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function registerView(program: Command, io: Io): void {
  program
    .command('view')
    .description('see which tokens each routed block processes: a page that runs the checkpoint in your browser')
    .requiredOption('--ckpt <dir>', 'checkpoint directory (the --out of a training run)')
    .option('--port <n>', `port, 0 for a free one (default ${viewDefaults.port})`)
    .option('--host <h>', `address to listen on (default ${viewDefaults.host}; anything else is reachable from other machines)`)
    .option('--open', 'open the page in a browser, if one can be started')
    .option('--export <outdir>', 'write the page and the checkpoint files as a static site instead of serving')
    .action(async (raw: RawViewOpts) => {
      await viewCommand(parseViewOptions(raw), io);
    });
}

export function parseViewOptions(raw: RawViewOpts): ViewOptions {
  if (raw.ckpt === '') throw new ConfigError(`--ckpt='' is empty: give a checkpoint directory`);
  if (raw.host === '') throw new ConfigError(`--host='' is empty: leave it out for ${viewDefaults.host}`);
  if (raw.export === '') throw new ConfigError(`--export='' is empty: give the directory to write the site to`);
  return {
    ckpt: raw.ckpt,
    port: optionValue('port', { type: 'int', min: 0, max: 65535, doc: 'port' }, raw.port, viewDefaults.port),
    host: raw.host ?? viewDefaults.host,
    open: raw.open === true,
    exportDir: raw.export ?? null,
  };
}

/** dist/view of this package (this module runs from dist/src/cli, or from src/cli under tsx). */
export function bundleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
  const dir = path.join(root, 'dist', 'view');
  const missing = PAGE_FILES.find((f) => !existsSync(path.join(dir, f)));
  if (missing !== undefined) throw new UserError(`the viewer page is not built (${path.join(dir, missing)} is missing): run \`npm run build\` in ${root}`);
  return dir;
}

export async function viewCommand(opts: ViewOptions, io: Io, stop?: AbortSignal): Promise<void> {
  const { loadModel } = await import('../train/load.js');
  const { model, config } = loadModel(opts.ckpt); // a CheckpointError says what is wrong with the directory
  const kind = model.routedBlocks().length > 0 ? 'Mixture-of-Depths' : 'dense';
  const what = `${config.preset ?? 'checkpoint'} (${kind}) from ${opts.ckpt}`;
  const site: ViewSite = { bundleDir: bundleDir(), ckptDir: opts.ckpt };
  if (opts.exportDir !== null) return exportSite(site, opts.exportDir, what, io);
  await serve(site, opts, what, io, stop);
}

function exportSite(site: ViewSite, out: string, what: string, io: Io): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UserError(`--export ${out} is a file: give a directory (it is created if missing)`);
  mkdirSync(path.join(out, 'ckpt'), { recursive: true });
  let bytes = 0;
  const copy = (from: string, to: string): void => {
    copyFileSync(from, to);
    bytes += statSync(to).size;
  };
  for (const f of PAGE_FILES) copy(path.join(site.bundleDir, f), path.join(out, f));
  for (const f of PAGE_CKPT_FILES) copy(path.join(site.ckptDir, f), path.join(out, 'ckpt', f));
  io.out(`wrote the viewer of ${what} to ${out} (${PAGE_FILES.length + PAGE_CKPT_FILES.length} files, ${formatSi(bytes, 'B')}); ` +
    `serve it with any static file server, e.g. \`python3 -m http.server -d ${out}\`\n`);
}

async function serve(site: ViewSite, opts: ViewOptions, what: string, io: Io, stop?: AbortSignal): Promise<void> {
  const server = createViewServer(site);
  const address = await listen(server, opts.host, opts.port);
  const url = serverUrl(address);
  if (!LOOPBACK.has(opts.host)) {
    io.err(`warning: --host ${opts.host}: the page and the checkpoint files are readable by anyone who can reach this machine on port ${address.port}\n`);
  }
  io.out(`mod view: ${what}\n${url}\n(Ctrl-C stops the server)\n`);
  if (opts.open) openBrowser(url, io);
  await untilStopped(stop);
  server.close();
  server.closeAllConnections();
  io.out('mod view: stopped\n');
}

/** Resolves on SIGINT or SIGTERM (or when `stop` aborts). */
function untilStopped(stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.removeListener('SIGINT', done);
      process.removeListener('SIGTERM', done);
      stop?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stop?.addEventListener('abort', done);
  });
}

/** Starts the platform's URL opener, if it has one; says so when it cannot (never fails the command). */
function openBrowser(url: string, io: Io): void {
  const [cmd, ...args] = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  const fail = (why: string): void => io.err(`could not open a browser (${why}): open ${url} yourself\n`);
  try {
    const child = spawn(cmd!, args, { stdio: 'ignore', detached: true });
    child.on('error', (e) => fail(`${cmd}: ${e.message}`));
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) fail(`${cmd} exited with ${code}`);
    });
    child.unref();
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}
