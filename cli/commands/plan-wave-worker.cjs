'use strict';
// A worker thread of a plan's waves, run from the sources (on-threads.ts; the build runs its own
// build/plan-wave.cjs): TypeScript through tsx, as in the main thread.
require('tsx/cjs');
module.exports = require('./plan-wave.ts');
