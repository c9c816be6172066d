#!/usr/bin/env node
'use strict';
// The esep-migrate command: TypeScript compiled on the fly by tsx, so there is no build step to remember.
require('tsx/cjs');
require('./cli.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
