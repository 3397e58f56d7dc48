// Test helpers for the data layer: ../shared/data files (outside the repo, optional; found from both test/ and the
// compiled dist/test/), and a temporary directory to write fixtures into.

import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The path of shared/data/`name` in an ancestor of this file's directory, or null when absent. */
export function sharedDataFile(name: string): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'shared', 'data', name);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** A fresh temporary directory, removed after the test file; `write(rel, content)` creates a file in it. */
export function tempFiles(prefix: string): { dir: string; write(rel: string, content: string | Uint8Array): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(rel, content) {
      const p = path.join(dir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
      return p;
    },
  };
}
