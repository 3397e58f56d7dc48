#!/usr/bin/env node
// Dev tool: the screenshot of `mod view` in docs/. Starts `mod view` on a free port, drives Debian's Chromium with
// playwright-core, types a text, generates from it, and writes a full-page PNG.
//   node scripts/view-screenshot.mjs CKPT_DIR OUT.png
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [ckpt, out] = process.argv.slice(2);
if (ckpt === undefined || out === undefined) {
  console.error('usage: node scripts/view-screenshot.mjs CKPT_DIR OUT.png');
  process.exit(2);
}
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// Short enough that the prompt and 50 new tokens fit in one window of 128, so decoding stays incremental.
const text = 'The jury said it did find that many of the election laws are outmoded.';

const server = spawn(process.execPath, [path.join(root, 'bin', 'mod.js'), 'view', '--ckpt', ckpt, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let buf = '';
  server.stdout.setEncoding('utf8').on('data', (c) => {
    buf += c;
    const m = /^(http:\/\/\S+\/)$/m.exec(buf);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`mod view exited (${code})`)));
});
const ctx = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'mod-shot-')), {
  executablePath: process.env.MOD_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  bypassCSP: true,
  viewport: { width: 1280, height: 900 },
  deviceScaleFactor: 1,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForFunction('window.modView && window.modView.ready');
  await page.locator('#text').fill(text);
  await page.waitForFunction(`window.modView.analysis && window.modView.analysis.text === ${JSON.stringify(text)}`, undefined, { timeout: 120_000 });
  await page.fill('#tokens-n', '50');
  await page.fill('#seed', '1');
  await page.click('#generate');
  await page.waitForFunction('window.modView.generated && window.modView.generated.done', undefined, { timeout: 120_000 });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${await page.textContent('#status')}; ${await page.textContent('#gen-status')}`);
} finally {
  await ctx.close();
  server.kill('SIGINT');
}
