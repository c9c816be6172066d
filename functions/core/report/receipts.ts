import type { Kind } from '../rules/kinds';
import type { Decision, ReasonCode } from '../rules/reasons';
import { BASE_STYLE, escapeHtml, htmlPage, htmlTable } from './html';
import { neutralise } from './neutralise';
import type { Receipt, ReceiptRecord } from './summary';
import { fill, humanBytes, type Language, RECEIPT_TRANSLATIONS, reasonText, TEXTS } from './texts';

/**
 * The renderings of a receipt that a support desk can send to a teacher, plain text and HTML, in one
 * language (English by default): first what to do and until when, then the TwinSpaces and groups with
 * their items under them, the other items by decision, the spaces the teacher takes part in, the files
 * to download and why. Every text comes from TEXTS and REASONS; every export string is escaped.
 */
const ORDER: readonly Decision[] = ['migrated', 'dropped', 'quarantined'];
const CONTAINERS: ReadonlySet<Kind> = new Set(['projects', 'groups']);

type T = (typeof TEXTS)[Language];

/** The receipt's parts, in the order both renderings show them. */
function layout(receipt: Receipt) {
  const key = (kind: Kind, id: string) => `${kind}#${id}`;
  const spaces = new Map<string, { kind: Kind; id: string; own?: ReceiptRecord; items: ReceiptRecord[] }>();
  const space = (kind: Kind, id: string) => {
    const found = spaces.get(key(kind, id));
    if (found) return found;
    const made: { kind: Kind; id: string; own?: ReceiptRecord; items: ReceiptRecord[] } = {
      kind,
      id,
      items: [],
    };
    spaces.set(key(kind, id), made);
    return made;
  };
  const others: ReceiptRecord[] = [];
  for (const r of receipt.records) {
    if (CONTAINERS.has(r.kind)) space(r.kind, r.id).own = r;
    else if (r.parent) space(r.parent.kind, r.parent.id).items.push(r);
    else others.push(r);
  }
  const byDecision = ORDER.map((decision) => ({
    decision,
    records: others.filter((r) => r.decision === decision),
  })).filter((g) => g.records.length > 0);
  const reasons = [
    ...new Set([...receipt.records, ...receipt.spaces].map((r) => r.reason)),
  ].sort() as ReasonCode[];
  return { spaces: [...spaces.values()], byDecision, reasons };
}

const day = (timestamp: string) => timestamp.slice(0, 10);
/** The calendar day before a calendar date (YYYY-MM-DD). */
const dayBefore = (date: string) =>
  new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

/** The dates that decided a record: its own, the rule's cut-off or window, its wave. */
function datesOf(
  r: { date?: string; cutoff?: string; wave: string; photo?: ReceiptRecord['photo'] },
  t: T,
): string {
  const parts: string[] = [];
  if (r.photo) parts.push(t.photo[r.photo]);
  if (r.date) parts.push(fill(t.dates.date, { date: r.date }));
  if (r.cutoff?.includes('/')) {
    // The window is [from, to): the receipt names the last day that counts, as the FAQ does (21.2.2022).
    const [from, to] = r.cutoff.split('/') as [string, string];
    parts.push(fill(t.dates.window, { from, last: dayBefore(to) }));
  } else if (r.cutoff) parts.push(fill(t.dates.cutoff, { cutoff: r.cutoff }));
  parts.push(fill(t.dates.wave, { wave: r.wave }));
  return parts.join(' · ');
}

/** Whether the receipt names a TwinSpace (the teacher's, one they take part in, or an item's). */
const namesTwinSpace = (receipt: Receipt) =>
  [...receipt.records, ...receipt.spaces].some((r) => r.kind === 'projects') ||
  receipt.records.some((r) => r.parent?.kind === 'projects');

/** What the teacher has to do, and until when. */
function todo(receipt: Receipt, t: T): string {
  const count = receipt.downloads.length;
  if (count === 0) return t.todoNothing;
  const linked = receipt.downloads.every((d) => d.url);
  // Links expire first; after them, the export (and its files) is kept until the deadline.
  const deadline = linked
    ? receipt.downloads.map((d) => d.urlExpiresAt ?? '').sort()[0]
    : receipt.downloadDeadline && day(receipt.downloadDeadline);
  const support = supportOf(receipt, t);
  if (!deadline) return fill(t.todoDownloadAskAny, { count, support });
  return fill(linked ? t.todoDownload : t.todoDownloadAsk, { count, deadline, support });
}

/** Who a teacher asks for a copy: eTwinners their national support service, SEG users the helpdesk. */
const supportOf = (receipt: Receipt, t: T) => t.support[receipt.platform ?? 'unknown'];

const accountOf = (receipt: Receipt, t: T, accountId: string) =>
  fill(t.account[receipt.platform ?? 'unknown'], { accountId });

const countsLine = (receipt: Receipt, t: T) =>
  receipt.records.length === 0
    ? t.receiptNothing
    : fill(t.receiptCounts, { total: receipt.records.length, ...receipt.counts });

export function receiptText(receipt: Receipt, language: Language = 'en'): string {
  const t = TEXTS[language];
  // Every export string on its own line, its control characters escaped (nothing can start a line).
  const n = neutralise;
  const { spaces, byDecision, reasons } = layout(receipt);
  const name = (r: { title?: string; id: string }) => (r.title ? `"${n(r.title)}"` : n(r.id));
  const line = (r: ReceiptRecord, indent: string) => [
    `${indent}- ${t.kind[r.kind]} ${name(r)}: ${t.decision[r.decision]} [${r.reason}]${r.detail ? ` (${n(r.detail)})` : ''}`,
    `${indent}  ${datesOf(r, t)}`,
  ];
  const out = [
    t.receiptTitle,
    '',
    `${t.todoTitle}: ${todo(receipt, t)}`,
    '',
    fill(t.receiptIntro, {
      account: accountOf(receipt, t, n(receipt.accountId)),
      exportId: receipt.exportId,
    }),
    '',
    countsLine(receipt, t),
  ];
  if (spaces.length > 0) {
    out.push('', t.spacesTitle);
    for (const s of spaces) {
      out.push(
        s.own
          ? `  ${t.kind[s.kind]} ${name(s.own)}: ${t.decision[s.own.decision]} [${s.own.reason}]`
          : `  ${t.kind[s.kind]} ${n(s.id)} ${t.notYours}`,
      );
      if (s.own) out.push(`    ${datesOf(s.own, t)}`);
      for (const item of s.items) out.push(...line(item, '    '));
    }
  }
  for (const { decision, records } of byDecision) {
    out.push('', `${t.decision[decision]} (${records.length})`);
    for (const r of records) out.push(...line(r, '  '));
  }
  if (receipt.spaces.length > 0) {
    out.push('', t.partOfTitle, `  ${t.partOfIntro}`);
    for (const s of receipt.spaces)
      out.push(
        `  - ${t.kind[s.kind]} ${name(s)}: ${t.decision[s.decision]} [${s.reason}]`,
        `    ${datesOf(s, t)}`,
      );
  }
  if (receipt.withdrawn?.length) {
    out.push('', t.withdrawnTitle);
    for (const w of receipt.withdrawn)
      out.push(`  - ${t.kind[w.kind]} ${n(w.id)}: ${t.withdrawnReason[w.reason]} (${w.at})`);
  }
  out.push('', t.downloadsTitle);
  if (receipt.downloads.length === 0) out.push(`  ${t.downloadsNone}`);
  for (const d of receipt.downloads) {
    const where = d.url
      ? `${d.url} (${fill(t.downloadUntil, { until: d.urlExpiresAt ?? '' })})`
      : fill(t.downloadAsk, { support: supportOf(receipt, t) });
    out.push(`  - ${n(d.fileName)} (${humanBytes(d.size)}): ${where}`);
  }
  if (namesTwinSpace(receipt)) out.push(`  ${t.twinspaceReadable}`);
  out.push('', t.reasonsTitle);
  for (const code of reasons) out.push(`  ${code}: ${reasonText(code, language)}`);
  out.push('', t.linkNote, '');
  return out.join('\n');
}

/** Receipts' own style: codes never break inside (reason codes are one word); ids may wrap anywhere. */
const RECEIPT_STYLE = `${BASE_STYLE}
.todo{border-left:4px solid #1a5fb4;background:#eef4fc;padding:.6rem .9rem;margin:1rem 0}
.dates{color:#5c6470;font-size:.9em}.dates span{white-space:nowrap}h3{font-size:1rem;margin:1.2rem 0 .3rem}`;

export function receiptHtml(receipt: Receipt, language: Language = 'en'): string {
  const t = TEXTS[language];
  const e = escapeHtml;
  const { spaces, byDecision, reasons } = layout(receipt);
  const name = (r: { title?: string; id: string }) =>
    r.title ? `“${e(r.title)}”` : `<code class="id">${e(r.id)}</code>`;
  const reason = (r: { reason: ReasonCode; detail?: string }) =>
    `${e(reasonText(r.reason, language))} <code class="muted">${e(r.reason)}</code>${
      r.detail ? `<br><span class="muted">${e(r.detail)}</span>` : ''
    }`;
  // Each date whole on its line: a date never breaks inside either.
  const dates = (r: Parameters<typeof datesOf>[0]) =>
    `<span class="dates">${datesOf(r, t)
      .split(' · ')
      .map((part) => `<span>${e(part)}</span>`)
      .join(' · ')}</span>`;
  const row = (r: ReceiptRecord) => [
    `${e(t.kind[r.kind])} ${name(r)}<br>${dates(r)}`,
    `<span class="${r.decision}">${e(t.decision[r.decision])}</span>`,
    reason(r),
  ];
  const heads = [e(t.item), '', e(t.reasonsTitle)];
  const spaceSections = spaces.map(
    (s) =>
      `<h3>${e(t.kind[s.kind])} ${s.own ? name(s.own) : `<code class="id">${e(s.id)}</code> ${e(t.notYours)}`}</h3>${htmlTable(
        heads,
        [...(s.own ? [row(s.own)] : []), ...s.items.map(row)],
      )}`,
  );
  const sections = byDecision.map(
    ({ decision, records }) =>
      `<h2 class="${decision}">${e(t.decision[decision])} (${records.length})</h2>${htmlTable(heads, records.map(row))}`,
  );
  const partOf = receipt.spaces.length
    ? `<h2>${e(t.partOfTitle)}</h2><p class="muted">${e(t.partOfIntro)}</p>${htmlTable(
        heads,
        receipt.spaces.map((s) => [
          `${e(t.kind[s.kind])} ${name(s)}<br>${dates(s)}`,
          `<span class="${s.decision}">${e(t.decision[s.decision])}</span>`,
          reason(s),
        ]),
      )}`
    : '';
  const withdrawn = receipt.withdrawn?.length
    ? `<h2 class="dropped">${e(t.withdrawnTitle)} (${receipt.withdrawn.length})</h2>${htmlTable(
        [e(t.item), e(t.reasonsTitle)],
        receipt.withdrawn.map((w) => [
          `${e(t.kind[w.kind])} <code class="id">${e(w.id)}</code>`,
          `${e(t.withdrawnReason[w.reason])} <span class="muted">${e(w.at)}</span>`,
        ]),
      )}`
    : '';
  const downloads =
    receipt.downloads.length === 0
      ? `<p>${e(t.downloadsNone)}</p>`
      : htmlTable(
          [e(t.item), e(t.size), ''],
          receipt.downloads.map((d) => [
            d.url ? `<a href="${e(d.url)}">${e(d.fileName)}</a>` : e(d.fileName),
            `<span class="num">${e(humanBytes(d.size))}</span>`,
            e(
              d.url
                ? fill(t.downloadUntil, { until: d.urlExpiresAt ?? '' })
                : fill(t.downloadAsk, { support: supportOf(receipt, t) }),
            ),
          ]),
        );
  const reasonTable = htmlTable(
    [e(t.code), e(t.meaning)],
    reasons.map((code) => [`<code>${e(code)}</code>`, e(reasonText(code, language))]),
  );
  return htmlPage(
    t.receiptTitle,
    RECEIPT_STYLE,
    [
      `<h1>${e(t.receiptTitle)}</h1>`,
      `<div class="todo"><strong>${e(t.todoTitle)}:</strong> ${e(todo(receipt, t))}</div>`,
      `<p>${e(fill(t.receiptIntro, { account: accountOf(receipt, t, receipt.accountId), exportId: receipt.exportId }))}</p>`,
      `<p><strong>${e(countsLine(receipt, t))}</strong></p>`,
      ...(spaceSections.length ? [`<h2>${e(t.spacesTitle)}</h2>`, ...spaceSections] : []),
      ...sections,
      partOf,
      withdrawn,
      `<h2>${e(t.downloadsTitle)}</h2>${downloads}`,
      ...(namesTwinSpace(receipt) ? [`<p>${e(t.twinspaceReadable)}</p>`] : []),
      `<h2>${e(t.reasonsTitle)}</h2>${reasonTable}`,
      `<p class="muted">${e(t.linkNote)}</p>`,
    ].join('\n'),
    language,
  );
}

/**
 * Every file of one receipt, by its name after `receipts/<accountId>`: `.json`, and `.html` and `.txt` in
 * English and in the translations for the account's country (`.nl.html`, ...).
 */
export function receiptFiles(receipt: Receipt): { suffix: string; body: string; contentType: string }[] {
  const languages: Language[] = ['en', ...(RECEIPT_TRANSLATIONS[receipt.country ?? ''] ?? [])];
  return [
    { suffix: '.json', body: `${JSON.stringify(receipt, null, 2)}\n`, contentType: 'application/json' },
    ...languages.flatMap((language) => {
      const at = language === 'en' ? '' : `.${language}`;
      return [
        {
          suffix: `${at}.html`,
          body: receiptHtml(receipt, language),
          contentType: 'text/html; charset=utf-8',
        },
        {
          suffix: `${at}.txt`,
          body: receiptText(receipt, language),
          contentType: 'text/plain; charset=utf-8',
        },
      ];
    }),
  ];
}
