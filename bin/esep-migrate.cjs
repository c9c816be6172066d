#!/usr/bin/env node
'use strict';
// The esep-migrate command. `npm ci` builds it once (tools/build-cli.mjs, through `prepare`) into
// build/esep-migrate.cjs, which starts without compiling TypeScript; while any source is newer than that
// build (an edited checkout), the TypeScript runs through tsx instead, so there is no step to remember.
//
// The AWS SDK's notice that its 2027 releases need Node 22 is for developers (package.json pins the SDK),
// not for the people running a migration: it is switched off here. The handlers run in-process locally:
// their Powertools logs show warnings and errors only (set POWERTOOLS_LOG_LEVEL to see more), and no
// metrics are sent anywhere.
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const ROOT = join(__dirname, '..');
const BUILT = join(ROOT, 'build', 'esep-migrate.cjs');
/** What the build is made from (tools/build-cli.mjs bundles these; the packages stay where they are). */
const SOURCES = ['cli', 'functions', 'local', 'lib', 'tools', 'package.json', 'package-lock.json'];

/** Whether the build is there and newer than every source it was made from. */
function built() {
  let at;
  try {
    at = statSync(BUILT).mtimeMs;
  } catch {
    return false;
  }
  for (const source of SOURCES) {
    const path = join(ROOT, source);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (!stat.isDirectory()) {
      if (stat.mtimeMs > at) return false;
      continue;
    }
    for (const entry of readdirSync(path, { withFileTypes: true, recursive: true }))
      if (entry.isFile() && statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs > at)
        return false;
  }
  return true;
}

let cli;
if (built()) cli = require(BUILT);
else {
  require('tsx/cjs');
  cli = require('../cli/main.ts');
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
