'use strict';
// A worker thread of a plan's receipts (report-folder.ts, through piscina): TypeScript through tsx, as in
// the main thread; each task builds one partition (receipt-partition.ts).
require('tsx/cjs');
module.exports = require('./receipt-partition.ts').buildPartition;
