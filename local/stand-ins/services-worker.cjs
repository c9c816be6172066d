'use strict';
// The entry of the stand-ins' worker thread (see services-host.ts): the command line's build of it
// (tools/build-cli.mjs) when the command line runs from its build, or else the TypeScript through tsx, as
// in the main thread.
const { workerData } = require('node:worker_threads');
let hosting;
if (workerData.built) hosting = require(workerData.built);
else {
  require('tsx/cjs');
  hosting = require('./services-host.ts');
}
hosting.host(workerData.stateDir);
