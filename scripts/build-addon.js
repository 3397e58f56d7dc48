#!/usr/bin/env node
// Builds the native addon at install time. A failed build must not fail `npm install`: the library then runs on
// the TypeScript reference backend and says so once at load time.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.warn('mixture-of-depths: node-gyp not found; the native addon was not built (reference backend only).');
  process.exit(0);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--jobs', 'max'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('mixture-of-depths: the native addon failed to build; falling back to the TypeScript reference backend (slow). ' +
    'Install python3, make and a C++ compiler, then run `npm run build:addon`.');
}
process.exit(0);
