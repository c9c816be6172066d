#!/usr/bin/env node
'use strict';
// The esep-migrate command: TypeScript compiled on the fly by tsx, so there is no build step to remember.
//
// The AWS SDK's notice that its 2027 releases need Node 22 is for developers (package.json pins the SDK),
// not for the people running a migration: it is switched off here. The handlers run in-process locally:
// their Powertools logs show warnings and errors only (set POWERTOOLS_LOG_LEVEL to see more), and no
// metrics are sent anywhere.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
require('tsx/cjs');
require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
