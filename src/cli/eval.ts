// `mod eval`: validate the options, run the evaluator (src/train/evaluate.ts), print its figures or JSON.
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { formatCount } from '../format.js';
import type { CheckpointEval, ModEval, RoutingChoice } from '../train/evaluate.js';
import type { Io } from './io.js';

export interface EvalOptions {
  /** Checkpoint directory (a training run's --out). */
  ckpt: string;
  /** Text file to evaluate on, or null for the checkpoint's own validation split. */
  data: string | null;
  /** Print one JSON object on stdout and nothing else. */
  json: boolean;
  /** A MoD checkpoint's routing to evaluate; absent or null: both. No effect on a dense checkpoint. */
  routing?: RoutingChoice | null;
}

interface RawEvalOpts {
  ckpt: string;
  data?: string;
  json?: boolean;
  routing?: string;
}

export function registerEval(program: Command, io: Io): void {
  program
    .command('eval')
    .description('loss and perplexity of a checkpoint on its validation split or a text file')
    .requiredOption('--ckpt <dir>', 'checkpoint directory (the --out of a training run)')
    .option('--data <file>', "text file to evaluate on (default: the checkpoint's validation split)")
    .option('--routing <mode>', 'Mixture-of-Depths: evaluate under topk or causal routing only (default: both)')
    .option('--json', 'print only one JSON object on stdout')
    .action(async (raw: RawEvalOpts) => {
      await evaluateCommand(parseEvalOptions(raw), io);
    });
}

export function parseEvalOptions(raw: RawEvalOpts): EvalOptions {
  if (raw.ckpt === '') throw new ConfigError(`--ckpt='' is empty: give a checkpoint directory`);
  if (raw.data === '') throw new ConfigError(`--data='' is empty: give a text file`);
  if (raw.routing !== undefined && raw.routing !== 'topk' && raw.routing !== 'causal') {
    throw new ConfigError(`--routing='${raw.routing}' is not allowed: must be topk or causal`);
  }
  return { ckpt: raw.ckpt, data: raw.data ?? null, json: raw.json === true, routing: raw.routing ?? null };
}

/**
 * `--json`: dense `{"loss", "tokens"}`; MoD adds `"topkLoss"`, `"causalLoss"` (null when not evaluated) and
 * `"blocks": [{"layer", "accuracy", "precision", "recall", "processedFraction"}]` (null when not measured).
 */
export function evalJson(r: CheckpointEval): string {
  if (r.mod === null) return `{"loss": ${JSON.stringify(r.loss)}, "tokens": ${r.tokens}}\n`; // as before MoD existed
  const m = r.mod;
  return JSON.stringify({ loss: r.loss, tokens: r.tokens, topkLoss: m.topkLoss, causalLoss: m.causalLoss, blocks: m.blocks }) + '\n';
}

export async function evaluateCommand(opts: EvalOptions, io: Io): Promise<void> {
  const { evaluateCheckpoint } = await import('../train/evaluate.js');
  const r = evaluateCheckpoint(opts.ckpt, opts.data, opts.routing ?? null);
  if (opts.json) {
    io.out(evalJson(r));
    return;
  }
  const { config, iteration } = r;
  io.out(`checkpoint: ${opts.ckpt} (${config.preset ?? 'no preset'}, iteration ${iteration})\n`);
  io.out(`data: ${r.source}\n`);
  const windows = `${formatCount(r.tokens)} tokens (${formatCount(r.windows)} windows of ${config.model.blockSize})`;
  if (r.mod === null) {
    io.out(`loss ${r.loss.toFixed(4)} | ${windows} | perplexity ${Math.exp(r.loss).toFixed(3)}\n`);
    return;
  }
  io.out(modText(r.mod, windows, config.model.mod?.causal ?? 'aux'));
}

function modText(m: ModEval, windows: string, rule: string): string {
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(2)} %`);
  const lines: string[] = [];
  if (m.topkLoss !== null) lines.push(`loss (top-k routing)   ${m.topkLoss.toFixed(4)} | ${windows} | perplexity ${Math.exp(m.topkLoss).toFixed(3)}`);
  if (m.causalLoss !== null) {
    const rel = m.topkLoss === null ? '' : ` (${m.causalLoss >= m.topkLoss ? '+' : ''}${((100 * (m.causalLoss - m.topkLoss)) / m.topkLoss).toFixed(2)} % vs top-k)`;
    lines.push(`loss (causal routing)  ${m.causalLoss.toFixed(4)}${rel} | perplexity ${Math.exp(m.causalLoss).toFixed(3)}`);
  }
  lines.push(`causal rule (${rule}) against top-k membership, per routed block:`);
  const cells = [['block', 'accuracy', 'precision', 'recall', 'processed (causal)'],
    ...m.blocks.map((b) => [String(b.layer), pct(b.accuracy), pct(b.precision), pct(b.recall), pct(b.processedFraction)])];
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((row) => row[j]!.length)));
  for (const row of cells) lines.push('  ' + row.map((c, j) => c.padStart(widths[j]!)).join('  '));
  return lines.join('\n') + '\n';
}
