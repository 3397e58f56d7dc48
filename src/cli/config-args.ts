// Command-line settings typed by the config schema (src/model/schema.ts): `--key=value` / `--key value` / bare
// boolean `--flag` splitting, parsing a string by its spec, dotted-key overrides and help lines.
import { ConfigError } from '../errors.js';
import { checkValue, describe, flatKeys, type FieldSpec, type Plain, type Schema, type SectionSpec, show, specOf, wrongType } from '../model/schema.js';

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses a command-line string by the spec's type: numbers, `true`/`false`, enum names, `null` when nullable. */
export function parseValue(spec: FieldSpec, raw: string, key: string): unknown {
  // 'null' is never a literal string value: a path or name spelled "null" is far likelier a mistake.
  if (raw === 'null') return checkValue(spec, null, key);
  switch (spec.type) {
    case 'int':
    case 'number':
      if (!NUMBER_RE.test(raw)) throw wrongType(spec, raw, key);
      if (!Number.isFinite(Number(raw))) throw new ConfigError(`${key}=${raw} is too large for a number: must be ${describe(spec)}`);
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
 * Splits `--key=value`, `--key value` and bare boolean `--flag` arguments into [key, value] pairs, in order; a key
 * given twice is an error (it used to take the last value silently).
 * Values may start with a single dash (`--minLr -1` is rejected later by range, not here); anything else that is
 * not an option is an error.
 */
export function splitArgs(args: readonly string[], kind: (key: string) => KeyKind): Array<[string, string]> {
  const out = splitArgList(args, kind);
  const seen = new Map<string, string>();
  for (const [key, value] of out) {
    const before = seen.get(key);
    if (before !== undefined) throw new ConfigError(`--${key} is given twice (${show(before)} and ${show(value)}): give it once`);
    seen.set(key, value);
  }
  return out;
}

function splitArgList(args: readonly string[], kind: (key: string) => KeyKind): Array<[string, string]> {
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
