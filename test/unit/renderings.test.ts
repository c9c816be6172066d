import { estimate } from '../../functions/core/estimate/estimate';
import { escapeHtml } from '../../functions/core/report/html';
import { receiptHtml, receiptText } from '../../functions/core/report/receipts';
import { QUARANTINE_SHOWN, reportHtml } from '../../functions/core/report/report-html';
import { buildReceipt, type Summary } from '../../functions/core/report/summary';
import { TEXTS } from '../../functions/core/report/texts';
import { REASONS } from '../../functions/core/rules/reasons';
import { workflowDefinition } from '../helpers/workflow-definition';

const EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const file = { fileName: `${EVIL}.pdf`, size: 2_500_000, sha256: 'b'.repeat(64) };
const receipt = buildReceipt('exp-1', 'acc-1', [
  {
    kind: 'projects',
    id: 'p1',
    wave: 'sept-2022',
    decision: 'migrated',
    reason: 'TWINSPACE_ELIGIBLE',
    owners: ['acc-1'],
    title: 'Water around us',
  },
  {
    kind: 'twinspace-items',
    id: EVIL,
    wave: 'sept-2022',
    decision: 'dropped',
    reason: 'CONTENT_BEFORE_CUTOFF',
    owners: ['acc-1'],
    file,
    title: EVIL,
  },
  {
    kind: 'mailbox',
    id: 'm1',
    wave: 'sept-2022',
    decision: 'quarantined',
    reason: 'INVALID_RECORD',
    owners: ['acc-1'],
    detail: `sentAt: ${EVIL}`,
  },
]);

describe('the receipt a support desk sends', () => {
  test('plain text: counts, each record under its decision with its title, downloads, every reason used', () => {
    const text = receiptText(receipt);
    expect(text).toContain('3 items: 1 move to ESEP, 1 are deleted, 1 are held for a person to check.');
    expect(text).toMatch(/Moves to ESEP \(1\)\n {2}- TwinSpace "Water around us" \[TWINSPACE_ELIGIBLE\]/);
    expect(text).toContain(`- ${EVIL}.pdf (2.5 MB): ${TEXTS.en.downloadAsk}`);
    for (const code of ['TWINSPACE_ELIGIBLE', 'CONTENT_BEFORE_CUTOFF', 'INVALID_RECORD'] as const)
      expect(text).toContain(`${code}: ${REASONS[code].en}`);
    expect(text).not.toContain('PARENT_NOT_MIGRATED');
  });

  test('HTML: every export string escaped, no script, nothing fetched; a download link when there is one', () => {
    const linked = {
      ...receipt,
      downloads: receipt.downloads.map((d) => ({
        ...d,
        url: 'https://s3.example/x?a=1&b="2"',
        urlExpiresAt: '2026-12-01T00:00:00.000Z',
      })),
    };
    const html = receiptHtml(linked);
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/<img/);
    expect(html).toContain(escapeHtml(EVIL));
    expect(html).toContain(`<a href="https://s3.example/x?a=1&amp;b=&quot;2&quot;">`);
    expect(html).toContain('link valid until 2026-12-01T00:00:00.000Z');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  test('an account that owns nothing gets a receipt that says so', () => {
    expect(receiptText(buildReceipt('exp-1', 'acc-2', []))).toContain(TEXTS.en.receiptNothing);
  });
});

describe('report.html', () => {
  const summary: Summary = {
    exportId: 'exp-1',
    waves: ['sept-2022', 'nov-2022'],
    status: 'completed-with-quarantine',
    counts: {
      projects: { migrated: 3, dropped: 1, quarantined: 1 },
      mailbox: { migrated: 0, dropped: 7, quarantined: 0 },
    },
    reasons: {
      TWINSPACE_ELIGIBLE: 3,
      TWINSPACE_BEFORE_CUTOFF: 1,
      INVALID_RECORD: 1,
      MAILBOX_NOT_MIGRATED: 7,
    },
    startedAt: '2026-11-28T10:00:00.000Z',
    finishedAt: '2026-11-28T10:00:04.000Z',
  };
  const quarantine = Array.from({ length: QUARANTINE_SHOWN }, (_, i) => ({
    kind: 'projects' as const,
    id: i === 0 ? EVIL : `p${i}`,
    reason: 'INVALID_RECORD' as const,
    wave: 'sept-2022',
    detail: `title: ${EVIL}`,
  }));
  const html = reportHtml({
    summary: {
      ...summary,
      verification: {
        passed: false,
        checks: [
          { name: 'files', description: 'files', passed: false, checked: 2, problems: [`${EVIL}: missing`] },
        ],
      },
    },
    byWave: { 'sept-2022': { migrated: 3, dropped: 8, quarantined: 1 } },
    quarantine,
    quarantineTotal: QUARANTINE_SHOWN + 5,
    receipts: 4,
    estimate: estimate(
      { kinds: {}, receipts: 4, exportBytes: 0 },
      [],
      { workerConcurrency: 10, pollSeconds: 10 },
      workflowDefinition([]),
    ),
  });

  test('three charts, totals, timing, the estimate, the failed verification', () => {
    expect(html.match(/<svg class="chart"/g)).toHaveLength(3);
    expect(html).toMatch(/id="by-kind"[\s\S]*id="by-reason"[\s\S]*id="by-wave"/);
    expect(html).toContain('<div class="big">12</div>'); // 5 + 7 records
    expect(html).toContain('4.0 s');
    expect(html).toContain('On AWS (estimate)');
    expect(html).toMatch(/Verification: <span class="quarantined">failed<\/span>/);
  });

  test('the quarantine list is capped, says so, and every export string is escaped', () => {
    expect(html.match(/<tr><td>projects<\/td>/g)).toHaveLength(QUARANTINE_SHOWN);
    expect(html).toContain(`The first 1,000 of 1,005; decisions.ndjson lists every one.`);
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/<img/);
    expect(html).toContain(escapeHtml(EVIL));
  });

  test('report.html for operators: full labels, waves in run order, quarantine seen, links, a dry-run banner', () => {
    const page = reportHtml({
      summary: {
        ...summary,
        waves: ['sept-2022', 'nov-2022', '2023'],
        reasons: { PARTNER_FORUM_NOT_MIGRATED: 1000, INVALID_RECORD: 1 },
      },
      byWave: Object.assign(Object.create(null), {
        '2023': { migrated: 1, dropped: 0, quarantined: 0 },
        'nov-2022': { migrated: 1, dropped: 0, quarantined: 0 },
        'sept-2022': { migrated: 1000, dropped: 0, quarantined: 1 },
      }),
      byCountry: Object.assign(Object.create(null), {
        NL: { migrated: 2, dropped: 0, quarantined: 0 },
        BE: { migrated: 5, dropped: 1, quarantined: 1 },
      }),
      quarantine: [],
      quarantineTotal: 1,
      receipts: 1,
    });
    // Accounts per country, for the national support services, in code order with their totals.
    expect(page).toMatch(/id="by-country"[\s\S]*<td>BE<\/td>[\s\S]*>7<\/span><\/td><\/tr><tr><td>NL<\/td>/);
    // The reason chart's labels fit: its bars start to the right of the longest label.
    const reasonChart = /id="by-reason"[^>]*>([\s\S]*?)<\/svg>/.exec(page)?.[1] ?? '';
    const labelEnd = Number(
      /<text x="([\d.]+)"[^>]*text-anchor="end">PARTNER_FORUM_NOT_MIGRATED/.exec(reasonChart)?.[1],
    );
    expect(labelEnd).toBeGreaterThanOrEqual('PARTNER_FORUM_NOT_MIGRATED'.length * 7);
    // Waves in the order they run, whatever the object's key order.
    const waveChart = /id="by-wave"[^>]*>([\s\S]*?)<\/svg>/.exec(page)?.[1] ?? '';
    expect([...waveChart.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1])).toEqual([
      'sept-2022',
      'nov-2022',
      '2023',
    ]);
    // One quarantined record among a thousand is still a visible part of its bar.
    const sliver = /<rect [^>]*width="([\d.]+)"[^>]*fill="#cf222e"><title>sept-2022/.exec(waveChart);
    expect(Number(sliver?.[1])).toBeGreaterThanOrEqual(4);
    expect(page).toContain('href="#quarantine-list"');
    expect(page).toContain('id="quarantine-list"');
    expect(page).toContain('href="receipts/"');
    expect(page).toContain('href="decisions.ndjson"');
    expect(page).not.toContain('id="dry-run"');
    expect(html).toContain('id="dry-run"'); // the plan report above has an estimate
  });
});
