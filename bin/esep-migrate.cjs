#!/usr/bin/env node
'use strict';
// The esep-migrate command: TypeScript compiled on the fly by tsx, so there is no build step to remember.
//
// The local stand-in for S3 (s3rver) pages listings with a cipher of OpenSSL's legacy provider, which
// must be switched on when Node starts; the AWS SDK warns on Node 20. So the command starts Node once
// more with those flags, unless they are set already.
const FLAGS = ['--openssl-legacy-provider', '--disable-warning=NodeVersionSupportWarning'];
const current = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`;
if (!FLAGS.every((f) => current.includes(f))) {
  const { spawn } = require('node:child_process');
  const child = spawn(
    process.execPath,
    [...FLAGS, ...process.execArgv, __filename, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  require('tsx/cjs');
  require('./cli.ts')
    .main(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    });
}
