// A small declarative config schema: one spec per key gives its type and range, and drives validation (of presets,
// of config.json in checkpoints) and error messages; src/cli/config-args.ts parses `--key=value` overrides and
// writes help text from the same specs. Nested sections
// (e.g. the Mixture-of-Depths `mod` section) are specs of type 'section' with their own fields and defaults, and are
// addressed with dotted keys (`--mod.capacity=0.125`).
import { ConfigError } from '../errors.js';

interface SpecBase {
  /** One line for `--help`. */
  doc: string;
  /** Also accepts null (`--key=null`). For a section: the section is optional (absent = off). */
  nullable?: boolean;
}
export interface IntSpec extends SpecBase {
  type: 'int';
  min?: number;
  max?: number;
}
export interface NumberSpec extends SpecBase {
  type: 'number';
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}
export interface BooleanSpec extends SpecBase {
  type: 'boolean';
}
export interface EnumSpec extends SpecBase {
  type: 'enum';
  values: readonly string[];
}
export interface StringSpec extends SpecBase {
  type: 'string';
}
export interface SectionSpec extends SpecBase {
  type: 'section';
  fields: Schema;
  /** Values used when an override sets one key of an absent section. */
  defaults: Readonly<Record<string, unknown>>;
}
export type FieldSpec = IntSpec | NumberSpec | BooleanSpec | EnumSpec | StringSpec | SectionSpec;
export type Schema = Readonly<Record<string, FieldSpec>>;

/** A schema whose keys are exactly those of T (checked with `satisfies`). */
export type SchemaFor<T> = { readonly [K in keyof T]-?: FieldSpec };

export type Plain = Record<string, unknown>;

// ---------------------------------------------------------------- messages

/** `value` as it would be typed on the command line. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // JSON would say null
  return JSON.stringify(value);
}

/** The allowed values of a spec, e.g. "an integer >= 1", "a number in (0, 1]", "one of learned, rope". */
export function describe(spec: FieldSpec): string {
  const orNull = spec.nullable ? ' or null' : '';
  switch (spec.type) {
    case 'int':
    case 'number':
      return `${spec.type === 'int' ? 'an integer' : 'a number'}${describeRange(spec)}${orNull}`;
    case 'boolean':
      return `true or false${orNull}`;
    case 'enum':
      return `one of ${spec.values.join(', ')}${orNull}`;
    case 'string':
      return `a string${orNull}`;
    case 'section':
      return `a section with keys ${Object.keys(spec.fields).join(', ')}${orNull}`;
  }
}

function describeRange(spec: IntSpec | NumberSpec): string {
  const lo = spec.min;
  const hi = spec.max;
  const loEx = spec.type === 'number' && spec.minExclusive === true;
  const hiEx = spec.type === 'number' && spec.maxExclusive === true;
  if (lo !== undefined && hi !== undefined) return ` in ${loEx ? '(' : '['}${lo}, ${hi}${hiEx ? ')' : ']'}`;
  if (lo !== undefined) return ` ${loEx ? '>' : '>='} ${lo}`;
  if (hi !== undefined) return ` ${hiEx ? '<' : '<='} ${hi}`;
  return '';
}

/** Levenshtein distance, case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[t.length]!;
}

/** A candidate that starts with the name, else the closest within a third of the name's length (>= 2 edits), or null. */
export function suggest(name: string, candidates: readonly string[]): string | null {
  const prefixed = name.length >= 3 ? candidates.filter((c) => c.toLowerCase().startsWith(name.toLowerCase())) : [];
  if (prefixed.length === 1) return prefixed[0]!;
  let best: string | null = null;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const s = suggest(name, candidates);
  return s === null ? '' : `; did you mean '${s}'?`;
}

// ---------------------------------------------------------------- validation of whole objects

/** Every key of the schema, sections flattened to dotted keys. */
export function flatKeys(schema: Schema, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([k, spec]) =>
    spec.type === 'section' ? flatKeys(spec.fields, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

/** Checks one value against its spec and returns it (a section: a validated copy). `key` is the dotted key. */
export function checkValue(spec: FieldSpec, value: unknown, key: string): unknown {
  if (value === null) {
    if (spec.nullable) return null;
    throw new ConfigError(`${key}=null is not allowed: must be ${describe(spec)}`);
  }
  switch (spec.type) {
    case 'int':
    case 'number':
      return checkNumber(spec, value, key);
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType(spec, value, key);
      return value;
    case 'enum':
      if (typeof value !== 'string') throw wrongType(spec, value, key);
      if (!spec.values.includes(value)) {
        throw new ConfigError(`${key}=${show(value)} is not allowed: must be ${describe(spec)}${didYouMean(value, spec.values)}`);
      }
      return value;
    case 'string':
      if (typeof value !== 'string') throw wrongType(spec, value, key);
      return value;
    case 'section':
      return validateObject(spec.fields, value, `${key}.`);
  }
}

export function wrongType(spec: FieldSpec, value: unknown, key: string): ConfigError {
  return new ConfigError(`${key}=${show(value)} has the wrong type: must be ${describe(spec)}`);
}

function checkNumber(spec: IntSpec | NumberSpec, value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (spec.type === 'int' && !Number.isInteger(value))) {
    throw wrongType(spec, value, key);
  }
  const loEx = spec.type === 'number' && spec.minExclusive === true;
  const hiEx = spec.type === 'number' && spec.maxExclusive === true;
  const belowMin = spec.min !== undefined && (loEx ? value <= spec.min : value < spec.min);
  const aboveMax = spec.max !== undefined && (hiEx ? value >= spec.max : value > spec.max);
  if (belowMin || aboveMax) throw new ConfigError(`${key}=${value} is out of range: must be ${describe(spec)}`);
  return value;
}

/**
 * Validates a plain object against a schema: no unknown keys (with a suggestion), no missing keys (an optional
 * section may be absent or null, and is then left out), every value of the right type and in range. Returns a copy
 * with the keys in schema order.
 */
export function validateObject(schema: Schema, obj: unknown, prefix = ''): Plain {
  const where = prefix === '' ? 'config' : `section ${prefix.slice(0, -1)}`;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`${where} must be an object, got ${show(obj)}`);
  }
  const src = obj as Plain;
  for (const k of Object.keys(src)) {
    if (!Object.hasOwn(schema, k)) throw unknownKey(`${prefix}${k}`, flatKeys(schema, prefix));
  }
  const out: Plain = {};
  for (const [k, spec] of Object.entries(schema)) {
    const v = src[k];
    if (spec.type === 'section' && spec.nullable && (v === undefined || v === null)) continue;
    if (v === undefined) throw new ConfigError(`${where} is missing key ${prefix}${k} (${describe(spec)})`);
    out[k] = checkValue(spec, v, `${prefix}${k}`);
  }
  return out;
}

export function unknownKey(key: string, known: readonly string[]): ConfigError {
  return new ConfigError(`unknown config key '${key}'${didYouMean(key, known)}`);
}

/** The spec of a dotted key, or an unknown-key ConfigError. */
export function specOf(schema: Schema, key: string): FieldSpec {
  const parts = key.split('.');
  let fields: Schema = schema;
  for (let i = 0; i < parts.length; i++) {
    const spec = Object.hasOwn(fields, parts[i]!) ? fields[parts[i]!] : undefined;
    if (spec === undefined) throw unknownKey(key, flatKeys(schema));
    if (i === parts.length - 1) return spec;
    if (spec.type !== 'section') throw unknownKey(key, flatKeys(schema));
    fields = spec.fields;
  }
  throw unknownKey(key, flatKeys(schema));
}
