'use strict';
// The entry of the stand-ins' worker thread (services-thread.ts): the command line's build of their module
// (tools/build-cli.mjs) when the command line runs from its build, or else the TypeScript through tsx, as
// in the main thread. It loads them at once and hosts them (services-host.ts) when told its state folder.
const { parentPort, workerData } = require('node:worker_threads');
let hosting;
if (workerData.built) hosting = require(workerData.built);
else {
  require('tsx/cjs');
  hosting = require('./services-host.ts');
}
hosting.load();
parentPort.once('message', (message) => hosting.host(message.stateDir));
