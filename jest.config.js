/**
 * Three tiers, one runner: test/unit (no Temporal), test/workflows (time-skipping server),
 * test/e2e (real dev server, real worker, offline model). @swc/jest only strips types; `tsc --noEmit`
 * in `npm test` does the type checking once for the whole tree.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60_000,
  verbose: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
