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
}

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
} as const satisfies SchemaFor<ModelConfig>;

/** nEmbd / nHead. */
export function headSize(cfg: ModelConfig): number {
  return cfg.nEmbd / cfg.nHead;
}

/** The MLP hidden width, mlpRatio · nEmbd. */
export function mlpHidden(cfg: ModelConfig): number {
  return Math.round(cfg.mlpRatio * cfg.nEmbd);
}

/** Checks a model config (from a preset, overrides or a checkpoint); a ConfigError names the first bad key. */
export function validateModelConfig(value: unknown): ModelConfig {
  const cfg = validateObject(modelConfigSchema, value) as unknown as ModelConfig;
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new ConfigError(`nEmbd=${cfg.nEmbd} is not divisible by nHead=${cfg.nHead}: the head size nEmbd/nHead must be an integer`);
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
