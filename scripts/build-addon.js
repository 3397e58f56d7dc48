#!/usr/bin/env node
// Builds the native addon at install time, unless build/Release/mod_native.node is up to date with its sources
// (scripts/build-stamp.js). A failed install-time build must not fail `npm install`: the library then runs on the
// TypeScript reference backend and says so once at load time.
// --force: always build (`npm run build:addon`). --incremental: `node-gyp build` in the configured build/ instead of
// a clean rebuild (scripts/dev-build.sh). Either flag means a developer asked, so a failed build fails.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonTarget, checkStamp, inputsHash, removeStamp, writeStamp } from './build-stamp.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const force = process.argv.includes('--force');
const incremental = process.argv.includes('--incremental') && existsSync(path.join(root, 'build', 'Makefile'));
const strict = force || process.argv.includes('--incremental');
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.warn('mixture-of-depths: node-gyp not found; the native addon was not built (reference backend only).');
  process.exit(strict ? 1 : 0);
}
const target = addonTarget(root);
if (!force) {
  const s = checkStamp(target);
  if (s.upToDate) {
    console.log(`mixture-of-depths: native addon is up to date (${s.reason}); not rebuilding (\`npm run build:addon\` forces it).`);
    process.exit(0);
  }
  console.log(`mixture-of-depths: building the native addon (${s.reason}).`);
}
removeStamp(target);
const inputs = inputsHash(target);
const r = spawnSync(process.execPath, [gyp, incremental ? 'build' : 'rebuild', '--jobs', 'max'], { cwd: root, stdio: 'inherit' });
if (r.status === 0) writeStamp(target, inputs);
if (r.status === 0 || strict) process.exit(r.status ?? 1);
console.warn('mixture-of-depths: the native addon failed to build; falling back to the TypeScript reference backend (slow). ' +
  'Install python3, make and a C++ compiler, then run `npm run build:addon`.');
process.exit(0);
