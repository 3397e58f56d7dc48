// Config and table formatting shared by the commands (numbers: src/format.ts).
import type { Plain } from '../model/schema.js';

/** `key=value` pairs of a config (sections dotted), wrapped to `width` columns and indented: copy-pasteable overrides. */
export function formatKeyValues(obj: Plain, indent = '  ', width = 100): string {
  const pairs = flatEntries(obj, '').map(([k, v]) => `${k}=${v === null ? 'null' : String(v)}`);
  const lines: string[] = [];
  let line = '';
  for (const p of pairs) {
    if (line !== '' && indent.length + line.length + 1 + p.length > width) {
      lines.push(indent + line);
      line = p;
    } else {
      line = line === '' ? p : `${line} ${p}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines.join('\n') + '\n';
}

function flatEntries(obj: Plain, prefix: string): Array<[string, unknown]> {
  return Object.entries(obj).flatMap(([k, v]): Array<[string, unknown]> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? flatEntries(v as Plain, `${prefix}${k}.`) : [[`${prefix}${k}`, v]],
  );
}

/** Left column padded: rows of [label, value] as aligned lines. */
export function formatRows(rows: ReadonlyArray<readonly [string, string]>, indent = '  '): string {
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`).join('\n') + '\n';
}
