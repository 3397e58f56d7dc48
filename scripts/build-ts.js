#!/usr/bin/env node
// Compiles the TypeScript and bundles the `mod view` page (scripts/build-view.js) (the `prepare` script), unless
// dist/ is up to date with src/, test/, tsconfig.json, the bundler script and the tools' versions
// (scripts/build-stamp.js). `--force` always builds (`npm run build`). A type error fails the build, as plain tsc does.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkStamp, inputsHash, removeStamp, tscTarget, writeStamp } from './build-stamp.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const target = tscTarget(root);
if (!process.argv.includes('--force')) {
  const s = checkStamp(target);
  if (s.upToDate) {
    console.log(`mixture-of-depths: TypeScript build is up to date (${s.reason}); not running tsc (\`npm run build\` forces it).`);
    process.exit(0);
  }
  console.log(`mixture-of-depths: compiling TypeScript (${s.reason}).`);
}
removeStamp(target);
const inputs = inputsHash(target);
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('mixture-of-depths: typescript is not installed, so dist/ cannot be compiled; run `npm install` here.');
  process.exit(1);
}
const steps = [
  [tsc, '-p', path.join(root, 'tsconfig.json')],
  [tsc, '-p', path.join(root, 'src', 'view', 'tsconfig.json')],
  [path.join(root, 'scripts', 'build-view.js')],
];
for (const args of steps) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
writeStamp(target, inputs);
