import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ROOT } from './cli';

/**
 * A real headless Chromium that `npm ci` alone brings: the build @sparticuz/chromium ships, unpacked
 * into the temporary folder on first use (about 2 s), with the fonts it ships (FONTCONFIG_PATH), so
 * the pages look the same on a machine with no system package. `CHROMIUM_PATH` names another build.
 * The package is ESM only: its path is asked of a child Node, which jest's CommonJS runtime cannot load.
 */
function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  return execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "console.log(await (await import('@sparticuz/chromium')).default.executablePath())",
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  ).trim();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    env: { ...process.env, FONTCONFIG_PATH: process.env.FONTCONFIG_PATH ?? join(tmpdir(), 'fonts') },
    args: [
      '--no-sandbox',
      '--no-zygote',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
