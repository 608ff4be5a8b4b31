/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  transform: {
    // SWC only strips types (no type-checking): fast; `tsc --noEmit` is the type gate.
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.temporal/'],
};

module.exports = {
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    // No database, no Temporal: pure code, and channel adapters against fakes of their channels'
    // HTTP APIs (`npx jest --selectProjects unit` runs in seconds). The sandbox adapter is the
    // exception: its channel is our own provider, on the database.
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/channels/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/channels/sandbox'],
    },
    // Everything else runs against one Temporal dev server and one freshly migrated database.
    {
      ...shared,
      displayName: 'system',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/unit/', '<rootDir>/test/channels/(?!sandbox)'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
