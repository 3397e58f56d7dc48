// The model sizes of a sweep: `L4C128` is 4 layers of width 128 (heads of size 32), `L4C48H3` gives the heads.
import { ConfigError } from '../errors.js';
import { type ModelConfig, validateModelConfig } from '../model/config.js';

export interface Size {
  nLayer: number;
  nEmbd: number;
  nHead: number;
}

/** Head size when a size names no head count. */
const HEAD_SIZE = 32;

/**
 * The default ladder for byte-level Brown (blockSize 128, tied embeddings): 0.12M, 0.37M, 0.84M, 1.6M and 2.7M
 * parameters, about ×2–3 apart, growing depth and width together.
 */
export const DEFAULT_LADDER = 'L2C64,L3C96,L4C128,L5C160,L6C192';

/** `L4C128` or `L4C48H3` → a Size, or a ConfigError naming the bad entry. */
export function parseSize(raw: string): Size {
  const m = /^L(\d+)C(\d+)(?:H(\d+))?$/.exec(raw);
  if (m === null) throw new ConfigError(`--sizes: '${raw}' is not a size: write L<layers>C<width>[H<heads>], e.g. L4C128 or L4C48H3`);
  const nLayer = Number(m[1]);
  const nEmbd = Number(m[2]);
  if (nLayer < 1 || nEmbd < 1) throw new ConfigError(`--sizes: '${raw}' needs at least 1 layer and width 1`);
  if (m[3] === undefined && nEmbd % HEAD_SIZE !== 0) {
    throw new ConfigError(`--sizes: '${raw}': width ${nEmbd} is not a multiple of ${HEAD_SIZE}, so give the heads, e.g. ${raw}H${nEmbd % 16 === 0 ? nEmbd / 16 : 1}`);
  }
  const nHead = m[3] === undefined ? nEmbd / HEAD_SIZE : Number(m[3]);
  if (nHead < 1 || nEmbd % nHead !== 0) throw new ConfigError(`--sizes: '${raw}': width ${nEmbd} does not split into ${nHead} heads`);
  return { nLayer, nEmbd, nHead };
}

/** `L2C64,L4C128` → sizes in the order given, no repeats. */
export function parseLadder(raw: string): Size[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new ConfigError(`--sizes='${raw}' is empty: give a ladder such as ${DEFAULT_LADDER}`);
  const sizes = names.map(parseSize);
  const seen = new Set<string>();
  for (const s of sizes) {
    const name = sizeName(s);
    if (seen.has(name)) throw new ConfigError(`--sizes: ${name} is listed twice`);
    seen.add(name);
  }
  return sizes;
}

/** `L4C128H4`: always with the heads, so that two spellings of one size share their runs. */
export function sizeName(s: Size): string {
  return `L${s.nLayer}C${s.nEmbd}H${s.nHead}`;
}

/** The base model at this size (a ConfigError names what the base model forbids, e.g. mlpRatio·nEmbd not whole). */
export function sizedModel(base: ModelConfig, s: Size): ModelConfig {
  try {
    return validateModelConfig({ ...base, nLayer: s.nLayer, nEmbd: s.nEmbd, nHead: s.nHead });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`--sizes: ${sizeName(s)} is not a valid model here: ${e.message}`);
    throw e;
  }
}
