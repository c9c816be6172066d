import type { DecidedRecord } from '../rules/decide';
import type { Kind } from '../rules/kinds';
import { QUARANTINE_SHOWN, type ReportView } from './report-html';
import type { Receipt } from './summary';
import { type DecisionCounts, Tally } from './summary';

/**
 * What the report counts of a run's decisions, in a form that parts of the run count apart and merge in
 * order (the report's parts on AWS, one pass in `plan`): counts per kind, decision and reason, per wave,
 * accounts per country, and the first quarantined records.
 */
export interface ReportCounts {
  readonly counts: Tally['counts'];
  readonly reasons: Tally['reasons'];
  readonly byWave: Record<string, DecisionCounts>;
  readonly byCountry: Record<string, DecisionCounts>;
  readonly quarantine: ReportView['quarantine'][number][];
  readonly quarantineTotal: number;
}

const count = (into: Record<string, DecisionCounts>, key: string, decision: keyof DecisionCounts, n = 1) => {
  into[key] ??= { migrated: 0, dropped: 0, quarantined: 0 };
  into[key][decision] += n;
};

export class ReportTally {
  readonly tally: Tally;
  /** Keyed by wave id and by country: maps with no prototype, so no key can reach Object.prototype. */
  private readonly byWave: Record<string, DecisionCounts> = Object.create(null);
  private readonly byCountry: Record<string, DecisionCounts> = Object.create(null);
  private quarantine: ReportCounts['quarantine'] = [];
  private quarantineTotal = 0;

  constructor(kinds: Iterable<Kind> = []) {
    this.tally = new Tally(kinds);
  }

  add(record: DecidedRecord): void {
    this.tally.add(record);
    count(this.byWave, record.wave, record.decision);
    if (record.kind === 'accounts') count(this.byCountry, record.country ?? '(unknown)', record.decision);
    if (record.decision === 'quarantined' && this.quarantineTotal++ < QUARANTINE_SHOWN) {
      const { kind, id, reason, wave, detail } = record;
      this.quarantine.push({ kind, id, reason, wave, ...(detail === undefined ? {} : { detail }) });
    }
  }

  /** Adds what another part counted, after what this one has (parts merged in their order). */
  merge(part: ReportCounts): void {
    for (const [kind, c] of Object.entries(part.counts) as [Kind, DecisionCounts][]) {
      const mine = this.tally.counts[kind] ?? { migrated: 0, dropped: 0, quarantined: 0 };
      this.tally.counts[kind] = mine;
      for (const d of ['migrated', 'dropped', 'quarantined'] as const) mine[d] += c[d];
    }
    for (const [reason, n] of Object.entries(part.reasons) as [keyof Tally['reasons'], number][])
      this.tally.reasons[reason] = (this.tally.reasons[reason] ?? 0) + n;
    for (const [into, from] of [
      [this.byWave, part.byWave],
      [this.byCountry, part.byCountry],
    ] as const)
      for (const [key, c] of Object.entries(from))
        for (const d of ['migrated', 'dropped', 'quarantined'] as const) count(into, key, d, c[d]);
    this.quarantine.push(...part.quarantine.slice(0, QUARANTINE_SHOWN - this.quarantine.length));
    this.quarantineTotal += part.quarantineTotal;
  }

  toJSON(): ReportCounts {
    return {
      counts: this.tally.counts,
      reasons: this.tally.reasons,
      byWave: { ...this.byWave },
      byCountry: { ...this.byCountry },
      quarantine: this.quarantine,
      quarantineTotal: this.quarantineTotal,
    };
  }
}

/** FNV-1a: a cheap, stable string hash to spread accounts over the receipts' partitions. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The receipts partition of an account. */
export const partitionOf = (account: string, partitions: number) => fnv1a(account) % partitions;

/** One entry of the receipts spool: an account, and a record it owns or a space it is a member of. */
export type SpoolEntry = [account: string, record: DecidedRecord, role?: 'member'];

/**
 * The spool entries of one decision: the record for each owner, and for each member or participant a
 * small entry of the space (not the record).
 */
export function spoolEntries(record: DecidedRecord): SpoolEntry[] {
  const entries: SpoolEntry[] = [...new Set(record.owners)].map((owner) => [owner, record]);
  if (record.members?.length) {
    const { kind, id, decision, reason, wave, title, date, file } = record;
    const space: DecidedRecord = {
      kind,
      id,
      decision,
      reason,
      wave,
      owners: [],
      ...(title ? { title } : {}),
      ...(date ? { date } : {}),
      // Members of a record with a file download it: a Learning Lab's event's people (AUDIENCE_OF), a
      // deleted TwinSpace's or group's people its items' (the only records with both).
      ...(file ? { file } : {}),
    } as DecidedRecord;
    for (const member of record.members) entries.push([member, space, 'member']);
  }
  return entries;
}

/** The records of each account of a partition's spool, gathered a line at a time. */
export class SpoolGroups {
  readonly byAccount = new Map<string, { owned: DecidedRecord[]; partOf: DecidedRecord[] }>();

  add(line: string): void {
    if (line === '') return;
    const [account, record, role] = JSON.parse(line) as SpoolEntry;
    const entry = this.byAccount.get(account) ?? { owned: [], partOf: [] };
    this.byAccount.set(account, entry);
    (role === 'member' ? entry.partOf : entry.owned).push(record);
  }
}

/** The records of each account of a partition's spool lines: what it owns, and the spaces it is part of. */
export function groupSpool(lines: Iterable<string>) {
  const groups = new SpoolGroups();
  for (const line of lines) groups.add(line);
  return groups.byAccount;
}

/** One line of decisions.ndjson (outputs.md), and nothing else of the record. */
export const decisionLine = (d: DecidedRecord) =>
  JSON.stringify({
    kind: d.kind,
    id: d.id,
    decision: d.decision,
    reason: d.reason,
    wave: d.wave,
    ...(d.detail === undefined ? {} : { detail: d.detail }),
  });

/** A pre-signed download link for a dropped record's file (TS-5, on AWS). */
export type DownloadUrl = (
  download: Receipt['downloads'][number],
) => Promise<{ url: string; expiresAt: string }>;

/** A receipt with a download link on each of its files, when links are made. */
export async function withDownloadLinks(receipt: Receipt, link: DownloadUrl | undefined): Promise<Receipt> {
  if (!link || receipt.downloads.length === 0) return receipt;
  const downloads = [];
  for (const d of receipt.downloads) {
    const { url, expiresAt } = await link(d);
    downloads.push({ ...d, url, urlExpiresAt: expiresAt });
  }
  return { ...receipt, downloads };
}
