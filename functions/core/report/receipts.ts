import { BoundedMemo } from '../memo';
import type { Withdrawal } from '../ports';
import type { Kind } from '../rules/kinds';
import type { Decision, ReasonCode } from '../rules/reasons';
import { BASE_STYLE, escapeHtml, htmlPage, htmlTable } from './html';
import { type Language, type MessageId, reasonText, receiptLanguages, type Say, sayer } from './i18n';
import { neutralise } from './neutralise';
import type { Receipt, ReceiptRecord } from './summary';

/**
 * The renderings of a receipt that a support desk can send to a teacher, plain text and HTML, in the
 * official languages of the account's country and English, side by side in one file each (i18n
 * receiptLanguages): first what to do and until when, then the TwinSpaces and groups with their items
 * under them, the other items by decision, the spaces the teacher takes part in, the files to download and
 * why. Every text comes from the message catalogues (i18n); every export string is escaped. A record's
 * `detail` (a technical note in English) is shown in the English part only.
 */
const ORDER: readonly Decision[] = ['migrated', 'dropped', 'quarantined'];
const CONTAINERS: ReadonlySet<Kind> = new Set(['projects', 'groups']);

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

const kindName = (say: Say, kind: Kind) => say(`kind.${kind}` as MessageId);
const decisionName = (say: Say, decision: Decision) => say(`decision.${decision}` as MessageId);
/** Why a record was withdrawn: a withdrawal's own text, or its decision's (a later export took it). */
const withdrawnWhy = (say: Say, reason: Withdrawal['reason']) =>
  say(
    (reason === 'IN_LATER_EXPORT' || reason === 'PARENT_NOT_MIGRATED'
      ? `reason.${reason}`
      : `withdrawnReason.${reason}`) as MessageId,
  );
/** A record's technical note: English, so only in the English part. */
const detailIn = (say: Say, detail: string | undefined) => (say.language === 'en' ? detail : undefined);

type Dated = { date?: string; cutoff?: string; wave: string; photo?: ReceiptRecord['photo'] };

/** Each language's dates lines already made: records share a few dates, cut-offs and waves. */
const datesMade = new Map<Language, BoundedMemo<string>>();

/** The dates that decided a record: its own, the rule's cut-off or window, its wave. */
function datesOf(r: Dated, say: Say): string {
  let made = datesMade.get(say.language);
  if (!made) {
    made = new BoundedMemo<string>(20_000);
    datesMade.set(say.language, made);
  }
  return made.get(`${r.photo ?? ''}\u0000${r.date ?? ''}\u0000${r.cutoff ?? ''}\u0000${r.wave}`, () => {
    const parts: string[] = [];
    if (r.photo) parts.push(say(`photo.${r.photo}` as MessageId));
    if (r.date) parts.push(say('dates.date', { date: say.day(r.date) }));
    if (r.cutoff?.includes('/')) {
      // The window is [from, to): the receipt names the last day that counts, as the FAQ does (21.2.2022).
      const [from, to] = r.cutoff.split('/') as [string, string];
      parts.push(say('dates.window', { from: say.day(from), last: say.day(dayBefore(to)) }));
    } else if (r.cutoff) parts.push(say('dates.cutoff', { cutoff: say.day(r.cutoff) }));
    parts.push(say('dates.wave', { wave: r.wave }));
    return parts.join(' · ');
  });
}

/** Whether the receipt names a TwinSpace (the teacher's, one they take part in, or an item's). */
const namesTwinSpace = (receipt: Receipt) =>
  [...receipt.records, ...receipt.spaces].some((r) => r.kind === 'projects') ||
  receipt.records.some((r) => r.parent?.kind === 'projects');

/** What the teacher has to do, and until when. */
function todo(receipt: Receipt, say: Say): string {
  const count = receipt.downloads.length;
  if (count === 0) return say('todoNothing');
  const linked = receipt.downloads.every((d) => d.url);
  // Links expire first; after them, the export (and its files) is kept until the deadline.
  const deadline = linked
    ? receipt.downloads.map((d) => d.urlExpiresAt ?? '').sort()[0]
    : receipt.downloadDeadline && day(receipt.downloadDeadline);
  const support = supportOf(receipt, say);
  if (!deadline) return say('todoDownloadAskAny', { count, support });
  return say(linked ? 'todoDownload' : 'todoDownloadAsk', {
    count,
    deadline: linked ? say.instant(deadline) : say.day(deadline),
    support,
  });
}

/** Why a file of a deleted item is not offered, and whom to ask (FAQ eTwinning 11, 21). */
const unavailableWhy = (receipt: Receipt, say: Say, why: 'missing' | 'damaged') =>
  `${say(why === 'missing' ? 'fileMissing' : 'fileDamaged')}; ${say('unavailableAsk', { support: supportOf(receipt, say) })}`;

/** Who a teacher asks for a copy: eTwinners their national support service, SEG users the helpdesk. */
const supportOf = (receipt: Receipt, say: Say) =>
  say(`support.${receipt.platform ?? 'unknown'}` as MessageId);

const accountOf = (receipt: Receipt, say: Say, accountId: string) =>
  say(`account.${receipt.platform ?? 'unknown'}` as MessageId, { accountId });

const countsLine = (receipt: Receipt, say: Say) =>
  receipt.records.length === 0
    ? say('receiptNothing')
    : say('receiptCounts', { total: receipt.records.length, ...receipt.counts });

/** The languages a receipt is written in, unless told: its country's, then English. */
const languagesOf = (receipt: Receipt, languages?: readonly Language[]) =>
  languages ?? receiptLanguages(receipt.country);

/** The plain-text receipt: each language's part after the other, English last. */
export function receiptText(receipt: Receipt, languages?: readonly Language[]): string {
  return `${languagesOf(receipt, languages)
    .map((language) => receiptTextIn(receipt, sayer(language)))
    .join(`\n${'='.repeat(72)}\n\n`)}`;
}

function receiptTextIn(receipt: Receipt, say: Say): string {
  // Every export string on its own line, its control characters escaped (nothing can start a line).
  const n = neutralise;
  const { spaces, byDecision, reasons } = layout(receipt);
  const name = (r: { title?: string; id: string }) => (r.title ? `"${n(r.title)}"` : n(r.id));
  const line = (r: ReceiptRecord, indent: string) => {
    const detail = detailIn(say, r.detail);
    return [
      `${indent}- ${kindName(say, r.kind)} ${name(r)}: ${decisionName(say, r.decision)} [${r.reason}]${detail ? ` (${n(detail)})` : ''}`,
      `${indent}  ${datesOf(r, say)}`,
    ];
  };
  const out = [
    say('receiptTitle'),
    '',
    `${say('todoTitle')}: ${todo(receipt, say)}`,
    '',
    say('receiptIntro', {
      account: accountOf(receipt, say, n(receipt.accountId)),
      exportId: receipt.exportId,
    }),
    '',
    countsLine(receipt, say),
  ];
  if (spaces.length > 0) {
    out.push('', say('spacesTitle'));
    for (const s of spaces) {
      out.push(
        s.own
          ? `  ${kindName(say, s.kind)} ${name(s.own)}: ${decisionName(say, s.own.decision)} [${s.own.reason}]`
          : `  ${kindName(say, s.kind)} ${n(s.id)} ${say('notYours')}`,
      );
      if (s.own) out.push(`    ${datesOf(s.own, say)}`);
      for (const item of s.items) out.push(...line(item, '    '));
    }
  }
  for (const { decision, records } of byDecision) {
    out.push('', `${decisionName(say, decision)} (${records.length})`);
    for (const r of records) out.push(...line(r, '  '));
  }
  if (receipt.spaces.length > 0) {
    out.push('', say('partOfTitle'), `  ${say('partOfIntro')}`);
    for (const s of receipt.spaces)
      out.push(
        `  - ${kindName(say, s.kind)} ${name(s)}: ${decisionName(say, s.decision)} [${s.reason}]`,
        `    ${datesOf(s, say)}`,
      );
  }
  if (receipt.withdrawn?.length) {
    out.push('', say('withdrawnTitle'));
    for (const w of receipt.withdrawn)
      out.push(
        `  - ${kindName(say, w.kind)} ${n(w.id)}: ${withdrawnWhy(say, w.reason)} (${say.instant(w.at)})`,
      );
  }
  out.push('', say('downloadsTitle'));
  if (receipt.downloads.length === 0) out.push(`  ${say('downloadsNone')}`);
  for (const d of receipt.downloads) {
    const where = d.url
      ? `${d.url} (${say('downloadUntil', { until: say.instant(d.urlExpiresAt ?? '') })})`
      : say('downloadAsk', { support: supportOf(receipt, say) });
    out.push(`  - ${n(d.fileName)} (${say.bytes(d.size)}): ${where}`);
  }
  if (receipt.unavailable?.length) {
    out.push('', say('unavailableTitle'));
    for (const u of receipt.unavailable)
      out.push(`  - ${n(u.fileName)} (${say.bytes(u.size)}): ${unavailableWhy(receipt, say, u.why)}`);
  }
  if (namesTwinSpace(receipt)) out.push(`  ${say('twinspaceReadable')}`);
  out.push('', say('reasonsTitle'));
  for (const code of reasons) out.push(`  ${code}: ${reasonText(code, say.language)}`);
  out.push('', say('linkNote'), '');
  return out.join('\n');
}

/**
 * Receipts' own style: codes never break inside (reason codes are one word); ids and long words may wrap
 * (German and Finnish compounds on a phone), hyphenated where the browser knows the language. On a narrow
 * screen each table row stacks its cells (item, decision, why), so that nothing is wider than the phone.
 */
const RECEIPT_STYLE = `${BASE_STYLE}
@media (max-width:40rem){table,tbody,tr,td{display:block}thead{display:none}tr{border-bottom:1px solid #ddd;padding:.35rem 0}td{border:0;padding:.1rem 0}}
.todo{border-left:4px solid #1a5fb4;background:#eef4fc;padding:.6rem .9rem;margin:1rem 0}
section{overflow-wrap:break-word;hyphens:auto}section+section{border-top:3px double #ccc;margin-top:2.5rem}
nav.languages{font-size:.95em}nav.languages a{margin-right:.8rem}
.dates{color:#5c6470;font-size:.9em}.dates span{white-space:nowrap}h3{font-size:1rem;margin:1.2rem 0 .3rem}`;

/** The HTML receipt: one page, each language's part in its own section (English last), linked at the top. */
export function receiptHtml(receipt: Receipt, languages?: readonly Language[]): string {
  const all = languagesOf(receipt, languages);
  const first = sayer(all[0] ?? 'en');
  const e = escapeHtml;
  const nav =
    all.length > 1
      ? `<nav class="languages">${all
          .map((l) => `<a href="#${l}" hreflang="${l}" lang="${l}">${e(sayer(l).languageName(l))}</a>`)
          .join('')}</nav>`
      : '';
  return htmlPage(
    first('receiptTitle'),
    RECEIPT_STYLE,
    [
      nav,
      ...all.map((l) => `<section id="${l}" lang="${l}">\n${receiptHtmlIn(receipt, sayer(l))}\n</section>`),
    ].join('\n'),
    first.language,
  );
}

function receiptHtmlIn(receipt: Receipt, say: Say): string {
  const e = escapeHtml;
  const { spaces, byDecision, reasons } = layout(receipt);
  const name = (r: { title?: string; id: string }) =>
    r.title ? `“${e(r.title)}”` : `<code class="id">${e(r.id)}</code>`;
  const reason = (r: { reason: ReasonCode; detail?: string }) => {
    const detail = detailIn(say, r.detail);
    return `${e(reasonText(r.reason, say.language))} <code class="muted">${e(r.reason)}</code>${
      detail ? `<br><span class="muted">${e(detail)}</span>` : ''
    }`;
  };
  // Each date whole on its line: a date never breaks inside either.
  const dates = (r: Parameters<typeof datesOf>[0]) =>
    `<span class="dates">${datesOf(r, say)
      .split(' · ')
      .map((part) => `<span>${e(part)}</span>`)
      .join(' · ')}</span>`;
  const row = (r: ReceiptRecord) => [
    `${e(kindName(say, r.kind))} ${name(r)}<br>${dates(r)}`,
    `<span class="${r.decision}">${e(decisionName(say, r.decision))}</span>`,
    reason(r),
  ];
  const heads = [e(say('item')), '', e(say('reasonsTitle'))];
  const spaceSections = spaces.map(
    (s) =>
      `<h3>${e(kindName(say, s.kind))} ${s.own ? name(s.own) : `<code class="id">${e(s.id)}</code> ${e(say('notYours'))}`}</h3>${htmlTable(
        heads,
        [...(s.own ? [row(s.own)] : []), ...s.items.map(row)],
      )}`,
  );
  const sections = byDecision.map(
    ({ decision, records }) =>
      `<h2 class="${decision}">${e(decisionName(say, decision))} (${records.length})</h2>${htmlTable(heads, records.map(row))}`,
  );
  const partOf = receipt.spaces.length
    ? `<h2>${e(say('partOfTitle'))}</h2><p class="muted">${e(say('partOfIntro'))}</p>${htmlTable(
        heads,
        receipt.spaces.map((s) => [
          `${e(kindName(say, s.kind))} ${name(s)}<br>${dates(s)}`,
          `<span class="${s.decision}">${e(decisionName(say, s.decision))}</span>`,
          reason(s),
        ]),
      )}`
    : '';
  const withdrawn = receipt.withdrawn?.length
    ? `<h2 class="dropped">${e(say('withdrawnTitle'))} (${receipt.withdrawn.length})</h2>${htmlTable(
        [e(say('item')), e(say('reasonsTitle'))],
        receipt.withdrawn.map((w) => [
          `${e(kindName(say, w.kind))} <code class="id">${e(w.id)}</code>`,
          `${e(withdrawnWhy(say, w.reason))} <span class="muted">${e(say.instant(w.at))}</span>`,
        ]),
      )}`
    : '';
  const downloads =
    receipt.downloads.length === 0
      ? `<p>${e(say('downloadsNone'))}</p>`
      : htmlTable(
          [e(say('item')), e(say('size')), ''],
          receipt.downloads.map((d) => [
            d.url ? `<a href="${e(d.url)}">${e(d.fileName)}</a>` : e(d.fileName),
            `<span class="num">${e(say.bytes(d.size))}</span>`,
            e(
              d.url
                ? say('downloadUntil', { until: say.instant(d.urlExpiresAt ?? '') })
                : say('downloadAsk', { support: supportOf(receipt, say) }),
            ),
          ]),
        );
  const unavailable = receipt.unavailable?.length
    ? `<h2>${e(say('unavailableTitle'))}</h2>${htmlTable(
        [e(say('item')), e(say('size')), ''],
        receipt.unavailable.map((u) => [
          e(u.fileName),
          `<span class="num">${e(say.bytes(u.size))}</span>`,
          e(unavailableWhy(receipt, say, u.why)),
        ]),
      )}`
    : '';
  const reasonTable = htmlTable(
    [e(say('code')), e(say('meaning'))],
    reasons.map((code) => [`<code>${e(code)}</code>`, e(reasonText(code, say.language))]),
  );
  return [
    `<h1>${e(say('receiptTitle'))}</h1>`,
    `<div class="todo"><strong>${e(say('todoTitle'))}:</strong> ${e(todo(receipt, say))}</div>`,
    `<p>${e(say('receiptIntro', { account: accountOf(receipt, say, receipt.accountId), exportId: receipt.exportId }))}</p>`,
    `<p><strong>${e(countsLine(receipt, say))}</strong></p>`,
    ...(spaceSections.length ? [`<h2>${e(say('spacesTitle'))}</h2>`, ...spaceSections] : []),
    ...sections,
    partOf,
    withdrawn,
    `<h2>${e(say('downloadsTitle'))}</h2>${downloads}`,
    unavailable,
    ...(namesTwinSpace(receipt) ? [`<p>${e(say('twinspaceReadable'))}</p>`] : []),
    `<h2>${e(say('reasonsTitle'))}</h2>${reasonTable}`,
    `<p class="muted">${e(say('linkNote'))}</p>`,
  ].join('\n');
}

/**
 * Every file of one receipt, by its name after `receipts/<accountId>`: `.json`, `.html` and `.txt`, the two
 * renderings in every language of the account's country and English, side by side (three objects a
 * teacher, whatever the languages).
 */
export function receiptFiles(receipt: Receipt): { suffix: string; body: string; contentType: string }[] {
  const [json, html, txt] = RECEIPT_SUFFIXES;
  return [
    { suffix: json, body: `${JSON.stringify(receipt, null, 2)}\n`, contentType: 'application/json' },
    { suffix: html, body: receiptHtml(receipt), contentType: 'text/html; charset=utf-8' },
    { suffix: txt, body: receiptText(receipt), contentType: 'text/plain; charset=utf-8' },
  ];
}

/** The names of a receipt's files after `receipts/<accountId>` (what an erasure deletes). */
export const RECEIPT_SUFFIXES = ['.json', '.html', '.txt'] as const;
