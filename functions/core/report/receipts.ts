import type { Decision, ReasonCode } from '../rules/reasons';
import { BASE_STYLE, escapeHtml, htmlPage, htmlTable } from './html';
import { neutralise } from './neutralise';
import type { Receipt } from './summary';
import { fill, humanBytes, type Language, reasonText, TEXTS } from './texts';

/**
 * The short renderings of a receipt that a support desk can send to a teacher: plain text and HTML, in
 * one language (English by default). Every text comes from TEXTS and REASONS; every export string is
 * escaped in HTML.
 */
const ORDER: readonly Decision[] = ['migrated', 'dropped', 'quarantined'];

const groups = (receipt: Receipt) =>
  ORDER.map((decision) => ({
    decision,
    records: receipt.records.filter((r) => r.decision === decision),
  })).filter((g) => g.records.length > 0);

const reasonsUsed = (receipt: Receipt): ReasonCode[] =>
  [...new Set(receipt.records.map((r) => r.reason))].sort();

const countsLine = (receipt: Receipt, t: (typeof TEXTS)[Language]) =>
  receipt.records.length === 0
    ? t.receiptNothing
    : fill(t.receiptCounts, { total: receipt.records.length, ...receipt.counts });

export function receiptText(receipt: Receipt, language: Language = 'en'): string {
  const t = TEXTS[language];
  // Every export string on its own line, its control characters escaped (nothing can start a line).
  const n = neutralise;
  const out = [
    t.receiptTitle,
    '',
    fill(t.receiptIntro, { accountId: n(receipt.accountId), exportId: receipt.exportId }),
    '',
    countsLine(receipt, t),
  ];
  for (const { decision, records } of groups(receipt)) {
    out.push('', `${t.decision[decision]} (${records.length})`);
    for (const r of records) {
      const name = r.title ? `"${n(r.title)}"` : n(r.id);
      out.push(`  - ${t.kind[r.kind]} ${name} [${r.reason}]${r.detail ? ` (${n(r.detail)})` : ''}`);
    }
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
      : t.downloadAsk;
    out.push(`  - ${n(d.fileName)} (${humanBytes(d.size)}): ${where}`);
  }
  out.push('', t.reasonsTitle);
  for (const code of reasonsUsed(receipt)) out.push(`  ${code}: ${reasonText(code, language)}`);
  out.push('', t.linkNote, '');
  return out.join('\n');
}

export function receiptHtml(receipt: Receipt, language: Language = 'en'): string {
  const t = TEXTS[language];
  const e = escapeHtml;
  const sections = groups(receipt).map(
    ({ decision, records }) =>
      `<h2 class="${decision}">${e(t.decision[decision])} (${records.length})</h2>${htmlTable(
        [e(t.item), e(t.reasonsTitle)],
        records.map((r) => [
          `${e(t.kind[r.kind])} ${r.title ? `“${e(r.title)}”` : `<code>${e(r.id)}</code>`}${
            r.detail ? `<br><span class="muted">${e(r.detail)}</span>` : ''
          }`,
          `${e(reasonText(r.reason, language))} <code class="muted">${e(r.reason)}</code>`,
        ]),
      )}`,
  );
  const withdrawn = receipt.withdrawn?.length
    ? `<h2 class="dropped">${e(t.withdrawnTitle)} (${receipt.withdrawn.length})</h2>${htmlTable(
        [e(t.item), e(t.reasonsTitle)],
        receipt.withdrawn.map((w) => [
          `${e(t.kind[w.kind])} <code>${e(w.id)}</code>`,
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
            e(d.url ? fill(t.downloadUntil, { until: d.urlExpiresAt ?? '' }) : t.downloadAsk),
          ]),
        );
  const reasons = htmlTable(
    [e(t.code), e(t.meaning)],
    reasonsUsed(receipt).map((code) => [`<code>${e(code)}</code>`, e(reasonText(code, language))]),
  );
  return htmlPage(
    t.receiptTitle,
    BASE_STYLE,
    [
      `<h1>${e(t.receiptTitle)}</h1>`,
      `<p>${e(fill(t.receiptIntro, { accountId: receipt.accountId, exportId: receipt.exportId }))}</p>`,
      `<p><strong>${e(countsLine(receipt, t))}</strong></p>`,
      ...sections,
      withdrawn,
      `<h2>${e(t.downloadsTitle)}</h2>${downloads}`,
      `<h2>${e(t.reasonsTitle)}</h2>${reasons}`,
      `<p class="muted">${e(t.linkNote)}</p>`,
    ].join('\n'),
  );
}
