// Build stamps: an output is up to date when a stamp file beside it records the hash of the build's inputs (file
// contents plus tool versions) and the hash of the outputs it produced. Hashes, not mtimes, because a fresh clone
// gives every file a new mtime, and `npx mod` in a clone re-runs the install scripts (npm links the package into
// its npx cache). Plain Node built-ins only: this runs at install time, before TypeScript is compiled and
// possibly without devDependencies.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** Files under `rel` (a file or a directory, relative to root), as sorted relative paths with '/' separators. */
function listFiles(root, rel) {
  const abs = path.join(root, rel);
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs).sort().flatMap((name) => listFiles(root, `${rel}/${name}`));
}

/** sha256 over `extra` and the path and contents of every file under `paths`; a missing path hashes as missing. */
export function hashFiles(root, paths, extra = [], skip = []) {
  const h = createHash('sha256');
  for (const e of extra) h.update(`extra\0${e}\0`);
  for (const p of paths) {
    if (!existsSync(path.join(root, p))) {
      h.update(`missing\0${p}\0`);
      continue;
    }
    for (const f of listFiles(root, p)) {
      if (skip.includes(f)) continue;
      const content = readFileSync(path.join(root, f));
      h.update(`file\0${f}\0${content.length}\0`).update(content);
    }
  }
  return h.digest('hex');
}

function readStamp(file) {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8'));
    return typeof s.inputs === 'string' && typeof s.outputs === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The hash of `target`'s inputs: take it before building, so that an edit made during the build is not missed. */
export const inputsHash = (t) => hashFiles(t.root, t.inputs, t.extra);
const outputsHash = (t) => hashFiles(t.root, t.outputs, [], [t.stamp]);

/** Whether `target`'s outputs are up to date with its inputs, and if not, why. */
export function checkStamp(target) {
  const stamp = readStamp(path.join(target.root, target.stamp));
  if (stamp === undefined) return { upToDate: false, reason: `no stamp at ${target.stamp}` };
  const missing = target.outputs.find((o) => !existsSync(path.join(target.root, o)));
  if (missing !== undefined) return { upToDate: false, reason: `${missing} is missing` };
  if (stamp.inputs !== inputsHash(target)) return { upToDate: false, reason: `${target.inputs.join(', ')} changed` };
  if (stamp.outputs !== outputsHash(target)) return { upToDate: false, reason: `${target.outputs.join(', ')} changed since the last build` };
  return { upToDate: true, reason: `${target.outputs.join(', ')} up to date with ${target.inputs.join(', ')}` };
}

/** Records that `target`'s current outputs were built from inputs with hash `inputs`. */
export function writeStamp(target, inputs) {
  const file = path.join(target.root, target.stamp);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ inputs, outputs: outputsHash(target) }) + '\n');
}

/** Removes `target`'s stamp, so that an interrupted or failed build is never taken for an up-to-date one. */
export function removeStamp(target) {
  rmSync(path.join(target.root, target.stamp), { force: true });
}

/** The version of an installed package, or 'none'. */
function versionOf(pkg) {
  try {
    return `${pkg}@${require(`${pkg}/package.json`).version}`;
  } catch {
    return `${pkg}@none`;
  }
}

// Compiler settings node-gyp passes through from the environment.
const compilerEnv = ['CC', 'CXX', 'CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS'];

/** The native addon: its sources, the Node ABI it is built for, the build tools and compiler settings. */
export function addonTarget(root) {
  const v = process.versions;
  return {
    root,
    stamp: 'build/Release/mod_native.node.stamp',
    inputs: ['binding.gyp', 'native'],
    outputs: ['build/Release/mod_native.node'],
    extra: [
      `node ${v.node} abi ${v.modules} napi ${v.napi} ${process.platform}-${process.arch}`,
      versionOf('node-gyp'),
      versionOf('node-addon-api'),
      ...compilerEnv.map((k) => `${k}=${process.env[k] ?? ''}`),
    ],
  };
}

/** The TypeScript build: src/ and test/ compiled to dist/ by the installed compiler, and the page bundled into dist/view. */
export function tscTarget(root) {
  return {
    root,
    stamp: 'dist/.tsc-stamp.json',
    inputs: ['tsconfig.json', 'src', 'test', 'scripts/build-view.js'],
    outputs: ['dist'],
    extra: [versionOf('typescript'), versionOf('esbuild')],
  };
}
