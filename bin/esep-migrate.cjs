#!/usr/bin/env node
'use strict';
// The esep-migrate command: TypeScript compiled on the fly by tsx, so there is no build step to remember.
//
// The local stand-in for S3 (s3rver) pages listings with a cipher of OpenSSL's legacy provider, which
// must be switched on when Node starts, so the command starts Node once more with that flag unless it is
// set already. The AWS SDK's notice that its 2027 releases need Node 22 is for developers (package.json
// pins the SDK), not for the people running a migration: it is switched off here.
const FLAG = '--openssl-legacy-provider';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The handlers run in-process locally: their Powertools logs show warnings and errors only (set
// POWERTOOLS_LOG_LEVEL to see more), and no metrics are sent anywhere.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes(FLAG)) {
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, [FLAG, ...process.execArgv, __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  require('tsx/cjs');
  require('../cli/main.ts')
    .main(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    });
}
