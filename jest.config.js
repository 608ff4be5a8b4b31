/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    // SWC only strips types (no type-checking): fast; `tsc --noEmit` is the type gate.
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // One Temporal dev server and one freshly migrated database for the whole run.
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.temporal/'],
};
