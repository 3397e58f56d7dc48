// DOM rendering of the `mod view` page: the token heat-map (one column of stripes per token: a cell per routed block,
// coloured by the score its decision was made on, marked when processed, then the token's surprisal), the summary
// table, and generated tokens. Cells carry data-layer, data-pos and data-processed so what is shown can be read back.
import type { RoutingMode, Tokenizer } from '../browser.js';
import type { Analysis, GeneratedToken, ModeResult } from './analyse.js';
import { tokenLabel } from './analyse.js';

type Rgb = [number, number, number];
const NEUTRAL: Rgb = [242, 239, 233];
const NEGATIVE: Rgb = [49, 118, 180];
const POSITIVE: Rgb = [226, 112, 24];
const HARD: Rgb = [160, 20, 40];

function mix(a: Rgb, b: Rgb, t: number): string {
  const c = a.map((v, i) => Math.round(v + (b[i]! - v) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Diverging colour of a score in [−max, max]: blue below 0, orange above (as docs/compare/routing.svg). */
export function scoreColour(score: number, maxAbs: number): string {
  const t = maxAbs > 0 ? Math.max(-1, Math.min(1, score / maxAbs)) : 0;
  return t < 0 ? mix(NEUTRAL, NEGATIVE, -t) : mix(NEUTRAL, POSITIVE, t);
}

/** White to dark red as the surprisal goes from 0 to ln V (a uniform guess). */
export function surprisalColour(nats: number, vocab: number): string {
  if (!Number.isFinite(nats)) return 'transparent';
  return mix([255, 255, 255], HARD, Math.min(1, nats / Math.log(vocab)));
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls !== undefined) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function maxAbs(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** The tooltip of token `i`: its text, each routed block's decision and score, and its surprisal. */
function tokenTitle(label: string, i: number, r: ModeResult): string {
  const scoreName = r.mode === 'topk' ? 'router score r' : 'causal logit z';
  const blocks = r.blocks.map((b) => `block ${b.layer}: ${b.processed[i] ? 'processed' : 'skipped'} (${scoreName} ${fmt(b.score[i]!)})`);
  return [`“${label}” at position ${i}`, ...blocks, `surprisal of the next token: ${fmt(r.surprisal[i]!)} nats`].join('\n');
}

function tokenColumn(label: string, i: number, r: ModeResult, scales: number[], vocab: number): HTMLElement {
  const col = el('span', 'tok');
  col.dataset.pos = String(i);
  col.title = tokenTitle(label, i, r);
  col.append(el('span', 'ch', label));
  r.blocks.forEach((b, j) => {
    const cell = el('span', b.processed[i] ? 'cell on' : 'cell');
    cell.dataset.layer = String(b.layer);
    cell.dataset.pos = String(i);
    cell.dataset.processed = b.processed[i] ? '1' : '0';
    cell.style.backgroundColor = scoreColour(b.score[i]!, scales[j]!);
    col.append(cell);
  });
  const loss = el('span', 'loss');
  loss.style.backgroundColor = surprisalColour(r.surprisal[i]!, vocab);
  col.append(loss);
  return col;
}

/** The first column of a window: what each stripe is. */
function rowLabels(r: ModeResult): HTMLElement {
  const col = el('span', 'labels');
  col.append(el('span', 'ch', ''));
  for (const b of r.blocks) col.append(el('span', 'cell', `block ${b.layer}`));
  col.append(el('span', 'loss', 'loss'));
  return col;
}

/** The heat-map of `a` under `mode`, one section per window of blockSize tokens. */
export function renderTokens(root: HTMLElement, a: Analysis, mode: RoutingMode, tokenizer: Tokenizer): void {
  const r = mode === 'causal' && a.causal !== null ? a.causal : a.topk;
  const scales = r.blocks.map((b) => maxAbs(b.score));
  root.replaceChildren();
  root.dataset.mode = r.mode;
  a.windows.forEach(([s, e], w) => {
    const section = el('div', 'window');
    if (a.windows.length > 1) section.append(el('div', 'window-head', `window ${w + 1} of ${a.windows.length}: tokens ${s}–${e - 1} (positions restart at 0)`));
    const line = el('div', 'tokens');
    line.append(rowLabels(r));
    for (let i = s; i < e; i++) line.append(tokenColumn(tokenLabel(tokenizer, a.ids[i]!), i, r, scales, tokenizer.vocabSize));
    section.append(line);
    root.append(section);
  });
}

/** The legend under the heat-map: what each stripe is. */
export function renderLegend(root: HTMLElement, a: Analysis, mode: RoutingMode): void {
  const r = mode === 'causal' && a.causal !== null ? a.causal : a.topk;
  const stripes = [...r.blocks.map((b) => `block ${b.layer}`), 'surprisal'].join(', ');
  const score = mode === 'topk' ? 'router score r (blue < 0 < orange, scaled per block)' : 'causal logit z (blue < 0 < orange; processed iff z > 0)';
  root.textContent = r.blocks.length === 0
    ? 'Under each token: its surprisal (white 0 → red ln V nats). Hover a token for the numbers.'
    : `Under each token, top to bottom: ${stripes}. Colour: ${score}; a dark bar marks a token the block processed. Surprisal: white 0 → red ln V nats. Hover a token for the numbers.`;
}

function row(cells: string[], head = false): HTMLTableRowElement {
  const tr = el('tr');
  for (const c of cells) tr.append(el(head ? 'th' : 'td', undefined, c));
  return tr;
}

/** The summary: loss, FLOPs per token against the dense twin, and per routed block the tokens processed. */
export function renderSummary(root: HTMLElement, a: Analysis): void {
  const n = a.ids.length;
  const lines = el('ul');
  const ratio = a.flops.perToken / a.flops.densePerToken;
  const loss = a.causal === null ? `${fmt(a.topk.loss, 3)} nats/token` : `${fmt(a.topk.loss, 3)} nats/token under top-k routing, ${fmt(a.causal.loss, 3)} under the causal rule`;
  lines.append(el('li', undefined, `${n} tokens in ${a.windows.length} window${a.windows.length === 1 ? '' : 's'}; mean loss ${loss}`));
  if (a.topk.blocks.length > 0) {
    lines.append(el('li', undefined, `forward FLOPs per token (top-k routing): ${(a.flops.perToken / 1e6).toFixed(3)} M vs ${(a.flops.densePerToken / 1e6).toFixed(3)} M for the dense twin (ratio ${ratio.toFixed(3)})`));
  }
  const table = el('table');
  if (a.causal !== null) {
    table.append(row(['routed block', 'processed, top-k', 'processed, causal rule', 'top-k and causal agree'], true));
    a.topk.blocks.forEach((b, i) => {
      const t = count(b.processed);
      const c = count(a.causal!.blocks[i]!.processed);
      table.append(row([String(b.layer), `${t} (${pct(t / n)})`, `${c} (${pct(c / n)})`, pct(a.agreement[i]!)]));
    });
  }
  root.replaceChildren(lines, ...(a.causal !== null ? [table] : []));
}

function count(x: Uint8Array): number {
  let s = 0;
  for (const v of x) s += v;
  return s;
}

/** A generated token, with one mark per routed block that the causal decode processed it in. */
export function generatedToken(t: GeneratedToken, layers: number[], tokenizer: Tokenizer): HTMLElement {
  const col = el('span', 'gen');
  col.dataset.id = String(t.id);
  col.append(el('span', 'ch', tokenLabel(tokenizer, t.id)));
  t.processed.forEach((p, j) => {
    const cell = el('span', p ? 'mark on' : 'mark');
    cell.dataset.layer = String(layers[j]);
    cell.dataset.processed = p ? '1' : '0';
    col.append(cell);
  });
  col.title = t.processed.length === 0 ? '' : layers.map((l, j) => `block ${l}: ${t.processed[j] ? 'processed' : 'skipped'}`).join('\n');
  return col;
}
