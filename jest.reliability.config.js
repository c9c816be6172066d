/**
 * `npm run test:reliability`: the reliability suite at full scale (RELIABILITY=full), two files at a
 * time, ending with its figures.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/reliability'],
  testTimeout: 30 * 60_000,
  reporters: ['default', '<rootDir>/test/reliability/figures-reporter.js'],
};
