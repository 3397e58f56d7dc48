#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner. Node 20's --test takes no globs, so the
// files are listed here. Pass substrings to run a subset: `node scripts/run-tests.js gemm attention`.
import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dir = path.join(root, 'dist', 'test');
function walk(d) {
  return readdirSync(d).flatMap((f) => {
    const p = path.join(d, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk(dir).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files found under ' + dir);
  process.exit(1);
}
// Tests run as the Node entry does: with the native backend registered (src/kernels/node.ts).
const nodeBackend = pathToFileURL(path.join(root, 'dist', 'src', 'kernels', 'node.js')).href;
const r = spawnSync(process.execPath, ['--import', nodeBackend, '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
