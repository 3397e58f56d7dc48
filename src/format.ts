// Number formatting for messages and reports (counts, SI prefixes, durations, parameter counts).

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

/** 836736 → "0.84M", 12345 → "12.3k": parameter counts as nanoGPT prints them. */
export function formatShort(n: number): string {
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** Bytes → "512 B", "1.5 KiB", "3.2 GiB" (binary prefixes, 2 significant decimals above 1 KiB). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${Number(v.toPrecision(3))} ${units[i]}`;
}
