// Layers of src/ that only import downward (DEVELOPERS.md, README "Architecture"). `npm test` runs
//   depcruise src --config .dependency-cruiser.cjs
// and fails on an upward import, a cycle, or a `node:` module reachable from the browser entry.
// src/view (the `mod view` page) sits on top: it is bundled for the browser from the browser entry, and the CLI only
// serves its bundle as files, so nothing imports it.
const LAYERS = ['kernels', 'engine', 'nn', 'model', 'data', 'train', 'sample', 'export', 'bench', 'compare', 'sweep', 'cli', 'view'];

/** Every folder may import itself and the folders before it; src/errors.ts and src/format.ts are below them all. */
const upward = LAYERS.map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `src/${layer} sits below ${LAYERS.slice(i + 1).join(', ')}: it must not import them`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${[...LAYERS.slice(i + 1), 'index\\.ts', ...(layer === 'view' ? [] : ['browser\\.ts'])].join('|')})` },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'base-imports-nothing',
      comment: 'src/errors.ts and src/format.ts are the bottom layer',
      severity: 'error',
      from: { path: '^src/(errors|format)\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'no-circular',
      comment: 'modules must not import each other in a cycle (type-only imports, erased at run time, aside)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'view-imports-the-browser-entry-only',
      comment: 'the page runs in a browser: it takes the library through src/browser.ts (and the bottom layer), not through the Node-side folders',
      severity: 'error',
      from: { path: '^src/view/' },
      to: { path: '^src/', pathNot: '^src/(view/|browser\\.ts$|errors\\.ts$|format\\.ts$)' },
    },
    {
      name: 'browser-entry-has-no-node-modules',
      comment: 'src/browser.ts and the page (src/view) must load in a browser: nothing they reach may import a Node built-in',
      severity: 'error',
      from: { path: '^src/(browser\\.ts$|view/)' },
      to: { path: '^(node:)?(fs|path|os|crypto|module|url|child_process|worker_threads|process|util|stream|events|buffer)$', reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
