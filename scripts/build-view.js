#!/usr/bin/env node
// Builds the `mod view` page into dist/view/: src/view/page.ts bundled by esbuild for the browser from the library's
// browser entry (one script, no imports from elsewhere), with index.html and style.css beside it. Run by the build
// (`prepare`, `npm run build`) and by `npm test`, so the CLI serves and exports a ready bundle and needs no bundler
// at run time (esbuild stays a dev dependency). Fails on any Node built-in reachable from the page.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src', 'view');
const out = path.join(root, 'dist', 'view');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('mixture-of-depths: esbuild is not installed, so the viewer page cannot be bundled; run `npm install` here.');
  process.exit(1);
}

const builtins = new Set(builtinModules);
/** Fails the bundle on a Node built-in, spelled `node:x` or `x`. */
const noNodeModules = {
  name: 'no-node-modules',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.path.startsWith('node:') || builtins.has(args.path)) return { errors: [{ text: `${args.importer} imports ${args.path}: the page runs in a browser` }] };
      return undefined;
    });
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [path.join(src, 'page.ts')],
  outfile: path.join(out, 'page.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'error',
  plugins: [noNodeModules],
}).catch(() => null);
if (result === null) process.exit(1);
for (const f of ['index.html', 'style.css']) copyFileSync(path.join(src, f), path.join(out, f));
