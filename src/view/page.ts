// The `mod view` page: fetches the checkpoint (ckpt/config.json, ckpt/model.safetensors, relative to the page, so
// the exported site works from any static host), builds the model with the library's browser entry, and runs it
// here in the page on the TypeScript backend: as the user types (debounced), the routing heat-map, surprisal and
// summary; on request, generation token by token with the causal decode. window.modView exposes the latest results
// (the browser tests read them).
import { backendInfo, modelFromFiles, routedK, type GPT, type LoadedModel, type RoutingMode, type Tokenizer } from '../browser.js';
import { analyse, generateRouted, type Analysis, type GenerateSettings } from './analyse.js';
import { el, generatedToken, renderLegend, renderSummary, renderTokens } from './render.js';

const DEBOUNCE_MS = 250;

interface Generated {
  settings: GenerateSettings;
  ids: number[];
  /** Per new token, per routed block: processed by the causal decode. */
  processed: boolean[][];
  text: string;
  done: boolean;
}

interface ModView {
  ready: boolean;
  error: string | null;
  analysis: Analysis | null;
  generated: Generated | null;
  routedLayers: number[];
}

declare global {
  interface Window {
    modView: ModView;
  }
}

const state: ModView = { ready: false, error: null, analysis: null, generated: null, routedLayers: [] };
window.modView = state;

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no <${type.name}> #${id}`);
  return e;
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

interface Checkpoint {
  loaded: LoadedModel;
  /** Training steps the checkpoint has seen, if its config.json says. */
  iteration: number | null;
}

async function loadCheckpoint(): Promise<Checkpoint> {
  const [config, weights] = await Promise.all([fetchOk('ckpt/config.json'), fetchOk('ckpt/model.safetensors')]);
  const text = await config.text();
  const loaded = modelFromFiles(text, new Uint8Array(await weights.arrayBuffer()), 'ckpt');
  const doc: { iteration?: unknown } = JSON.parse(text);
  return { loaded, iteration: typeof doc.iteration === 'number' ? doc.iteration : null };
}

function describe({ loaded, iteration }: Checkpoint, layers: number[]): string {
  const c = loaded.model.config;
  const size = `${c.nLayer} layers, ${c.nHead} heads, C ${c.nEmbd}, T ${c.blockSize}, ${loaded.tokenizer.kind} tokenizer (${c.vocabSize} tokens)`;
  const name = `${loaded.config.preset ?? 'checkpoint'}${iteration === null ? '' : ` at iteration ${iteration}`}`;
  if (c.mod === undefined || c.mod === null || layers.length === 0) return `${name}: dense checkpoint (no routed blocks): loss only · ${size} · ${backendInfo()}`;
  const k = routedK(c.mod.capacity, c.blockSize);
  return `${name}: Mixture-of-Depths, blocks ${layers.join(', ')} routed (${c.mod.routing}, capacity ${c.mod.capacity}: k = ${k} of ${c.blockSize} tokens), causal rule ${c.mod.causal} · ${size} · ${backendInfo()}`;
}

function median(x: number[]): number {
  const s = [...x].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

class Viewer {
  private revision = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private mode: RoutingMode = 'topk';
  private stopGeneration = false;
  private readonly text = byId('text', HTMLTextAreaElement);
  private readonly status = byId('status', HTMLElement);

  constructor(private readonly model: GPT, private readonly tokenizer: Tokenizer, private readonly layers: number[]) {}

  start(): void {
    const routed = this.layers.length > 0;
    byId('mode', HTMLElement).hidden = !routed;
    this.text.addEventListener('input', () => this.schedule());
    for (const input of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
      input.addEventListener('change', () => this.setMode(input.value === 'causal' ? 'causal' : 'topk'));
    }
    byId('generate', HTMLButtonElement).addEventListener('click', () => void this.generate());
    byId('stop', HTMLButtonElement).addEventListener('click', () => (this.stopGeneration = true));
    byId('append', HTMLButtonElement).addEventListener('click', () => this.appendGenerated());
    void this.update();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.revision++;
    this.timer = setTimeout(() => void this.update(), DEBOUNCE_MS);
  }

  private setMode(mode: RoutingMode): void {
    this.mode = mode;
    if (state.analysis !== null) this.render(state.analysis);
  }

  private async update(): Promise<void> {
    const mine = ++this.revision;
    const text = this.text.value;
    this.status.textContent = 'running the model…';
    try {
      const a = await analyse(this.model, this.tokenizer, text, async () => {
        await nextTask();
        return mine === this.revision;
      });
      if (a === null) return; // a newer text is on its way
      state.analysis = a;
      state.error = null;
      this.render(a);
    } catch (e) {
      state.error = e instanceof Error ? e.message : String(e);
      this.status.textContent = `error: ${state.error}`;
    }
  }

  private render(a: Analysis): void {
    renderTokens(byId('tokens', HTMLElement), a, this.mode, this.tokenizer);
    renderLegend(byId('legend', HTMLElement), a, this.mode);
    renderSummary(byId('summary', HTMLElement), a);
    const t = a.windows.length === 0 ? 0 : a.windows[0]![1] - a.windows[0]![0];
    this.status.textContent = a.forwardMs.length === 0
      ? 'no tokens'
      : `forward pass: median ${median(a.forwardMs).toFixed(1)} ms over ${a.forwardMs.length} pass${a.forwardMs.length === 1 ? '' : 'es'} (${t} tokens in the first window; measured in this page)`;
    byId('status', HTMLElement).dataset.tokens = String(a.ids.length);
  }

  private settings(): GenerateSettings {
    const num = (id: string): number => Number(byId(id, HTMLInputElement).value);
    const topK = byId('top-k', HTMLInputElement).value.trim();
    return { maxNewTokens: Math.max(1, Math.floor(num('tokens-n'))), temperature: num('temperature'), topK: topK === '' ? null : Math.max(1, Math.floor(Number(topK))), seed: Math.floor(num('seed')) };
  }

  private async generate(): Promise<void> {
    const s = this.settings();
    if (!(s.temperature > 0) || !Number.isFinite(s.seed) || s.seed < 0) {
      byId('gen-status', HTMLElement).textContent = 'temperature must be > 0 and the seed an integer >= 0';
      return;
    }
    const out = byId('gen-out', HTMLElement);
    const prompt = this.text.value === '' ? '\n' : this.text.value; // `mod sample`'s default prompt
    let ids: Int32Array;
    try {
      ids = this.tokenizer.encode(prompt);
    } catch (e) {
      byId('gen-status', HTMLElement).textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    const g: Generated = { settings: s, ids: [], processed: [], text: '', done: false };
    state.generated = g;
    out.replaceChildren(el('span', 'prompt', prompt));
    this.stopGeneration = false;
    this.busy(true);
    const start = performance.now();
    for (const t of generateRouted(this.model, ids, s)) {
      g.ids.push(t.id);
      g.processed.push(t.processed);
      out.append(generatedToken(t, this.layers, this.tokenizer));
      const ms = (performance.now() - start) / g.ids.length;
      const sliding = ids.length + g.ids.length > this.model.config.blockSize ? `; past ${this.model.config.blockSize} tokens every step re-runs the whole window` : '';
      byId('gen-status', HTMLElement).textContent = `${g.ids.length} tokens, ${ms.toFixed(1)} ms per token (KV cache, causal routing${sliding})`;
      await nextTask();
      if (this.stopGeneration) break;
    }
    g.text = this.tokenizer.decode(g.ids);
    g.done = true;
    this.busy(false);
  }

  private busy(on: boolean): void {
    byId('generate', HTMLButtonElement).disabled = on;
    byId('stop', HTMLButtonElement).disabled = !on;
    byId('append', HTMLButtonElement).disabled = on || state.generated === null;
  }

  private appendGenerated(): void {
    if (state.generated === null) return;
    this.text.value += state.generated.text;
    this.schedule();
  }
}

async function main(): Promise<void> {
  const info = byId('model-info', HTMLElement);
  try {
    const ckpt = await loadCheckpoint();
    const { loaded } = ckpt;
    const layers = loaded.model.routedBlocks().map((blk) => loaded.model.h.indexOf(blk));
    state.routedLayers = layers;
    info.textContent = describe(ckpt, layers);
    document.body.dataset.kind = layers.length > 0 ? 'mod' : 'dense';
    new Viewer(loaded.model, loaded.tokenizer, layers).start();
    state.ready = true;
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
    info.textContent = `could not load the checkpoint: ${state.error}`;
  }
}

void main();
