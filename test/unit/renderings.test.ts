import { estimate } from '../../functions/core/estimate/estimate';
import { escapeHtml } from '../../functions/core/report/html';
import { sayer } from '../../functions/core/report/i18n';
import { receiptFiles, receiptHtml, receiptText } from '../../functions/core/report/receipts';
import { QUARANTINE_SHOWN, reportHtml } from '../../functions/core/report/report-html';
import { buildReceipt, type Summary } from '../../functions/core/report/summary';
import { compilePolicy } from '../../functions/core/rules/policy';
import { workflowDefinition } from '../helpers/workflow-definition';

/** The English texts. */
const EN = sayer('en');
const EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const file = { fileName: `${EVIL}.pdf`, size: 2_500_000, sha256: 'b'.repeat(64) };
const policy = compilePolicy();
/** The teacher's own profile, migrated. */
const PROFILE = {
  kind: 'accounts',
  id: 'acc-1',
  wave: '2023',
  decision: 'migrated',
  reason: 'PROFILE_MIGRATED',
  owners: ['acc-1'],
  platform: 'etwinning',
  country: 'NL',
  date: '2012-01-01T00:00:00Z',
} as const;
const receipt = buildReceipt(
  'exp-1',
  'acc-1',
  [
    PROFILE,
    {
      kind: 'projects',
      id: 'p1',
      wave: 'sept-2022',
      decision: 'migrated',
      reason: 'TWINSPACE_ELIGIBLE',
      owners: ['acc-1'],
      title: 'Water around us',
      date: '2019-09-15T09:00:00+02:00',
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
      date: '2017-05-05T12:00:00+02:00',
      parent: { kind: 'projects', id: 'p1' },
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
  ],
  { policy, downloadDeadline: '2023-03-30T10:00:00.000Z' },
  [
    {
      kind: 'groups',
      id: 'g1',
      wave: 'nov-2022',
      decision: 'dropped',
      reason: 'GROUP_INACTIVE',
      owners: [],
      title: 'Science club',
      date: '2015-01-01T00:00:00Z',
    },
  ],
);

describe('the receipt a support desk sends', () => {
  test('plain text leads with what to do and until when, and names the platform and account', () => {
    const text = receiptText(receipt, ['en']);
    const lines = text.split('\n');
    expect(lines[2]).toBe(
      'What to do: Ask your national support service for a copy of the file listed under “Files you can still download” before March 30, 2023: after that date it is deleted.',
    );
    expect(text).toContain('each item of your eTwinning account acc-1 (export exp-1)');
    expect(text).toContain('4 items: 2 move to ESEP, 1 are deleted, 1 are held for a person to check.');
    expect(text).toContain(`- ${EVIL}.pdf (2.5 MB): ask your national support service for a copy`);
    for (const code of [
      'TWINSPACE_ELIGIBLE',
      'CONTENT_BEFORE_CUTOFF',
      'INVALID_RECORD',
      'GROUP_INACTIVE',
    ] as const)
      expect(text).toContain(`${code}: ${EN(`reason.${code}`)}`);
    expect(text).not.toContain('PARENT_NOT_MIGRATED');
  });

  test('an SEG user is sent to the SEG helpdesk, an eTwinner to their national support service (FAQ, further questions)', () => {
    const seg = { ...receipt, platform: 'seg' as const };
    for (const text of [receiptText(seg), receiptHtml(seg)]) {
      expect(text).toContain('Ask the School Education Gateway helpdesk for a copy of the file listed under');
      expect(text).toContain('ask the School Education Gateway helpdesk for a copy');
      expect(text).not.toContain('national support service');
    }
    expect(receiptText(seg, ['nl'])).toContain('vraag de helpdesk van School Education Gateway om een kopie');
    expect(receiptText(seg, ['nl'])).not.toContain('nationale ondersteuningsdienst');
    expect(receiptText(receipt)).not.toContain('helpdesk');
  });

  test('a receipt that names a TwinSpace says where it stays readable until it is migrated (FAQ eTwinning 11, 21)', () => {
    expect(receiptText(receipt)).toContain(EN('twinspaceReadable'));
    expect(receiptHtml(receipt)).toContain(escapeHtml(EN('twinspaceReadable')));
    expect(receiptText(receipt, ['nl'])).toContain(
      'blijft hij leesbaar (alleen-lezen) op twinspace.etwinning.net',
    );
    // Only a profile: no TwinSpace to read.
    expect(receiptText(buildReceipt('exp-1', 'acc-1', [PROFILE]))).not.toContain('twinspace.etwinning.net');
  });

  test('a migrated profile says whether its photo moves (FAQ eTwinning 13), in each language', () => {
    const profile = (over: object) => buildReceipt('exp-1', 'acc-1', [{ ...PROFILE, ...over }]);
    const photo = { fileName: 'me.jpg', size: 1000, sha256: 'c'.repeat(64) };
    const moves = profile({ file: photo });
    expect(moves.records[0]?.photo).toBe('moves');
    expect(receiptText(moves)).toContain('your profile photo moves too');
    expect(receiptHtml(moves)).toContain('your profile photo moves too');
    expect(receiptText(moves, ['nl'])).toContain('uw profielfoto gaat mee');
    const left = profile({
      file: photo,
      fileLeftOut: true,
      detail: 'profilePhoto left out: the file is missing',
    });
    expect(receiptText(left)).toContain('your profile photo stays behind (see why)');
    expect(receiptText(profile({}))).not.toContain('profile photo');
  });

  test('items stand under their TwinSpace, each with the dates that decided it', () => {
    const text = receiptText(receipt);
    expect(text).toContain(
      [
        'TwinSpaces and groups',
        '  TwinSpace "Water around us": Moves to ESEP [TWINSPACE_ELIGIBLE]',
        '    dated September 15, 2019 · cut-off July 1, 2018 · wave sept-2022',
        `    - TwinSpace content "${EVIL}": Deleted [CONTENT_BEFORE_CUTOFF]`,
        '      dated May 5, 2017 · cut-off July 1, 2018 · wave sept-2022',
      ].join('\n'),
    );
    // A member's space: the group, with its decision, its window and wave.
    expect(text).toContain(
      '  - Group "Science club": Deleted [GROUP_INACTIVE]\n    dated January 1, 2015 · activity window January 1, 2021 through February 21, 2022 · wave nov-2022',
    );
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
    expect(html).toContain('link valid until December 1, 2026 at 12:00:00 AM UTC');
    expect(html).toContain('Download the file listed under');
    expect(html).toContain(
      'with its link before December 1, 2026 at 12:00:00 AM UTC, when the links stop working',
    );
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    // Reason codes never break inside; ids may wrap anywhere.
    expect(html).toMatch(/code\{[^}]*white-space:nowrap/);
  });

  test('Dutch, from the same tables: every text translated, the codes as they are', () => {
    const NL = sayer('nl');
    const nl = receiptText(receipt, ['nl']);
    expect(nl.split('\n')[0]).toBe(NL('receiptTitle'));
    expect(nl).toContain('uw eTwinning-account acc-1');
    expect(nl).toContain(`CONTENT_BEFORE_CUTOFF: ${NL('reason.CONTENT_BEFORE_CUTOFF')}`);
    expect(nl).toContain('peildatum 1 juli 2018 · fase sept-2022');
    // The window's last day that counts ([from, to): 22.2.2022 does not).
    expect(nl).toContain('activiteitsperiode 1 januari 2021 tot en met 21 februari 2022');
    expect(receiptHtml(receipt, ['nl'])).toContain('<html lang="nl">');
    // No English sentence is left in the Dutch receipt.
    for (const text of [EN('reasonsTitle'), EN('downloadsTitle'), EN('reason.CONTENT_BEFORE_CUTOFF')])
      expect(nl).not.toContain(text);
    // The account's country brings its language beside English, in the same three files.
    expect(receiptFiles(receipt).map((f) => f.suffix)).toEqual(['.json', '.html', '.txt']);
    const [, html, text] = receiptFiles(receipt).map((f) => f.body);
    expect(html).toContain('<section id="nl" lang="nl">');
    expect(html).toContain('<section id="en" lang="en">');
    expect(text?.startsWith(NL('receiptTitle'))).toBe(true);
    expect(text).toContain(EN('receiptTitle'));
    expect(receiptFiles({ ...receipt, country: 'PT' }).map((f) => f.suffix)).toEqual([
      '.json',
      '.html',
      '.txt',
    ]);
  });

  test('an account that owns nothing gets a receipt that says so, and nothing to do', () => {
    const empty = receiptText(buildReceipt('exp-1', 'acc-2', []));
    expect(empty).toContain(EN('receiptNothing'));
    expect(empty).toContain(`What to do: ${EN('todoNothing')}`);
    expect(empty).toContain('your legacy account acc-2');
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
