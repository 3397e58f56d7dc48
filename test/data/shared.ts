// Locates ../shared/data files (outside the repo, optional) from both test/ and the compiled dist/test/.

import fs from 'node:fs';
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
