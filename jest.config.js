/**
 * Three tiers, one runner: test/unit (no Temporal), test/workflows (time-skipping server),
 * test/e2e (real dev server, real worker, offline model). @swc/jest only strips types; `tsc --noEmit`
 * in `npm test` does the type checking once for the whole tree. test/cluster/ has its own config and
 * command (`npm run test:cluster`): it builds the Temporal server and runs for minutes.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60_000,
  verbose: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
