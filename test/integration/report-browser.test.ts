import { statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { plan } from '../../cli/commands/plan';
import { showReceipt } from '../../cli/commands/receipt';
import { receiptLanguages, sayer } from '../../functions/core/report/i18n';
import { launchChromium, screenshot } from '../helpers/browser';
import { ROOT } from '../helpers/cli';
import { blob, buildExport } from '../helpers/memory-export';

/**
 * report.html and the receipts' HTML in a real browser: headless Chromium from npm (@sparticuz/chromium),
 * nothing from the system. The pages load with no console error and no request, the charts draw, export strings stay
 * text, and a screenshot of each is taken.
 */
const EVIL = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
let dir: string;
let browser: Browser;

async function writeFolder(root: string, files: Record<string, string | Uint8Array>) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esep-browser-'));
  // The bundled sample, and a small export whose ids, titles and file names are HTML.
  await plan({
    exportDir: join(ROOT, 'samples', 'export'),
    out: join(dir, 'sample'),
    stderr: { write: () => true },
  });
  const { ref, blobs } = blob('old slides', `${EVIL}.pdf`);
  const files = buildExport({
    exportId: 'evil',
    kinds: {
      accounts: [
        {
          id: 'a1',
          platform: 'etwinning',
          email: 't@example.eu',
          firstName: 'T',
          lastName: 'T',
          country: 'BE',
          registeredAt: '2015-01-01T00:00:00Z',
          organisations: [],
        },
      ],
      projects: [
        {
          id: 'p1',
          title: EVIL,
          registeredAt: '2017-01-01T00:00:00Z',
          members: [{ accountId: 'a1', role: 'founder' }],
        },
      ],
      'twinspace-items': [
        {
          id: 'i1',
          projectId: 'p1',
          kind: 'material',
          title: EVIL,
          authorId: 'a1',
          createdAt: '2017-03-01T00:00:00Z',
          file: ref,
        },
        {
          id: EVIL,
          projectId: 'nowhere',
          kind: 'page',
          title: 'x',
          authorId: 'a1',
          createdAt: '2019-03-01T00:00:00Z',
        },
        `{"id": "${'x'.repeat(10)}", "title": ${JSON.stringify(EVIL)}`,
      ],
    },
    blobs,
  });
  await writeFolder(join(dir, 'evil-export', 'evil'), files);
  await plan({
    exportDir: join(dir, 'evil-export', 'evil'),
    out: join(dir, 'evil'),
    stderr: { write: () => true },
  });
  // A plan keeps its receipts in partitions; the support desk's page is what `esep-migrate receipt --as
  // html` renders from them, written where the browser opens it.
  for (const [folder, account] of [
    ['sample', 'acc-000000'],
    ['evil', 'a1'],
  ] as const)
    await writeFile(
      join(dir, `${folder}-${account}.html`),
      await showReceipt({ reportDir: join(dir, folder), account, as: 'html' }),
    );
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Opens a page and records every console error, page error, dialog and request it makes. */
async function open(file: string): Promise<{ page: Page; problems: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems, requests };
}

test('report.html of the sample: no console error, no request, three charts drawn, a screenshot', async () => {
  const file = join(dir, 'sample', 'report.html');
  const { page, problems, requests } = await open(file);
  expect(problems).toEqual([]);
  expect(requests).toEqual([pathToFileURL(file).href]);
  const charts = await page.$$eval('svg.chart', (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      const bars = [...svg.querySelectorAll('rect')].filter((r) => r.getBoundingClientRect().width > 0);
      return { id: svg.id, width: box.width, height: box.height, bars: bars.length };
    }),
  );
  expect(charts.map((c) => c.id)).toEqual(['by-kind', 'by-reason', 'by-wave']);
  for (const c of charts) {
    expect(c.width).toBeGreaterThan(300);
    expect(c.height).toBeGreaterThan(20);
    expect(c.bars).toBeGreaterThan(0);
  }
  expect(charts[0]?.bars).toBeGreaterThanOrEqual(14); // every kind has a bar
  expect(await page.textContent('#status')).toBe('completed-with-quarantine');
  const shot = join(dir, 'report.png');
  await screenshot(page, shot, true);
  expect(statSync(shot).size).toBeGreaterThan(20_000);
  await page.close();
}, 60_000);

test('export strings that are HTML stay text in report.html and in receipts', async () => {
  for (const file of [join(dir, 'evil', 'report.html'), join(dir, 'evil-a1.html')]) {
    const { page, problems, requests } = await open(file);
    expect(problems).toEqual([]);
    expect(requests).toHaveLength(1);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.$$('body script, body img')).toHaveLength(0);
    expect(await page.textContent('body')).toContain(EVIL);
    await screenshot(page, join(dir, 'evil.png'));
    await page.close();
  }
  // The evil export's quarantine list shows the orphan whose id is HTML.
  const { page } = await open(join(dir, 'evil', 'report.html'));
  expect(await page.textContent('table.quarantine')).toContain(EVIL);
  await page.close();
  // The account is Belgian: its receipt comes in Dutch, French and German beside English, in one page.
  const { page: receipt } = await open(join(dir, 'evil-a1.html'));
  expect(await receipt.$$eval('section', (all) => all.map((s) => s.getAttribute('lang')))).toEqual(
    receiptLanguages('BE'),
  );
  await receipt.close();
}, 60_000);

/** Reason codes and dates on a page that a line break splits (each is one word: it must never break inside). */
const brokenCodes = (page: Page) =>
  page.$$eval('code:not(.id), .dates span', (codes) =>
    codes.filter((c) => c.getClientRects().length > 1).map((c) => c.textContent),
  );

test('a Belgian receipt on a phone: Dutch, French, German and English side by side, each with what to do first, nothing wider than the screen, no code broken', async () => {
  const file = join(dir, 'sample-acc-000000.html');
  const { page, problems, requests } = await open(file);
  await page.setViewportSize({ width: 360, height: 740 });
  expect(problems).toEqual([]);
  expect(requests).toEqual([pathToFileURL(file).href]);
  expect(await page.getAttribute('html', 'lang')).toBe('nl');
  const languages = receiptLanguages('BE');
  expect(await page.$$eval('section', (all) => all.map((s) => s.getAttribute('lang')))).toEqual(languages);
  // The languages are linked at the top, each named in itself.
  expect(await page.$$eval('nav.languages a', (all) => all.map((a) => a.textContent))).toEqual(
    languages.map((l) => sayer(l).languageName(l)),
  );
  for (const language of languages) {
    const section = `section[lang="${language}"]`;
    // Each part leads with what to do, in its language, right under its title.
    expect(await page.$eval(`${section} h1 + *`, (e) => e.className)).toBe('todo');
    expect((await page.textContent(`${section} .todo`))?.startsWith(`${sayer(language)('todoTitle')}:`)).toBe(
      true,
    );
    expect((await page.$$(`${section} h3`)).length).toBeGreaterThan(0); // TwinSpaces and groups, items under them
  }
  // Long words (German compounds) wrap: nothing is wider than the phone.
  const width = () =>
    (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
      .documentElement.scrollWidth;
  expect(await page.evaluate(width)).toBeLessThanOrEqual(360);
  expect(await brokenCodes(page)).toEqual([]);
  for (const language of languages) {
    await page.$eval(`section[lang="${language}"]`, (e) => e.scrollIntoView());
    const shot = join(dir, `receipt-${language}.png`);
    await screenshot(page, shot);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
  }
  await page.close();
}, 60_000);

test('report.html on a phone: no reason code broken inside', async () => {
  const { page, problems } = await open(join(dir, 'sample', 'report.html'));
  await page.setViewportSize({ width: 360, height: 740 });
  expect(problems).toEqual([]);
  expect(await brokenCodes(page)).toEqual([]);
  await screenshot(page, join(dir, 'report-phone.png'), true);
  await page.close();
}, 60_000);
