import type { Estimate } from '../estimate/estimate';
import type { Kind } from '../rules/kinds';
import { type Decision, REASONS, type ReasonCode } from '../rules/reasons';
import { BASE_STYLE, escapeHtml as e, htmlPage, htmlTable } from './html';
import { type MessageId, reasonText, sayer } from './i18n';
import { type DecisionCounts, decisionsOf, decisionTotals, type Summary } from './summary';

/** What report.html shows beyond summary.json; gathered while the decisions stream past. */
export interface ReportView {
  readonly summary: Summary;
  readonly byWave: Readonly<Record<string, DecisionCounts>>;
  /** Accounts by country and decision, for the national support services. */
  readonly byCountry?: Readonly<Record<string, DecisionCounts>>;
  /** The first quarantined records (QUARANTINE_SHOWN), in decision order. */
  readonly quarantine: readonly {
    kind: Kind;
    id: string;
    reason: ReasonCode;
    wave: string;
    detail?: string;
  }[];
  readonly quarantineTotal: number;
  readonly receipts: number;
  /** `plan` only: what the waves would cost and take on AWS. */
  readonly estimate?: Estimate;
}

/** Quarantined records listed in the page; decisions.ndjson holds all of them. */
export const QUARANTINE_SHOWN = 1000;

const DECISIONS: readonly Decision[] = ['migrated', 'dropped', 'quarantined'];
const COLOURS: Record<Decision, string> = { migrated: '#2da44e', dropped: '#d4a72c', quarantined: '#cf222e' };
/** report.html is for the operators: English. */
const say = sayer('en');
const decisionName = (d: Decision) => say(`decision.${d}` as MessageId);
const n = (value: number) => value.toLocaleString('en-GB');

/**
 * A horizontal bar chart in inline SVG (no script): one bar per row, split into its parts' colours,
 * with the row's total at its end and each part's number in a tooltip.
 */
function barChart(
  id: string,
  title: string,
  rows: readonly { label: string; parts: readonly { name: string; value: number; colour: string }[] }[],
): string {
  // Wide enough for the longest label (a reason code such as PARTNER_FORUM_NOT_MIGRATED) at 12 px.
  const labelWidth = Math.max(80, 16 + Math.max(0, ...rows.map((r) => r.label.length)) * 7.4);
  const barWidth = 420;
  const rowHeight = 24;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(1, ...rows.map((r) => r.parts.reduce((s, p) => s + p.value, 0)));
  const bars = rows.map((row, i) => {
    const y = 4 + i * rowHeight;
    let x = labelWidth;
    const rects = row.parts
      .filter((p) => p.value > 0)
      .map((p) => {
        // A part too small to draw is still drawn 4 px wide: a few quarantined records must be seen.
        const w = Math.max(4, (p.value / max) * barWidth);
        const rect = `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${p.colour}"><title>${e(row.label)}: ${e(p.name)} ${n(p.value)}</title></rect>`;
        x += w;
        return rect;
      });
    const sum = row.parts.reduce((s, p) => s + p.value, 0);
    return `<text x="${labelWidth - 8}" y="${y + rowHeight / 2 + 4}" text-anchor="end">${e(row.label)}</text>${rects.join('')}<text x="${(x + 6).toFixed(1)}" y="${y + rowHeight / 2 + 4}">${n(sum)}</text>`;
  });
  return `<figure><figcaption>${e(title)}</figcaption><svg class="chart" id="${id}" role="img" aria-label="${e(title)}" viewBox="0 0 ${labelWidth + barWidth + 90} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg">${bars.join('')}</svg></figure>`;
}

const byDecision = (label: string, c: DecisionCounts) => ({
  label,
  parts: DECISIONS.map((d) => ({ name: decisionName(d), value: c[d], colour: COLOURS[d] })),
});

const legend = `<p class="legend">${DECISIONS.map(
  (d) => `<span><i style="background:${COLOURS[d]}"></i>${e(decisionName(d))}</span>`,
).join(' ')}</p>`;

function timing(summary: Summary, records: number): string {
  const seconds = (Date.parse(summary.finishedAt) - Date.parse(summary.startedAt)) / 1000;
  const rate = seconds > 0 ? Math.round(records / seconds) : records;
  return htmlTable(
    ['Started', 'Finished', 'Took', 'Records per second'],
    [
      [
        e(summary.startedAt),
        e(summary.finishedAt),
        `${seconds.toFixed(1)} s`,
        `<span class="num">${n(rate)}</span>`,
      ],
    ],
  );
}

function estimateSection(estimate: Estimate): string {
  const rows = estimate.lines.map((l) => [
    e(l.service),
    e(l.what),
    `<span class="num">${n(Math.round(l.quantity))}</span>`,
    e(l.unit),
    `<span class="num">$${l.cost.toFixed(2)}</span>`,
  ]);
  return `<h2>On AWS (estimate)</h2><p>About <strong>$${estimate.totalCost.toFixed(2)}</strong> and <strong>${e(
    estimate.duration.text,
  )}</strong> at ${estimate.assumptions.workerConcurrency} concurrent workers per queue; prices of ${e(
    estimate.prices.region,
  )} as of ${e(estimate.prices.asOf)}. The model and its assumptions: docs/aws.md, "AWS estimate".</p>${htmlTable(
    ['Service', 'What', 'Quantity', 'Unit', 'Cost'],
    rows,
  )}${estimate.warnings.map((w) => `<p class="quarantined">Warning: ${e(w)}.</p>`).join('')}`;
}

function verificationSection(summary: Summary): string {
  const v = summary.verification;
  if (!v) return '';
  return `<h2>Verification: ${v.passed ? '<span class="migrated">passed</span>' : '<span class="quarantined">failed</span>'}</h2>${htmlTable(
    ['Check', 'Result', 'Checked', 'Problems'],
    v.checks.map((c) => [
      e(c.name),
      c.passed ? '<span class="migrated">passed</span>' : '<span class="quarantined">failed</span>',
      `<span class="num">${n(c.checked)}</span>`,
      c.problems.map((p) => e(p)).join('<br>'),
    ]),
  )}`;
}

/** Accounts per country, for the national support services (the countries in code order). */
function countrySection(byCountry: ReportView['byCountry']): string {
  const rows = Object.entries(byCountry ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (rows.length === 0) return '';
  return `<h2 id="by-country">Accounts by country</h2>${htmlTable(
    ['Country', ...DECISIONS.map((d) => decisionName(d)), 'Total'],
    rows.map(([country, c]) => [
      e(country),
      ...DECISIONS.map((d) => `<span class="num">${n(c[d])}</span>`),
      `<span class="num">${n(decisionsOf(c))}</span>`,
    ]),
  )}`;
}

/** report.html: one self-contained page with totals, charts, the quarantine list and the run's timing. */
export function reportHtml(view: ReportView): string {
  const { summary } = view;
  const counts = Object.entries(summary.counts) as [Kind, DecisionCounts][];
  const all = decisionTotals(summary.counts);
  const records = decisionsOf(all);
  const title = `Migration report: ${summary.exportId}`;
  const reasons = (Object.entries(summary.reasons) as [ReasonCode, number][]).sort(([, a], [, b]) => b - a);
  const cards = [
    ['Records', n(records)],
    ...DECISIONS.map((d) => [decisionName(d), n(all[d])]),
    ['Receipts', n(view.receipts)],
  ]
    .map(([label, value]) => {
      const card = `<div class="card"><div class="muted">${e(label ?? '')}</div><div class="big">${value}</div></div>`;
      const href =
        label === decisionName('quarantined')
          ? '#quarantine-list'
          : label === 'Receipts'
            ? 'receipts/'
            : undefined;
      return href ? `<a class="card-link" href="${href}">${card}</a>` : card;
    })
    .join('');
  const quarantine =
    view.quarantineTotal === 0
      ? '<p>Nothing was quarantined.</p>'
      : `${htmlTable(
          ['Kind', 'Id', 'Reason', 'Detail', 'Wave'],
          view.quarantine.map((q) => [
            e(q.kind),
            `<code class="id">${e(q.id)}</code>`,
            `<code>${e(q.reason)}</code>`,
            e(q.detail ?? ''),
            e(q.wave),
          ]),
          'quarantine',
        )}${
          view.quarantineTotal > view.quarantine.length
            ? `<p class="muted">The first ${n(view.quarantine.length)} of ${n(view.quarantineTotal)}; decisions.ndjson lists every one.</p>`
            : ''
        }`;
  const style = `${BASE_STYLE}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .9rem;min-width:8rem}
.big{font-size:1.4rem;font-weight:600}figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
svg.chart text{font-size:12px;fill:#1b1b1b}.legend span{margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
.status{display:inline-block;padding:.1rem .5rem;border-radius:4px;background:#f3f5f8}
a.card-link{color:inherit;text-decoration:none}a.card-link .card{border-color:#0969da}
.banner{padding:.5rem .8rem;border-left:4px solid #d4a72c;background:#fff8c5}`;
  const missing = summary.missing?.length
    ? `<p class="quarantined">Chunks that never finished (they are in a dead-letter queue): ${summary.missing
        .map((m) => `${e(m.stage)}: ${m.chunks.map(e).join(', ')}`)
        .join('; ')}</p>`
    : '';
  const body = [
    `<h1>${e(title)}</h1>`,
    view.estimate
      ? '<p class="banner" id="dry-run">Dry run (<code>plan</code>): these are the decisions a run would make; nothing was written to any target.</p>'
      : '',
    `<p>Waves ${summary.waves.map((w) => `<strong>${e(w)}</strong>`).join(', ')} · status <span class="status" id="status">${e(summary.status)}</span></p>`,
    missing,
    `<div class="cards" id="totals">${cards}</div>`,
    '<h2>By kind</h2>',
    legend,
    barChart(
      'by-kind',
      'Records by kind and decision',
      counts.map(([kind, c]) => byDecision(kind, c)),
    ),
    '<h2>By reason</h2>',
    barChart(
      'by-reason',
      'Records by reason',
      reasons.map(([code, value]) => ({
        label: code,
        parts: [{ name: reasonText(code), value, colour: COLOURS[REASONS[code].decision as Decision] }],
      })),
    ),
    '<h2>By wave</h2>',
    barChart(
      'by-wave',
      'Records by wave and decision',
      // In the order the waves run (an object would put the integer-like "2023" first).
      summary.waves.flatMap((wave) => (view.byWave[wave] ? [byDecision(wave, view.byWave[wave])] : [])),
    ),
    countrySection(view.byCountry),
    `<h2 id="quarantine-list">Quarantine (${n(view.quarantineTotal)})</h2>`,
    `<p>Every decision: <a href="decisions.ndjson">decisions.ndjson</a>; every teacher's receipt: <a href="receipts/">receipts/</a>${
      // A plan's receipts are lines of partitions (receipt-partitions.ts): say how to read one.
      view.estimate
        ? ' (one line an account in the partition its id hashes to; <code>esep-migrate receipt &lt;this folder&gt; --account &lt;id&gt; --as html</code> shows one)'
        : ''
    }.</p>`,
    quarantine,
    verificationSection(summary),
    view.estimate ? estimateSection(view.estimate) : '',
    '<h2>Timing</h2>',
    timing(summary, records),
    `<h2>Reasons</h2>${htmlTable(
      ['Code', 'Rule', 'Records', 'Meaning'],
      reasons.map(([code, value]) => [
        `<code>${e(code)}</code>`,
        e(REASONS[code].rule),
        `<span class="num">${n(value)}</span>`,
        e(reasonText(code)),
      ]),
    )}`,
  ];
  return htmlPage(title, style, body.filter((b) => b !== '').join('\n'));
}
