/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Two workers on two cores: the local runs spend much of their time waiting on the stand-ins (polls,
  // redeliveries), so two test files at once use the machine that one file leaves half idle.
  maxWorkers: 2,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // Removes the temporary cdk.out folders of the Apps that tests synthesize.
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
};
