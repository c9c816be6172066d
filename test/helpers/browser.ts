import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
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

/**
 * A screenshot of a page once it has painted: headless Chromium answers `Page.captureScreenshot` with
 * "Unable to capture screenshot" when its compositor has no frame to give yet, which a loaded 2-core
 * machine sees now and then right after a page loads (a CI run of e7fff03). The screenshot is a test
 * artefact, not what the tests assert, so that one refusal is asked again after two painted frames,
 * at most four times; any other error, or a fifth refusal, fails the test.
 */
export async function screenshot(page: Page, path: string, fullPage = false): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.evaluate(() => {
      const g = globalThis as unknown as { requestAnimationFrame(f: () => void): number };
      return new Promise<void>((done) =>
        g.requestAnimationFrame(() => g.requestAnimationFrame(() => done())),
      );
    });
    try {
      await page.screenshot({ path, fullPage });
      return;
    } catch (e) {
      if (attempt >= 5 || !String((e as Error).message).includes('Unable to capture screenshot')) throw e;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
