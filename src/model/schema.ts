// A small declarative config schema: one spec per key gives its type and range, and drives validation (of presets,
// of config.json in checkpoints), `--key=value` override parsing, error messages and help text. Nested sections
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

function wrongType(spec: FieldSpec, value: unknown, key: string): ConfigError {
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

// ---------------------------------------------------------------- overrides

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses a command-line string by the spec's type: numbers, `true`/`false`, enum names, `null` when nullable. */
export function parseValue(spec: FieldSpec, raw: string, key: string): unknown {
  // 'null' is never a literal string value: a path or name spelled "null" is far likelier a mistake.
  if (raw === 'null') return checkValue(spec, null, key);
  switch (spec.type) {
    case 'int':
    case 'number':
      if (!NUMBER_RE.test(raw)) throw wrongType(spec, raw, key);
      return checkValue(spec, Number(raw), key);
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw wrongType(spec, raw, key);
      return raw === 'true';
    case 'section':
      throw new ConfigError(`${key} is a section: set its keys (${flatKeys(spec.fields, `${key}.`).join(', ')})${spec.nullable ? ` or ${key}=null` : ''}`);
    default:
      return checkValue(spec, raw, key);
  }
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

/**
 * Sets a dotted key in `obj` (mutated) from its command-line string. Setting a key of an absent optional section
 * creates the section from its defaults; `--section=null` removes an optional section.
 */
export function applyOverride(schema: Schema, obj: Plain, key: string, raw: string): void {
  const spec = specOf(schema, key);
  const parts = key.split('.');
  let target = obj;
  let fields = schema;
  for (const p of parts.slice(0, -1)) {
    const sec = fields[p] as SectionSpec;
    if (typeof target[p] !== 'object' || target[p] === null) target[p] = structuredClone(sec.defaults);
    target = target[p] as Plain;
    fields = sec.fields;
  }
  const last = parts[parts.length - 1]!;
  if (spec.type === 'section' && raw === 'null' && spec.nullable) {
    delete target[last];
    return;
  }
  target[last] = parseValue(spec, raw, key);
}

/** Help lines `  --key=default   doc (allowed values)` for every key. */
export function helpLines(schema: Schema, defaults: Plain): string[] {
  const rows = helpRows(schema, defaults, '');
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`);
}

function helpRows(schema: Schema, defaults: Plain, prefix: string): Array<[string, string]> {
  return Object.entries(schema).flatMap(([k, spec]): Array<[string, string]> => {
    if (spec.type === 'section') {
      const sub = (defaults[k] as Plain | undefined) ?? (spec.defaults as Plain);
      const head: [string, string] = [`--${prefix}${k}.*`, `${spec.doc}${spec.nullable ? ' (optional section; absent = off)' : ''}`];
      return [head, ...helpRows(spec.fields, sub, `${prefix}${k}.`)];
    }
    const d = defaults[k];
    return [[`--${prefix}${k}=${d === null ? 'null' : String(d)}`, `${spec.doc} (${describe(spec)})`]];
  });
}

// ---------------------------------------------------------------- command-line splitting

/** What the splitter needs to know of a key: a boolean flag may stand alone (`--resume` = `--resume=true`). */
export type KeyKind = 'flag' | 'value' | 'unknown';

/**
 * Splits `--key=value`, `--key value` and bare boolean `--flag` arguments into [key, value] pairs, in order.
 * Values may start with a single dash (`--minLr -1` is rejected later by range, not here); anything else that is
 * not an option is an error.
 */
export function splitArgs(args: readonly string[], kind: (key: string) => KeyKind): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg.length === 2) {
      throw new ConfigError(`unexpected argument ${show(arg)}: settings are written --key=value`);
    }
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      out.push([arg.slice(2, eq), arg.slice(eq + 1)]);
      continue;
    }
    const key = arg.slice(2);
    const next = args[i + 1];
    const k = kind(key);
    if (k === 'flag') {
      const explicit = next === 'true' || next === 'false';
      out.push([key, explicit ? next : 'true']);
      if (explicit) i++;
    } else if (next !== undefined && !next.startsWith('--')) {
      out.push([key, next]);
      i++;
    } else if (k === 'unknown') {
      out.push([key, '']);
    } else {
      throw new ConfigError(`--${key} needs a value: write --${key}=VALUE`);
    }
  }
  return out;
}
