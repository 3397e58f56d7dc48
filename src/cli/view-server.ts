// The static, read-only web server behind `mod view`: the page's bundle (dist/view) at /, and the checkpoint's files
// at /ckpt/. A request names one file by a fixed shape, `/`, `/<name>` or `/ckpt/<name>`, each segment
// percent-decoded on its own; anything else is a 404: `..` and `.` (plain or %2e-encoded), encoded slashes and
// backslashes, empty segments (`//etc/passwd`), hidden files, absolute-form targets, subdirectories, and any path
// that is not a regular file directly in its directory (a symlink, even to a file inside, is refused by lstat). Only
// GET and HEAD; the page computes everything itself, so nothing here runs the model.
import { createReadStream, lstatSync, realpathSync, type Stats } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { UserError } from '../errors.js';

/** The directories the server reads, and nothing else. */
export interface ViewSite {
  /** The built page: index.html, page.js, style.css. */
  bundleDir: string;
  /** The checkpoint directory, served under /ckpt/. */
  ckptDir: string;
}

/** The page's resources (also what `--export` writes): everything comes from the same origin. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
};

/** A path segment percent-decoded, or null if it could name anything but one plain file name. */
function fileName(segment: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    return null; // malformed escapes
  }
  if (name === '' || name.startsWith('.') || /[/\\\0]/.test(name)) return null;
  return name;
}

/** The file a request target names, as [directory, file name], or null (a 404). */
export function requestTarget(site: ViewSite, target: string): [string, string] | null {
  const rawPath = target.split(/[?#]/, 1)[0]!;
  if (!rawPath.startsWith('/')) return null; // absolute-form (http://host/...) and the like
  if (rawPath === '/') return [site.bundleDir, 'index.html'];
  const segments = rawPath.slice(1).split('/');
  if (segments.length === 1) {
    const name = fileName(segments[0]!);
    return name === null ? null : [site.bundleDir, name];
  }
  if (segments.length === 2 && segments[0] === 'ckpt') {
    const name = fileName(segments[1]!);
    return name === null ? null : [site.ckptDir, name];
  }
  return null;
}

/** The stats of `name` in `dir` if it is a regular file there (not a symlink, not elsewhere), else null. */
export function servableFile(dir: string, name: string): { file: string; stats: Stats } | null {
  const file = path.join(dir, name);
  try {
    const stats = lstatSync(file);
    if (!stats.isFile()) return null;
    if (path.dirname(realpathSync(file)) !== realpathSync(dir)) return null;
    return { file, stats };
  } catch {
    return null;
  }
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function handle(site: ViewSite, req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('Cache-Control', 'no-cache');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'read-only: GET and HEAD only\n', { Allow: 'GET, HEAD' });
  const target = requestTarget(site, req.url ?? '');
  const found = target === null ? null : servableFile(target[0], target[1]);
  if (found === null) return send(res, 404, 'not found\n');
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(found.file)] ?? 'application/octet-stream', 'Content-Length': found.stats.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(found.file).on('error', () => res.destroy()).pipe(res);
}

/** The server (not listening yet). */
export function createViewServer(site: ViewSite): http.Server {
  return http.createServer((req, res) => handle(site, req, res));
}

/** A one-line error for a failed listen, with the fix. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  if (e.code === 'EADDRINUSE') return new UserError(`port ${port} on ${host} is in use: stop what is using it, or pick another port with --port N (--port 0 picks a free one)`);
  if (e.code === 'EACCES') return new UserError(`no permission to listen on ${host} port ${port}: use a port above 1023 with --port N`);
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return new UserError(`--host ${host} is not an address of this machine: leave it out for 127.0.0.1, or give one of this machine's addresses`);
  return e;
}

/** Listens on host:port (port 0: a free one) and resolves with the address bound. */
export function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(listenError(e, host, port));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', onError);
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error(`listening on ${host}:${port} gave no TCP address (${a})`));
      else resolve(a);
    });
  });
}

/** The http:// URL of a bound address (IPv6 in brackets). */
export function serverUrl(a: AddressInfo): string {
  const host = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}/`;
}
