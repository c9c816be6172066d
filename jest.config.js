/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Three workers on two cores: the local runs spend much of their time waiting on the stand-ins (polls,
  // redeliveries); with two, the machine was busy about two thirds of the time (CPU 14.6 min in 10.9 min
  // of wall time, 2026-12-04).
  maxWorkers: 3,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // A run at AWS's limits takes minutes: its own script (npm run test:aws-limits).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/limits/'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // Removes the temporary cdk.out folders of the Apps that tests synthesize.
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
    // FormatJS (the receipts' message catalogues) ships ES modules only: compiled to CommonJS here, as
    // Node 20's require(esm) does for the command line and esbuild for the functions.
    '/node_modules/(intl-messageformat|@formatjs)/.+\\.js$': [
      '@swc/jest',
      { jsc: { target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(intl-messageformat|@formatjs)/)'],
};
