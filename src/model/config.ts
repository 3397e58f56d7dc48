// Model configuration: typed here, validated in validateModelConfig (see below), saved in every checkpoint.
import { ConfigError } from '../errors.js';
import { type SchemaFor, validateObject } from './schema.js';

/** A GPT (pre-LN, nanoGPT-like). A dense model has no `mod` section. */
export interface ModelConfig {
  /** Tokens in the vocabulary (256 for the byte tokenizer). */
  vocabSize: number;
  /** Maximum context length T. */
  blockSize: number;
  nLayer: number;
  nHead: number;
  /** Residual stream width C; must be divisible by nHead. */
  nEmbd: number;
  /** MLP hidden width = mlpRatio · nEmbd. */
  mlpRatio: number;
  /** Biases in linear layers and LayerNorms. */
  bias: boolean;
  /** Output head shares the token embedding matrix. */
  tiedEmbeddings: boolean;
  /** `learned` absolute position embeddings, or `rope` rotary embeddings in attention. */
  positions: 'learned' | 'rope';
  /** Mixture-of-Depths routing; absent (or null in JSON) = a dense model. */
  mod?: ModConfig | null;
}

/** Mixture-of-Depths (Raposo et al. 2024): which blocks are routed, and how. */
export interface ModConfig {
  /** Fraction of a sequence's tokens a routed block processes, 0 < c <= 1; k = ceil(c·T) (see routedK). */
  capacity: number;
  /** Route every N-th block: blocks i with i % every == every - 1 (block 0 is always full). */
  every: number;
  /** Multiplier of the block's update: the raw router logit r (the paper), or sigmoid(r). */
  routerWeight: 'raw' | 'sigmoid';
  /** `learned`: top-k over router scores; `random`: top-k over random scores, no router (the paper's baseline). */
  routing: 'learned' | 'random';
  /**
   * The causal rule that replaces top-k when decoding token by token (docs/causal-routing.md): `predictor`, a small
   * MLP per routed block reading the block input through a stop-gradient, or `aux`, the router itself, trained
   * towards top-k membership by an auxiliary BCE loss. Either way a token is processed iff its logit > 0.
   */
  causal: 'aux' | 'predictor';
  /**
   * Weight of the causal rule's BCE loss in the training loss (summed over routed blocks); 0 leaves the rule
   * untrained. For `aux` it trades routing quality against the LM loss; for `predictor` it only scales the
   * predictor's own gradients (AdamW is nearly invariant to that), never the model's.
   */
  auxWeight: number;
  /** Hidden width of the `predictor` MLP (C → predictorHidden → 1, GELU). */
  predictorHidden: number;
}

export const modConfigDefaults: ModConfig = {
  capacity: 0.125,
  every: 2,
  routerWeight: 'raw',
  routing: 'learned',
  causal: 'predictor',
  auxWeight: 0.1,
  predictorHidden: 64,
};

/**
 * A mod section written before causal routing existed (no `causal` key) describes a model trained without either
 * rule and without predictor weights: it is read as `aux` with weight 0, i.e. an untrained router rule.
 */
const legacyCausal = { causal: 'aux', auxWeight: 0, predictorHidden: modConfigDefaults.predictorHidden } as const;

export const modConfigSchema = {
  capacity: { type: 'number', min: 0, max: 1, minExclusive: true, doc: 'fraction of tokens a routed block processes' },
  every: { type: 'int', min: 1, doc: 'route every N-th block (block 0 always full)' },
  routerWeight: { type: 'enum', values: ['raw', 'sigmoid'], doc: 'update multiplier: router logit r or sigmoid(r)' },
  routing: { type: 'enum', values: ['learned', 'random'], doc: 'learned router or random scores (baseline)' },
  causal: { type: 'enum', values: ['aux', 'predictor'], doc: 'causal decode rule: predictor MLP or router trained by aux BCE' },
  auxWeight: { type: 'number', min: 0, doc: 'weight of the causal rule\'s BCE in the training loss (0 = untrained)' },
  predictorHidden: { type: 'int', min: 1, doc: 'hidden width of the causal predictor MLP' },
} as const satisfies SchemaFor<ModConfig>;

/**
 * The schema of ModelConfig: types, ranges and one-line docs. A nested section (the later `mod` section) is one
 * more entry of type 'section' with its own fields and defaults; validation, `--mod.key=value` overrides and help
 * text then follow from it.
 */
export const modelConfigSchema = {
  vocabSize: { type: 'int', min: 1, doc: 'vocabulary size (set from the tokenizer when training)' },
  blockSize: { type: 'int', min: 1, doc: 'context length T' },
  nLayer: { type: 'int', min: 1, doc: 'transformer blocks' },
  nHead: { type: 'int', min: 1, doc: 'attention heads' },
  nEmbd: { type: 'int', min: 1, doc: 'residual width C (divisible by nHead)' },
  mlpRatio: { type: 'number', min: 0, minExclusive: true, doc: 'MLP hidden width / nEmbd' },
  bias: { type: 'boolean', doc: 'biases in linear layers and LayerNorms' },
  tiedEmbeddings: { type: 'boolean', doc: 'output head shares the token embedding' },
  positions: { type: 'enum', values: ['learned', 'rope'], doc: 'position encoding' },
  mod: {
    type: 'section',
    nullable: true,
    fields: modConfigSchema,
    defaults: { ...modConfigDefaults },
    doc: 'Mixture-of-Depths routing (a dense model without it)',
  },
} as const satisfies SchemaFor<ModelConfig>;

/** The largest head size (nEmbd / nHead) the native attention kernel takes (native/attention.cc). */
export const MAX_HEAD_SIZE = 1024;

/** nEmbd / nHead. */
export function headSize(cfg: ModelConfig): number {
  return cfg.nEmbd / cfg.nHead;
}

/** The MLP hidden width, mlpRatio · nEmbd. */
export function mlpHidden(cfg: ModelConfig): number {
  return Math.round(cfg.mlpRatio * cfg.nEmbd);
}

/** Whether block i of a model is routed: every `every`-th block, never block 0. */
export function isRouted(cfg: ModelConfig, layer: number): boolean {
  const m = cfg.mod;
  return m !== undefined && m !== null && layer > 0 && layer % m.every === m.every - 1;
}

/**
 * Tokens a routed block processes in a sequence of length t: k = ceil(capacity · t), at least 1 (so every routed
 * block sees some of each sequence) and at most t. The tiny epsilon keeps e.g. 0.125 · 64 = 8 exact.
 */
export function routedK(capacity: number, t: number): number {
  if (t === 0) return 0;
  return Math.min(t, Math.max(1, Math.ceil(capacity * t - 1e-9)));
}

function withLegacyCausal(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const mod = (value as Record<string, unknown>).mod;
  if (typeof mod !== 'object' || mod === null || Array.isArray(mod) || 'causal' in mod) return value;
  return { ...value, mod: { ...legacyCausal, ...mod } };
}

/** Checks a model config (from a preset, overrides or a checkpoint); a ConfigError names the first bad key. */
export function validateModelConfig(value: unknown): ModelConfig {
  const cfg = validateObject(modelConfigSchema, withLegacyCausal(value)) as unknown as ModelConfig;
  if (cfg.mod?.causal === 'aux' && cfg.mod.routing === 'random') {
    throw new ConfigError(`mod.causal='aux' needs a router, which mod.routing='random' lacks: use mod.causal='predictor'`);
  }
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new ConfigError(`nEmbd=${cfg.nEmbd} is not divisible by nHead=${cfg.nHead}: the head size nEmbd/nHead must be an integer`);
  }
  if (headSize(cfg) > MAX_HEAD_SIZE) {
    throw new ConfigError(`nEmbd/nHead = ${cfg.nEmbd}/${cfg.nHead} = ${headSize(cfg)} is a larger head than the attention kernel handles (${MAX_HEAD_SIZE}): use more heads (nHead) or a smaller nEmbd`);
  }
  if (cfg.positions === 'rope' && headSize(cfg) % 2 !== 0) {
    throw new ConfigError(`positions='rope' needs an even head size, but nEmbd/nHead = ${cfg.nEmbd}/${cfg.nHead} = ${headSize(cfg)}`);
  }
  const hidden = cfg.mlpRatio * cfg.nEmbd;
  if (Math.abs(hidden - Math.round(hidden)) > 1e-9 || Math.round(hidden) < 1) {
    throw new ConfigError(`mlpRatio=${cfg.mlpRatio} gives a non-integer MLP width mlpRatio·nEmbd = ${hidden}: choose mlpRatio so that it is a whole number`);
  }
  return cfg;
}

/**
 * Throws a ConfigError when a config has a `mod` section but no routed block (e.g. nLayer=1: block 0 is never
 * routed): it would train a dense model under a MoD name. Checked for new runs, not when loading checkpoints.
 */
export function checkRoutedBlocks(cfg: ModelConfig): void {
  const m = cfg.mod;
  if (m === undefined || m === null) return;
  for (let l = 0; l < cfg.nLayer; l++) if (isRouted(cfg, l)) return;
  throw new ConfigError(`mod.every=${m.every} with nLayer=${cfg.nLayer} routes no block (block 0 is never routed; block i is when i % every = every-1): `
    + `use nLayer >= ${Math.max(2, m.every)}, a smaller mod.every, or mod=null for a dense model`);
}
