'use strict';
// The entry of the stand-ins' worker thread (see services-host.ts): TypeScript through tsx, as in the main thread.
require('tsx/cjs');
const { workerData } = require('node:worker_threads');
require('./services-host.ts').host(workerData.stateDir);
