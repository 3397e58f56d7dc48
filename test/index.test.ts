// The public API as a user meets it: the example script through the package's own name, the browser entry
// bundled for the browser and run without Node, the files `npm pack` ships, and the layer rules.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { GPT, Rng, noGrad, releaseGraph, setBackend } from '../src/index.js';
import { tempDir } from './train/fixtures/tiny-run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The package root (tests run compiled from dist/test, or from test/ under tsx). */
const root = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
const browserEntry = path.join(root, 'dist', 'src', 'browser.js');

test('examples/tiny-mod.mjs trains, samples, saves and loads a MoD model through the package entry alone', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'examples', 'tiny-mod.mjs'), path.join(tempDir('mod-example-'), 'run')], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^iter 40: val loss \d\.\d{3}$/m);
  assert.match(r.stdout, /routed blocks 1$/m);
  assert.match(r.stdout, /^the loaded model samples the same text: true$/m);
});

/** Fails the build on any Node built-in, whether spelled `node:x` or `x`. */
const noNodeModules: esbuild.Plugin = {
  name: 'no-node-modules',
  setup(build) {
    const builtins = new Set(['fs', 'path', 'os', 'crypto', 'module', 'url', 'child_process', 'worker_threads', 'util', 'stream', 'events', 'buffer', 'process']);
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.path.startsWith('node:') || builtins.has(args.path)) return { errors: [{ text: `${args.importer} imports ${args.path}` }] };
      return undefined;
    });
  },
};

async function bundle(entry: string): Promise<esbuild.BuildResult & { outputFiles: esbuild.OutputFile[] }> {
  return esbuild.build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', globalName: 'mod', write: false, logLevel: 'silent', plugins: [noNodeModules] });
}

test('the browser entry bundles for the browser with no Node module, and runs a forward pass without Node', async () => {
  const built = await bundle(browserEntry);
  const code = built.outputFiles[0]!.text;
  // A fresh context: no process, require, Buffer or module system, as in a page.
  const context = vm.createContext({ TextEncoder, TextDecoder, performance, console });
  vm.runInContext(`${code}\nglobalThis.result = (() => {
    const cfg = { vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, mlpRatio: 4, bias: false, tiedEmbeddings: true,
      positions: 'rope', mod: { ...mod.modConfigDefaults, capacity: 0.5 } };
    const model = new mod.GPT(cfg, new mod.Rng(3));
    const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 50);
    const out = mod.noGrad(() => model.forward(ids, 1, 16));
    return { backend: mod.kernels().name, logits: Array.from(out.logits.data), processed: Array.from(out.routing[0].processed[0]) };
  })();`, context);
  const result = context.result as { backend: string; logits: number[]; processed: number[] };
  assert.equal(result.backend, 'reference');
  assert.equal(result.logits.length, 16 * 50);
  assert.equal(result.processed.length, 8);
  // The same model in Node on the reference backend gives the same numbers, bit for bit.
  setBackend('reference');
  try {
    const cfg = { vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, mlpRatio: 4, bias: false, tiedEmbeddings: true, positions: 'rope' as const, mod: { capacity: 0.5, every: 2, routerWeight: 'raw' as const, routing: 'learned' as const, causal: 'predictor' as const, auxWeight: 0.1, predictorHidden: 64 } };
    const out = noGrad(() => new GPT(cfg, new Rng(3)).forward(Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 50), 1, 16));
    assert.deepEqual(Array.from(result.logits), Array.from(out.logits.data)); // copied out of the other realm
    releaseGraph();
  } finally {
    setBackend('native');
  }
});

test('the bundle check fails on a module that imports a Node built-in', async () => {
  const dir = tempDir('mod-bundle-');
  writeFileSync(path.join(dir, 'entry.js'), "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n");
  await assert.rejects(bundle(path.join(dir, 'entry.js')), /imports node:fs/);
});

test('npm pack ships the compiled library, its types, the addon sources and the CLI, and nothing else', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/mod.js', 'binding.gyp', 'scripts/build-addon.js', 'native/simd.h', 'native/gemm.cc',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/browser.js', 'dist/src/browser.d.ts', 'dist/src/cli/main.js',
    'dist/view/index.html', 'dist/view/page.js', 'dist/view/style.css']) {
    assert.ok(files.includes(f), `${f} is not in the package`);
  }
  const unexpected = files.filter((f) => !/^(package\.json|README\.md|LICENSE|bin\/mod\.js|binding\.gyp|scripts\/build-(addon|stamp)\.js|python\/(modeling_mod|train_ddp)\.py|python\/README\.md|native\/[\w.]+\.(cc|h)|dist\/src\/.+\.(js|d\.ts)|dist\/view\/(index\.html|page\.js|style\.css))$/.test(f));
  assert.deepEqual(unexpected, [], 'files a user does not need');
  assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.endsWith('.map') || f.startsWith('src/') || f.startsWith('docs/')));
});

function depcruise(cwd: string, target: string): { status: number | null; stdout: string } {
  const bin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, target, '--config', path.join(root, '.dependency-cruiser.cjs')], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout + r.stderr };
}

test('layers import only downward: src passes, and an upward import or a cycle fails', () => {
  const ok = depcruise(root, 'src');
  assert.equal(ok.status, 0, ok.stdout);
  const dir = tempDir('mod-layers-');
  for (const d of ['src/model', 'src/cli', 'src/nn', 'src/view']) mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  writeFileSync(path.join(dir, 'src/model/a.ts'), "import { b } from '../cli/b.js';\nexport const a = b;\n");
  writeFileSync(path.join(dir, 'src/cli/b.ts'), 'export const b = 1;\n');
  writeFileSync(path.join(dir, 'src/nn/c.ts'), "import { d } from './d.js';\nexport const c = 1 + d;\n");
  writeFileSync(path.join(dir, 'src/nn/d.ts'), "import { c } from './c.js';\nexport const d = () => c;\n");
  // The page: through the browser entry only, and no Node built-ins; the CLI does not import it.
  writeFileSync(path.join(dir, 'src/browser.ts'), "export { b } from './cli/b.js';\n");
  writeFileSync(path.join(dir, 'src/view/ok.ts'), "import { b } from '../browser.js';\nexport const ok = b;\n");
  writeFileSync(path.join(dir, 'src/view/deep.ts'), "import { c } from '../nn/c.js';\nexport const deep = c;\n");
  writeFileSync(path.join(dir, 'src/view/fs.ts'), "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n");
  writeFileSync(path.join(dir, 'src/cli/page.ts'), "import { ok } from '../view/ok.js';\nexport const page = ok;\n");
  const bad = depcruise(dir, 'src');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /no-upward-from-model: src\/model\/a\.ts → src\/cli\/b\.ts/);
  assert.match(bad.stdout, /no-circular/);
  assert.match(bad.stdout, /view-imports-the-browser-entry-only: src\/view\/deep\.ts → src\/nn\/c\.ts/);
  assert.match(bad.stdout, /browser-entry-has-no-node-modules: src\/view\/fs\.ts → (node:)?fs/);
  assert.match(bad.stdout, /no-upward-from-cli: src\/cli\/page\.ts → src\/view\/ok\.ts/);
  assert.doesNotMatch(bad.stdout, /src\/view\/ok\.ts → src\/browser\.ts/);
});
