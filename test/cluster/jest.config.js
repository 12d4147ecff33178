/**
 * `npm run test:cluster`: the cluster test on its own (test/cluster/), outside `npm test` because
 * it builds the Temporal server on first use (about 4 minutes) and runs for minutes under chaos.
 */
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 20 * 60_000,
  verbose: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
