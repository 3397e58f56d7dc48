// Number and config formatting shared by the commands.
import type { Plain } from '../model/schema.js';

/** 836736 → "836,736". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 1.77e6, 'FLOP' → "1.77 MFLOP"; three significant digits. */
export function formatSi(x: number, unit: string): string {
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  let v = x;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${prefixes[i]}${unit}`;
}

/** Seconds → "3m12s", "1h02m", "45s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

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

/** 836736 → "0.84M", 12345 → "12.3k": parameter counts as nanoGPT prints them. */
export function formatShort(n: number): string {
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
