// `mod view`'s server: it hands out the page and the checkpoint's files and nothing else (traversal plain and
// percent-encoded, absolute paths, symlinks, hidden files, other methods), listens on 127.0.0.1 unless told
// otherwise, fails in one line on a port in use, stops on Ctrl-C, and --export writes the static site.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseViewOptions, PAGE_CKPT_FILES, PAGE_FILES } from '../../src/cli/view.js';
import { createViewServer, listen, requestTarget, serverUrl, type ViewSite } from '../../src/cli/view-server.js';
import { tempDir } from '../train/fixtures/tiny-run.js';
import { listeningAddresses, root, runMod, startView, stop, trainTiny } from '../view/fixtures.js';

/** GET (or `method`) of a raw request target, sent as is: no URL normalisation of `..` or escapes. */
function request(port: number, target: string, method = 'GET'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject).end();
  });
}

describe('the view server', () => {
  const dir = tempDir('mod-view-server-');
  const outside = path.join(dir, 'secret.txt');
  const site: ViewSite = { bundleDir: path.join(dir, 'bundle'), ckptDir: path.join(dir, 'ckpt') };
  let port = 0;
  const server = createViewServer(site);

  before(async () => {
    writeFileSync(outside, 'SECRET');
    mkdirSync(site.bundleDir);
    mkdirSync(path.join(site.ckptDir, 'sub'), { recursive: true });
    writeFileSync(path.join(site.bundleDir, 'index.html'), '<!doctype html><p>page</p>');
    writeFileSync(path.join(site.bundleDir, 'page.js'), 'void 0;');
    writeFileSync(path.join(site.ckptDir, 'config.json'), '{"ok":true}');
    writeFileSync(path.join(site.ckptDir, '.hidden'), 'SECRET');
    writeFileSync(path.join(site.ckptDir, 'sub', 'x.json'), 'SECRET');
    symlinkSync(outside, path.join(site.ckptDir, 'link.json'));
    symlinkSync(path.join(site.ckptDir, 'config.json'), path.join(site.ckptDir, 'inside-link.json'));
    symlinkSync(outside, path.join(site.bundleDir, 'link.js'));
    port = (await listen(server, '127.0.0.1', 0)).port;
  });
  after(() => server.close());

  it('serves the page at /, its files, and the checkpoint files under /ckpt/, with their types', async () => {
    const index = await request(port, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /<p>page<\/p>/);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
    assert.equal((await request(port, '/page.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    const cfg = await request(port, '/ckpt/config.json?v=1');
    assert.deepEqual([cfg.status, cfg.body], [200, '{"ok":true}']);
    assert.equal((await request(port, '/ckpt/config%2Ejson')).status, 200, 'a percent-encoded plain name is the same file');
  });

  it('answers 404 to traversal, plain or percent-encoded, absolute paths, symlinks, hidden files and subdirectories', async () => {
    const attempts = [
      '/../secret.txt', '/ckpt/../../secret.txt', '/ckpt/../config.json', '/%2e%2e/secret.txt', '/%2E%2E/%2E%2E/secret.txt',
      '/ckpt/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt', '/ckpt/..%2F..%2Fsecret.txt', '/ckpt/%2e%2e%5csecret.txt',
      '/ckpt/..\\..\\secret.txt', '/%252e%252e/secret.txt', '/./page.js', '/ckpt/./config.json', '/ckpt/%2e/config.json',
      `/${outside}`, `//${outside.slice(1)}`, `/${encodeURIComponent(outside)}`, `/ckpt/${encodeURIComponent(outside)}`,
      `http://127.0.0.1:${port}${outside}`, '/etc/passwd', '//etc/passwd', '/%2Fetc%2Fpasswd', '/ckpt//config.json',
      '/ckpt/link.json', '/ckpt/inside-link.json', '/link.js', '/ckpt/.hidden', '/ckpt/%2ehidden', '/ckpt/sub/x.json',
      '/ckpt/sub', '/ckpt/', '/ckpt', '/ckpt/%00config.json', '/ckpt/%E0%A4%A', '/nothing.js',
    ];
    for (const target of attempts) {
      const r = await request(port, target);
      assert.equal(r.status, 404, `${target} gave ${r.status}`);
      assert.ok(!r.body.includes('SECRET'), target);
    }
  });

  it('is read-only: other methods get 405', async () => {
    for (const method of ['PUT', 'POST', 'DELETE']) assert.equal((await request(port, '/ckpt/config.json', method)).status, 405);
    assert.equal(readFileSync(path.join(site.ckptDir, 'config.json'), 'utf8'), '{"ok":true}');
    const head = await request(port, '/page.js', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  });

  it('maps request targets to one file of the two directories, or to nothing', () => {
    assert.deepEqual(requestTarget(site, '/'), [site.bundleDir, 'index.html']);
    assert.deepEqual(requestTarget(site, '/ckpt/model.safetensors#x'), [site.ckptDir, 'model.safetensors']);
    for (const t of ['', '*', 'page.js', '/a/b', '/ckpt/a/b', '/%2e%2e', '/..', '/ckpt/..', '/.env']) assert.equal(requestTarget(site, t), null, t);
  });

  it('prints IPv6 URLs in brackets', () => {
    assert.equal(serverUrl({ address: '::1', family: 'IPv6', port: 80 }), 'http://[::1]:80/');
    assert.equal(serverUrl({ address: '127.0.0.1', family: 'IPv4', port: 8080 }), 'http://127.0.0.1:8080/');
  });
});

describe('mod view, the command', () => {
  const dir = tempDir('mod-view-cli-');
  let ckpt = '';
  before(() => {
    ckpt = trainTiny(dir, 'mod', true);
  });

  it('listens on 127.0.0.1 only by default, prints its URL, and Ctrl-C stops it', async () => {
    const v = await startView(['--ckpt', ckpt, '--port', '0']);
    const port = Number(new URL(v.url).port);
    assert.match(v.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.deepEqual(listeningAddresses(port), ['127.0.0.1']);
    assert.equal((await request(port, '/ckpt/model.safetensors', 'HEAD')).status, 200);
    assert.equal(v.stderr(), '');
    const exit = await stop(v);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(v.stdout(), /mod view: stopped\n$/);
    assert.deepEqual(listeningAddresses(port), []);
  });

  it('listens elsewhere only when told, with a warning', async () => {
    const v = await startView(['--ckpt', ckpt, '--port', '0', '--host', '0.0.0.0']);
    const port = Number(new URL(v.url).port);
    try {
      assert.deepEqual(listeningAddresses(port), ['0.0.0.0']);
      assert.match(v.stderr(), /^warning: --host 0\.0\.0\.0: the page and the checkpoint files are readable by anyone who can reach this machine on port \d+\n$/);
    } finally {
      await stop(v);
    }
  });

  it('--open without a browser to start says so and serves all the same', async () => {
    const v = await startView(['--ckpt', ckpt, '--port', '0', '--open'], { ...process.env, PATH: path.join(dir, 'no-programs-here') });
    try {
      const port = Number(new URL(v.url).port);
      assert.equal((await request(port, '/')).status, 200);
      for (let i = 0; i < 200 && v.stderr() === ''; i++) await new Promise((resolve) => setTimeout(resolve, 50)); // the opener fails asynchronously
      assert.match(v.stderr(), new RegExp(`^could not open a browser \\(xdg-open: .*ENOENT\\): open ${v.url.replace(/[.]/g, '\\.')} yourself\n$`));
    } finally {
      assert.equal((await stop(v)).code, 0);
    }
  });

  it('a port in use is a one-line error that says how to fix it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    assert.ok(address !== null && typeof address !== 'string');
    try {
      const r = runMod(['view', '--ckpt', ckpt, '--port', String(address.port)]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `error: port ${address.port} on 127.0.0.1 is in use: stop what is using it, or pick another port with --port N (--port 0 picks a free one)\n`);
    } finally {
      blocker.close();
    }
  });

  it('bad options and checkpoints are one-line errors', () => {
    assert.throws(() => parseViewOptions({ ckpt: 'x', port: '70000' }), /--port.*70000/);
    const missing = runMod(['view', '--ckpt', path.join(dir, 'nope'), '--port', '0']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^error: .*nope/);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
  });

  it('--export writes the page and the checkpoint files the page loads, and nothing else', () => {
    const out = path.join(dir, 'site');
    const r = runMod(['view', '--ckpt', ckpt, '--export', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^wrote the viewer of .* to .*site \(5 files, [\d.]+ kB\); serve it with any static file server/);
    assert.deepEqual(readdirSync(out).sort(), [...PAGE_FILES, 'ckpt'].sort());
    assert.deepEqual(readdirSync(path.join(out, 'ckpt')).sort(), [...PAGE_CKPT_FILES].sort());
    assert.deepEqual(readFileSync(path.join(out, 'page.js')), readFileSync(path.join(root, 'dist', 'view', 'page.js')));
    assert.deepEqual(readFileSync(path.join(out, 'ckpt', 'model.safetensors')), readFileSync(path.join(ckpt, 'model.safetensors')));
    assert.ok(!existsSync(path.join(out, 'ckpt', 'optimizer.safetensors')));
  });
});
