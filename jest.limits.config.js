/**
 * `npm run test:aws-limits`: a run against stand-ins that enforce AWS's limits (minutes long; not in
 * `npm test`).
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/limits'],
  testPathIgnorePatterns: [],
  testTimeout: 30 * 60_000,
};
