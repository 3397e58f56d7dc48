// The `mod view` page in a real browser (Debian's Chromium, driven by playwright-core; no mocks): `mod view` serves
// tiny checkpoints trained by `mod train`, a text is typed into the page, and what the page shows is read back from
// its DOM and compared with what the Node library (native backend) computes for the same text: per routed block the
// processed tokens under top-k and under the causal rule, the logits (within 1e-4), the loss; generation equals
// `mod sample`'s text for the same seed and settings; a dense checkpoint shows loss only; the --export site, served
// by Python's http.server, shows the same; and the page requests nothing from another origin.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { noGrad, releaseGraph } from '../../src/engine/autograd.js';
import type { RoutingMode } from '../../src/model/mod.js';
import { loadModel } from '../../src/train/load.js';
import { tempDir } from '../train/fixtures/tiny-run.js';
import { launchBrowser, runMod, startStaticServer, startView, stop, trainTiny, type Running } from './fixtures.js';

/** Three windows of the tiny model's 48 tokens (48 + 48 + 2), in the tiny text's characters. */
const TEXT = 'The quick brown fox jumps over a lazy dog. Then runs home to sleep and the dog jumps over the fox.';
const PROMPT = 'The lazy dog runs home';
const GEN = { tokens: 20, temperature: 0.9, topK: 10, seed: 7 };

/** Per routed block (by layer), the processed positions, ascending. */
type Decisions = Record<number, number[]>;

interface NodeResult {
  decisions: Record<RoutingMode, Decisions>;
  logits: Record<RoutingMode, Float32Array[]>;
  /** Mean next-token loss over the text under top-k routing (the library's crossEntropy). */
  loss: number;
}

/** What the Node library computes for `text`: each window of blockSize tokens under top-k and causal routing. */
function nodeResult(ckpt: string, text: string): NodeResult {
  const { model, tokenizer } = loadModel(ckpt);
  const ids = tokenizer.encode(text);
  const t = model.config.blockSize;
  const result: NodeResult = { decisions: { topk: {}, causal: {} }, logits: { topk: [], causal: [] }, loss: 0 };
  let lossSum = 0;
  let targets = 0;
  for (const mode of ['topk', 'causal'] as const) {
    for (let s = 0; s < ids.length; s += t) {
      const w = ids.subarray(s, Math.min(ids.length, s + t));
      const tg = Int32Array.from(w, (_, i) => (s + i + 1 < ids.length ? ids[s + i + 1]! : -1));
      noGrad(() => {
        const out = model.forward(w, 1, w.length, tg, mode);
        result.logits[mode].push(out.logits.data.slice());
        for (const r of out.routing) (result.decisions[mode][r.layer] ??= []).push(...Array.from(r.processed[0]!, (p) => s + p));
        const n = tg.filter((x) => x >= 0).length;
        if (mode === 'topk' && n > 0) {
          lossSum += out.loss!.data[0]! * n;
          targets += n;
        }
      });
      releaseGraph();
    }
  }
  result.loss = lossSum / targets;
  return result;
}

/** The causal rule's decisions over `text` in Node, per routed block: what KV-cache decoding decides too. */
function nodeCausal(ckpt: string, text: string): Decisions {
  const { model, tokenizer } = loadModel(ckpt);
  const ids = tokenizer.encode(text);
  assert.ok(ids.length <= model.config.blockSize, 'one window, so decoding never slides');
  const out: Decisions = {};
  noGrad(() => {
    for (const r of model.forward(ids, 1, ids.length, undefined, 'causal').routing) out[r.layer] = Array.from(r.processed[0]!);
  });
  releaseGraph();
  return out;
}

/** Opens the page at `url`, recording every request, and waits until the checkpoint is loaded. */
async function openPage(ctx: BrowserContext, url: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await ctx.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction('window.modView && (window.modView.ready || window.modView.error !== null)');
  assert.equal(await page.evaluate<string | null>('window.modView.error'), null);
  return { page, requests, errors };
}

/** Types `text` key by key (the page debounces) and waits for the page's analysis of exactly that text. */
async function typeText(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill('');
  await page.locator('#text').pressSequentially(text);
  await page.waitForFunction(`window.modView.analysis !== null && window.modView.analysis.text === ${JSON.stringify(text)}`, undefined, { timeout: 120_000 });
}

/** The decisions the heat-map shows under `mode` (its data-processed cells), after switching the toggle to it. */
async function shownDecisions(page: Page, mode: RoutingMode): Promise<Decisions> {
  await page.check(`input[name="mode"][value="${mode}"]`);
  await page.locator(`#tokens[data-mode="${mode}"]`).waitFor({ state: 'attached' });
  const cells = await page.evaluate<Array<[number, number, string]>>(
    `Array.from(document.querySelectorAll('#tokens .tok .cell'), (c) => [Number(c.dataset.layer), Number(c.dataset.pos), c.dataset.processed])`,
  );
  const out: Decisions = {};
  for (const [layer, pos, p] of cells) {
    out[layer] ??= [];
    if (p === '1') out[layer].push(pos);
  }
  return out;
}

function maxAbsDiff(a: Float32Array[], b: number[][]): number {
  assert.equal(a.length, b.length, 'windows');
  let m = 0;
  a.forEach((w, i) => {
    assert.equal(w.length, b[i]!.length);
    w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!))));
  });
  return m;
}

/** Types TEXT and checks the page's routing, logits and loss against Node's; returns the logits' max difference. */
async function checkRouting(t: TestContext, page: Page, ckpt: string): Promise<number> {
  await typeText(page, TEXT);
  const node = nodeResult(ckpt, TEXT);
  assert.deepEqual(Object.keys(node.decisions.topk).map(Number), [1, 3]);
  for (const mode of ['topk', 'causal'] as const) {
    assert.deepEqual(await shownDecisions(page, mode), node.decisions[mode], `${mode} decisions`);
  }
  let diff = 0;
  for (const mode of ['topk', 'causal'] as const) {
    const shown = await page.evaluate<number[][]>(`window.modView.analysis.${mode}.logits.map((l) => Array.from(l))`);
    diff = Math.max(diff, maxAbsDiff(node.logits[mode], shown));
  }
  assert.ok(diff <= 1e-4, `logits differ from Node's by ${diff}`);
  const loss = await page.evaluate<number>('window.modView.analysis.topk.loss');
  assert.ok(Math.abs(loss - node.loss) <= 1e-4, `page loss ${loss}, Node ${node.loss}`);
  const ms = await page.evaluate<number[]>('window.modView.analysis.forwardMs');
  t.diagnostic(`logits max |page - Node| ${diff.toExponential(2)}; ${ms.length} forward passes in the page, median ${median(ms).toFixed(1)} ms`);
  return diff;
}

function median(x: number[]): number {
  const s = [...x].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Generates from PROMPT in the page and checks it against `mod sample` and the causal rule's decisions in Node. */
async function checkGeneration(t: TestContext, page: Page, ckpt: string): Promise<void> {
  await typeText(page, PROMPT);
  await page.fill('#tokens-n', String(GEN.tokens));
  await page.fill('#temperature', String(GEN.temperature));
  await page.fill('#top-k', String(GEN.topK));
  await page.fill('#seed', String(GEN.seed));
  await page.click('#generate');
  await page.waitForFunction('window.modView.generated !== null && window.modView.generated.done', undefined, { timeout: 120_000 });
  const text = await page.evaluate<string>('window.modView.generated.text');
  const sample = runMod(['sample', '--ckpt', ckpt, '--prompt', PROMPT, '--tokens', String(GEN.tokens), '--temperature', String(GEN.temperature),
    '--top-k', String(GEN.topK), '--seed', String(GEN.seed)]);
  assert.equal(sample.status, 0, sample.stderr);
  assert.equal(text.length, GEN.tokens);
  assert.equal(PROMPT + text + '\n', sample.stdout, 'the page generates what `mod sample` prints');
  // Each new token's marks are the causal rule's decisions at its position, as the Node library makes them.
  const marks = await page.evaluate<Array<[number, string]>>(`Array.from(document.querySelectorAll('#gen-out .gen .mark'), (m) => [Number(m.dataset.layer), m.dataset.processed])`);
  const causal = nodeCausal(ckpt, PROMPT + text);
  const expected = Array.from({ length: GEN.tokens }, (_, j) => [1, 3].map((layer) => [layer, causal[layer]!.includes(PROMPT.length + j) ? '1' : '0'])).flat();
  assert.deepEqual(marks, expected);
  t.diagnostic(`generated ${JSON.stringify(text)}; ${await page.textContent('#gen-status')}`);
}

function assertSameOrigin(requests: string[], url: string): void {
  const origin = new URL(url).origin;
  const foreign = requests.filter((r) => new URL(r).origin !== origin && !r.startsWith('data:'));
  assert.deepEqual(foreign, [], 'requests to other origins');
  for (const f of ['page.js', 'style.css', 'ckpt/config.json', 'ckpt/model.safetensors']) assert.ok(requests.includes(new URL(f, url).href), `${f} was not requested`);
}

describe('mod view in Chromium', () => {
  const dir = tempDir('mod-view-page-');
  let ctx: BrowserContext | undefined;
  let modCkpt = '';
  let denseCkpt = '';
  const servers: Running[] = [];

  before(async () => {
    modCkpt = trainTiny(dir, 'mod', true);
    denseCkpt = trainTiny(dir, 'dense', false);
    ctx = await launchBrowser();
  });
  after(async () => {
    await ctx?.close();
    for (const s of servers) await stop(s);
  });

  it('shows per routed block the tokens the Node library processes, top-k and causal, and its logits; generates what `mod sample` prints', async (t) => {
    const view = await startView(['--ckpt', modCkpt, '--port', '0']);
    servers.push(view);
    const { page, requests, errors } = await openPage(ctx!, view.url);
    assert.match((await page.textContent('#model-info'))!, /Mixture-of-Depths, blocks 1, 3 routed/);
    await checkRouting(t, page, modCkpt);
    const summary = (await page.textContent('#summary'))!;
    assert.match(summary, /forward FLOPs per token \(top-k routing\): [\d.]+ M vs [\d.]+ M for the dense twin \(ratio 0\.\d+\)/);
    assert.match((await page.textContent('#status'))!, /^forward pass: median [\d.]+ ms over 6 passes/);
    await checkGeneration(t, page, modCkpt);
    assertSameOrigin(requests, view.url);
    assert.deepEqual(errors, []);
  });

  it('labels a dense checkpoint as such and shows its loss only', async () => {
    const view = await startView(['--ckpt', denseCkpt, '--port', '0']);
    servers.push(view);
    const { page } = await openPage(ctx!, view.url);
    assert.match((await page.textContent('#model-info'))!, /dense checkpoint \(no routed blocks\): loss only/);
    await typeText(page, TEXT);
    assert.equal(await page.locator('#tokens .tok .cell').count(), 0);
    assert.equal(await page.locator('#tokens .tok').count(), TEXT.length);
    assert.ok(await page.locator('#mode').isHidden());
    const node = nodeResult(denseCkpt, TEXT);
    const loss = await page.evaluate<number>('window.modView.analysis.topk.loss');
    assert.ok(Math.abs(loss - node.loss) <= 1e-4, `page loss ${loss}, Node ${node.loss}`);
    assert.match((await page.textContent('#summary'))!, new RegExp(`mean loss ${loss.toFixed(3)} nats/token$`));
  });

  it('the --export site, served by a plain static file server, shows the same', async (t) => {
    const out = path.join(dir, 'site');
    const r = runMod(['view', '--ckpt', modCkpt, '--export', out]);
    assert.equal(r.status, 0, r.stderr);
    const server = await startStaticServer(out);
    servers.push(server);
    const { page, requests, errors } = await openPage(ctx!, server.url);
    await checkRouting(t, page, modCkpt);
    await checkGeneration(t, page, modCkpt);
    assertSameOrigin(requests, server.url);
    assert.deepEqual(errors, []);
  });
});
