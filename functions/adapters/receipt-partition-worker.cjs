'use strict';
// A worker thread of a plan's receipts, run from the sources (on-threads.ts; the build runs its own
// build/receipt-partition.cjs): TypeScript through tsx, as in the main thread.
require('tsx/cjs');
module.exports = require('./receipt-partition.ts');
