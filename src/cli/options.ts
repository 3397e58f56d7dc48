// Validation of plain command options (`--tokens 100`) with the config schema's types, ranges and messages.
import type { FieldSpec } from '../model/schema.js';
import { parseValue } from './config-args.js';

/** Parses an option's string by its spec; a ConfigError names `--flag`, the value and the allowed range. */
export function optionValue<T>(flag: string, spec: FieldSpec, raw: string | undefined, fallback: T): T {
  if (raw === undefined) return fallback;
  return parseValue(spec, raw, `--${flag}`) as T;
}

export const positiveInt = (doc: string): FieldSpec => ({ type: 'int', min: 1, doc });
export const seedSpec: FieldSpec = { type: 'int', min: 0, max: 4294967295, doc: 'random seed' };
