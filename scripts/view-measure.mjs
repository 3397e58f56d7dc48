#!/usr/bin/env node
// Dev tool: the figures of docs/view.md. Serves CKPT with `mod view`, drives Debian's Chromium with playwright-core,
// and prints the page's logits against the Node library's (native backend) and whether the routing decisions are
// the same, the page's milliseconds per forward pass (5 runs of the text, median), and whether 50 tokens generated
// in the page (seed 1, temperature 0.8) are `mod sample`'s.
//   node scripts/view-measure.mjs CKPT_DIR [TEXT]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { backendInfo, loadModel, noGrad, releaseGraph } from 'mixture-of-depths';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const mod = path.join(root, 'bin', 'mod.js');
const ckpt = process.argv[2];
if (ckpt === undefined) {
  console.error('usage: node scripts/view-measure.mjs CKPT_DIR [TEXT]');
  process.exit(2);
}
const text = process.argv[3] ?? 'The jury said it did find that many of the registration and election laws are outmoded or inadequate and often ambiguous. It recommended that Fulton legislators act to have these laws studied and revised to the end of modernizing and improving them.';
const prompt = 'The jury said it did find that many of the election laws are outmoded.';
const srv = spawn(process.execPath, [mod, 'view', '--ckpt', ckpt, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((res) => { let b = ''; srv.stdout.setEncoding('utf8').on('data', (c) => { b += c; const m = /^(http:\S+)$/m.exec(b); if (m) res(m[1]); }); });
const ctx = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'mod-measure-')), { executablePath: process.env.MOD_CHROMIUM ?? '/usr/bin/chromium', headless: true, bypassCSP: true, args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await ctx.newPage();
await page.goto(url);
await page.waitForFunction('window.modView && window.modView.ready');
const allMs = [];
for (let rep = 0; rep < 5; rep++) {
  const t = text + ' '.repeat(rep);
  await page.locator('#text').fill(t);
  await page.waitForFunction(`window.modView.analysis && window.modView.analysis.text === ${JSON.stringify(t)}`, undefined, { timeout: 300000 });
  allMs.push(...await page.evaluate('window.modView.analysis.forwardMs'));
}
await page.locator('#text').fill(text);
await page.waitForFunction(`window.modView.analysis && window.modView.analysis.text === ${JSON.stringify(text)}`, undefined, { timeout: 300000 });
const a = await page.evaluate(`(() => { const a = window.modView.analysis; const m = (r) => ({ logits: r.logits.map((l) => Array.from(l)), blocks: r.blocks.map((b) => ({ layer: b.layer, processed: Array.from(b.processed) })) }); return { n: a.ids.length, topk: m(a.topk), causal: m(a.causal) }; })()`);
const { model, tokenizer } = loadModel(ckpt);
const ids = tokenizer.encode(text); const T = model.config.blockSize;
let diff = 0; let same = true;
for (const mode of ['topk', 'causal']) {
  let w = 0;
  for (let s = 0; s < ids.length; s += T, w++) {
    const win = ids.subarray(s, Math.min(ids.length, s + T));
    noGrad(() => {
      const out = model.forward(win, 1, win.length, undefined, mode);
      out.logits.data.forEach((v, j) => { diff = Math.max(diff, Math.abs(v - a[mode].logits[w][j])); });
      out.routing.forEach((r, i) => { const set = new Set(r.processed[0]); for (let p = 0; p < win.length; p++) if ((a[mode].blocks[i].processed[s + p] === 1) !== set.has(p)) same = false; });
    });
    releaseGraph();
  }
}
allMs.sort((x, y) => x - y);
console.log(`tokens ${ids.length}, windows ${Math.ceil(ids.length / T)}; logits max |page - Node (${backendInfo()})| ${diff.toExponential(2)}; routing identical: ${same}`);
console.log(`forward passes in the page: ${allMs.length}, median ${allMs[allMs.length >> 1].toFixed(1)} ms, min ${allMs[0].toFixed(1)}, max ${allMs.at(-1).toFixed(1)}`);
await page.locator('#text').fill(prompt);
await page.waitForFunction(`window.modView.analysis && window.modView.analysis.text === ${JSON.stringify(prompt)}`, undefined, { timeout: 300000 });
await page.fill('#tokens-n', '50'); await page.fill('#seed', '1');
await page.click('#generate');
await page.waitForFunction('window.modView.generated && window.modView.generated.done', undefined, { timeout: 300000 });
const gen = await page.evaluate('window.modView.generated.text');
const st = await page.textContent('#gen-status');
const s = spawnSync(process.execPath, [mod, 'sample', '--ckpt', ckpt, '--prompt', prompt, '--tokens', '50', '--seed', '1'], { encoding: 'utf8' });
console.log(`generation: page == mod sample: ${prompt + gen + '\n' === s.stdout}; ${st}`);
console.log(JSON.stringify(gen));
await ctx.close(); srv.kill('SIGINT');
