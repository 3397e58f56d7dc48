// Build stamps (scripts/build-stamp.js): the install-time addon build and the `prepare` tsc do nothing when their
// outputs are up to date with their sources. `npx mod` in a fresh clone re-runs both (npm links the package into
// its npx cache), so this is what lets it start at once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { tempFiles } from '../data/shared.js';

type Stamps = typeof import('../../scripts/build-stamp.js');
type BuildTarget = import('../../scripts/build-stamp.js').BuildTarget;

/** The repository root, found from both test/build and the compiled dist/test/build. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'scripts', 'build-stamp.js'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('scripts/build-stamp.js not found above ' + import.meta.url);
    dir = parent;
  }
  return dir;
}

const root = repoRoot();
// The scripts are plain JavaScript outside dist/, so they are imported by path at run time.
const stamps: Stamps = await import(pathToFileURL(path.join(root, 'scripts', 'build-stamp.js')).href);

/** Writes the stamp a successful build of `target` would write. */
function stampAsBuilt(target: BuildTarget): void {
  stamps.writeStamp(target, stamps.inputsHash(target));
}

function assertStale(target: BuildTarget, reason: RegExp): void {
  const s = stamps.checkStamp(target);
  assert.equal(s.upToDate, false, 'expected a rebuild');
  assert.match(s.reason, reason);
}

function assertUpToDate(target: BuildTarget): void {
  const s = stamps.checkStamp(target);
  assert.ok(s.upToDate, `expected up to date, got: ${s.reason}`);
}

/** Appends to a file, runs `check`, then restores the file's content. */
function withEdit(file: string, check: () => void): void {
  const original = fs.readFileSync(file);
  fs.appendFileSync(file, '\n// edited\n');
  try {
    check();
  } finally {
    fs.writeFileSync(file, original);
  }
}

describe('build stamp decision', () => {
  it('rebuilds without a stamp, and after one only when an input, a tool version or an output changes', () => {
    const t = tempFiles('mod-stamp-');
    t.write('src/a.ts', 'export const a = 1;\n');
    t.write('out/a.js', 'export const a = 1;\n');
    const target: BuildTarget = { root: t.dir, stamp: 'build.stamp', inputs: ['src'], outputs: ['out'], extra: ['tool 1'] };
    assertStale(target, /no stamp/);
    stampAsBuilt(target);
    assertUpToDate(target);

    // Content decides, not mtimes: a fresh clone gives every file a new mtime.
    const later = new Date(Date.now() + 3_600_000);
    fs.utimesSync(path.join(t.dir, 'src/a.ts'), later, later);
    assertUpToDate(target);

    withEdit(path.join(t.dir, 'src/a.ts'), () => assertStale(target, /src changed/));
    assertUpToDate(target);
    const added = t.write('src/b.ts', '');
    assertStale(target, /src changed/);
    fs.rmSync(added);
    assertUpToDate(target);

    assertStale({ ...target, extra: ['tool 2'] }, /changed/);
    withEdit(path.join(t.dir, 'out/a.js'), () => assertStale(target, /out changed since the last build/));
    fs.rmSync(path.join(t.dir, 'out/a.js'));
    assertStale(target, /changed since the last build/);
    fs.rmSync(path.join(t.dir, 'out'), { recursive: true });
    assertStale(target, /out is missing/);
  });

  it('the addon depends on binding.gyp, native/, the compiler flags and the Node ABI', () => {
    const t = tempFiles('mod-stamp-addon-');
    for (const f of ['binding.gyp', 'native', 'build/Release/mod_native.node']) {
      fs.cpSync(path.join(root, f), path.join(t.dir, f), { recursive: true });
    }
    const target = stamps.addonTarget(t.dir);
    assert.ok(target.extra.some((e) => e.includes(`abi ${process.versions.modules}`)), target.extra.join('; '));
    stampAsBuilt(target);
    assertUpToDate(target);
    withEdit(path.join(t.dir, 'native/gemm.cc'), () => assertStale(target, /native changed/));
    withEdit(path.join(t.dir, 'binding.gyp'), () => assertStale(target, /binding\.gyp.*changed/));
    assertUpToDate(target);

    const saved = process.env.CXXFLAGS;
    process.env.CXXFLAGS = `${saved ?? ''} -O0`;
    try {
      assertStale(stamps.addonTarget(t.dir), /changed/);
    } finally {
      if (saved === undefined) delete process.env.CXXFLAGS;
      else process.env.CXXFLAGS = saved;
    }
    assertUpToDate(stamps.addonTarget(t.dir));
  });

  it('the TypeScript build depends on tsconfig.json, src/, test/ and the page bundler', () => {
    const t = tempFiles('mod-stamp-tsc-');
    t.write('tsconfig.json', '{}\n');
    t.write('scripts/build-view.js', '// bundles the page\n');
    t.write('src/x.ts', 'export const x = 1;\n');
    t.write('test/x.test.ts', 'import "../src/x.js";\n');
    t.write('dist/src/x.js', 'export const x = 1;\n');
    const target = stamps.tscTarget(t.dir);
    stampAsBuilt(target);
    assertUpToDate(target);
    for (const f of ['tsconfig.json', 'src/x.ts', 'test/x.test.ts', 'scripts/build-view.js']) {
      withEdit(path.join(t.dir, f), () => assertStale(target, /changed/));
    }
    assertUpToDate(target);
  });
});

/** Runs one of this checkout's build scripts as npm would. */
function runScript(name: string): string {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', name)], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${name} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Modification times of every file under `dir`. */
function mtimes(dir: string): Map<string, number> {
  const files = fs.readdirSync(dir, { recursive: true }).map(String);
  return new Map(files.map((f) => [f, fs.statSync(path.join(dir, f)).mtimeMs]));
}

describe("this checkout's install scripts", () => {
  it('the install script leaves an up-to-date addon alone', () => {
    const target = stamps.addonTarget(root);
    const s = stamps.checkStamp(target);
    assert.ok(s.upToDate, `build/Release/mod_native.node is not stamped as built from this checkout (${s.reason}); ` +
      'run `npm run build:addon` or ./scripts/dev-build.sh');
    const addon = path.join(root, 'build', 'Release');
    const before = mtimes(addon);
    assert.match(runScript('build-addon.js'), /native addon is up to date/);
    assert.deepEqual(mtimes(addon), before);
  });

  it('the prepare script leaves an up-to-date dist/ alone', () => {
    // `npm test` has just run tsc itself; if the sources changed since the last `prepare`, this run compiles once.
    runScript('build-ts.js');
    const dist = path.join(root, 'dist');
    const before = mtimes(dist);
    assert.match(runScript('build-ts.js'), /TypeScript build is up to date/);
    assert.deepEqual(mtimes(dist), before);
  });
});
