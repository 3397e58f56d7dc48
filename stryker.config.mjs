// Mutation testing of the Mixture-of-Depths claims (npm run mutate; not part of npm test, docs/testing.md).
// Stryker mutates the TypeScript sources in a sandbox copy (every mutant at once, switched on at run time), tsc
// compiles the sandbox once, and the tap runner runs each compiled test file with the native backend registered, as
// scripts/run-tests.js does; per-test-file coverage limits each mutant to the files that reach it. The TypeScript
// checker drops mutants that do not compile. (Running the .ts tests under tsx works too, but its start-up made each
// test file ~3× slower on this machine.)
import path from 'node:path';

// The sandbox (.stryker-tmp/sandbox-*/dist/src/kernels/native) is too deep for the addon's search upwards for
// build/Release: point the test processes at this checkout's build.
process.env.MOD_ADDON_PATH ??= path.resolve('build', 'Release', 'mod_native.node');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  mutate: [
    'src/model/mod.ts',
    'src/model/config.ts',
    'src/model/flops.ts',
    'src/kernels/reference/routing.ts',
    'src/sample/generate.ts',
  ],
  testRunner: 'tap',
  tap: {
    // The tests of the mutated files, cheapest first (a mutant stops at its first failing file).
    testFiles: [
      'dist/test/model/flops.test.js',
      'dist/test/model/config.test.js',
      'dist/test/kernels/routing.test.js',
      'dist/test/model/mod.test.js',
      'dist/test/model/causal.test.js',
      'dist/test/sample/causal-decode.test.js',
      'dist/test/sample/decode.test.js',
    ],
    nodeArgs: ['--require', '{{hookFile}}', '--import', './dist/src/kernels/node.js', '{{testFile}}'],
    forceBail: true,
  },
  buildCommand: 'npx tsc -p tsconfig.json',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 15000,
  timeoutFactor: 3,
  ignorePatterns: ['dist', 'build', 'out', 'runs', 'reports', 'docs', 'python', 'examples'],
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  // Later runs re-test only the mutants whose code or covering tests changed (npm run mutate -- --force: all).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
};
