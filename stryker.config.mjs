// Mutation testing of the Mixture-of-Depths claims (npm run mutate; not part of npm test, docs/testing.md).
// Stryker mutates the TypeScript sources in a sandbox copy; the tap runner runs each test file under tsx with the
// native backend registered, as scripts/run-tests.js does with the compiled files, and per-test-file coverage
// limits each mutant to the files that reach it. The TypeScript checker drops mutants that do not compile.
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
    testFiles: [
      'test/model/mod.test.ts',
      'test/model/causal.test.ts',
      'test/model/config.test.ts',
      'test/model/flops.test.ts',
      'test/kernels/routing.test.ts',
      'test/sample/decode.test.ts',
      'test/sample/causal-decode.test.ts',
    ],
    nodeArgs: ['--require', '{{hookFile}}', '--import', 'tsx', '--import', './src/kernels/node.ts', '{{testFile}}'],
    forceBail: true,
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 60000,
  timeoutFactor: 3,
  ignorePatterns: ['dist', 'build', 'out', 'runs', 'reports', 'docs', 'python', 'examples'],
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
};
