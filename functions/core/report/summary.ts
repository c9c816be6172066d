import { ConservationError } from '../errors';
import type { Withdrawal } from '../ports';
import type { DecidedRecord } from '../rules/decide';
import type { Kind } from '../rules/kinds';
import type { CompiledPolicy } from '../rules/policy';
import type { Decision, ReasonCode } from '../rules/reasons';
import { calendarDay } from '../rules/time';
import { reasonText } from './i18n';

/** Report maths (outputs.md): counts per kind, decision and reason; conservation; receipts. */

export type DecisionCounts = Record<Decision, number>;
const zero = (): DecisionCounts => ({ migrated: 0, dropped: 0, quarantined: 0 });

/** How many records these counts decided: migrated + dropped + quarantined. */
export const decisionsOf = (c: DecisionCounts): number => c.migrated + c.dropped + c.quarantined;

/** Counts per decision, every kind together. */
export function decisionTotals(counts: Partial<Record<Kind, DecisionCounts>>): DecisionCounts {
  const totals = zero();
  for (const c of Object.values(counts)) for (const d of DECISIONS) totals[d] += c[d];
  return totals;
}

const DECISIONS = ['migrated', 'dropped', 'quarantined'] as const;

/** How many records counts per kind decided, every kind together. */
export const decisionsIn = (counts: Partial<Record<Kind, DecisionCounts>>): number =>
  Object.values(counts).reduce((n, c) => n + decisionsOf(c), 0);

/** One check of a run's verification (verify/verify.ts names and runs them). */
export interface VerifyCheck {
  readonly name: string;
  readonly description: string;
  readonly passed: boolean;
  readonly checked: number;
  /** The first problems found, with ids and keys only. */
  readonly problems: readonly string[];
}

/** A run's verification of its target, as the summary and the report show it. */
export interface Verification {
  readonly passed: boolean;
  readonly checks: readonly VerifyCheck[];
}

/** What the run's indexing of the export's accounts did (ID-3, ID-4, ID-9), for support. */
export interface IdentityCounts {
  readonly indexed: number;
  /** Accounts of this export whose e-mail differs from the one an earlier export gave (ID-9). */
  readonly LEGACY_EMAIL_CHANGED: number;
  /** Pending registrations linked, and users moved from an SEG to an eTwinning account (RELINKED). */
  readonly linked: number;
  readonly relinked: number;
  /** Users linked automatically whose e-mail a later export made ambiguous (ID-8): pending again. */
  readonly ambiguous: number;
  /** SEG accounts whose staged data was withdrawn because an eTwinning account supersedes them. */
  readonly withdrawn: number;
  /**
   * Exports with records held as ORPHAN_RECORD whose owner this export brings (PR-7 across exports):
   * their chunks are decided again, with the owner, when each of them runs again.
   */
  readonly rerun?: readonly string[];
}

export interface Summary {
  exportId: string;
  waves: string[];
  /**
   * Beyond outputs.md's two: `incomplete` when chunks went to a dead-letter queue (`missing` names them),
   * `verification-failed` when the target did not pass verification (`verification` says why).
   */
  status: 'completed' | 'completed-with-quarantine' | 'incomplete' | 'verification-failed';
  missing?: { stage: string; chunks: string[] }[];
  /** A run's verification of its target (absent for `plan`, which writes no target). */
  verification?: Verification;
  counts: Partial<Record<Kind, DecisionCounts>>;
  reasons: Partial<Record<ReasonCode, number>>;
  /** The run's indexing of the export's accounts (absent for `plan`, which links nothing). */
  identities?: IdentityCounts;
  startedAt: string;
  finishedAt: string;
}

export class Tally {
  readonly counts: Partial<Record<Kind, DecisionCounts>> = {};
  readonly reasons: Partial<Record<ReasonCode, number>> = {};

  /** Every kind of the waves run is reported, with zeros where its file is absent. */
  constructor(kinds: Iterable<Kind> = []) {
    for (const kind of kinds) this.counts[kind] = zero();
  }

  add(record: Pick<DecidedRecord, 'kind' | 'decision' | 'reason'>): void {
    const counts = this.counts[record.kind] ?? zero();
    this.counts[record.kind] = counts;
    counts[record.decision]++;
    this.reasons[record.reason] = (this.reasons[record.reason] ?? 0) + 1;
  }

  get quarantined(): number {
    return Object.values(this.counts).reduce((n, c) => n + c.quarantined, 0);
  }

  get total(): number {
    return decisionsIn(this.counts);
  }

  summary(exportId: string, waves: string[], startedAt: Date, finishedAt: Date): Summary {
    const sortedReasons = Object.fromEntries(
      Object.entries(this.reasons).sort(([a], [b]) => a.localeCompare(b)),
    );
    return {
      exportId,
      waves,
      status: this.quarantined > 0 ? 'completed-with-quarantine' : 'completed',
      counts: this.counts,
      reasons: sortedReasons,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    };
  }
}

/**
 * Conservation: for every kind, migrated + dropped + quarantined equals the non-blank lines of its file
 * (the manifest's `records`, checked at validation). Throws ConservationError naming each kind that breaks.
 */
export function checkConservation(
  counts: Partial<Record<Kind, DecisionCounts>>,
  expected: ReadonlyMap<Kind, number>,
): void {
  const problems: string[] = [];
  for (const [kind, lines] of expected) {
    const c = counts[kind] ?? zero();
    const sum = decisionsOf(c);
    if (sum !== lines) problems.push(`${kind}: ${sum} decisions for ${lines} lines`);
  }
  for (const [kind, c] of Object.entries(counts) as [Kind, DecisionCounts][]) {
    if (!expected.has(kind) && decisionsOf(c) > 0) {
      problems.push(`${kind}: decisions for a kind with no file`);
    }
  }
  if (problems.length > 0) throw new ConservationError(`conservation broken: ${problems.join('; ')}`);
}

/** A record as a receipt shows it: its decision and why, the dates that decided, where it belongs. */
export interface ReceiptRecord {
  kind: Kind;
  id: string;
  decision: Decision;
  reason: ReasonCode;
  explanation: string;
  wave: string;
  title?: string;
  detail?: string;
  /** The record's own date that the rule read (created, registered, ...), as a calendar date in the policy's zone. */
  date?: string;
  /** The cut-off date (or the window) of the rule that decided it. */
  cutoff?: string;
  /** An item's TwinSpace or group. */
  parent?: { kind: Kind; id: string };
  /** A migrated profile's photo (FAQ eTwinning 13): it moves too, or step 7 left it out (detail says why). */
  photo?: 'moves' | 'left-out';
}

/** One account's receipt (receipts/<accountId>.json). */
export interface Receipt {
  accountId: string;
  exportId: string;
  /** The platform of the account, as the teacher knows it (when the export holds the account's line). */
  platform?: 'etwinning' | 'seg';
  /** The account's country (ISO 3166-1 alpha-2): which translations of the receipt are written. */
  country?: string;
  counts: DecisionCounts;
  /** Until when the files of deleted items can be had: the export's retention, from the run's start. */
  downloadDeadline?: string;
  /** Records of this receipt withdrawn from ESEP again after the run (rollback, replaced export, ID-3). */
  withdrawn?: { kind: Kind; id: string; reason: Withdrawal['reason']; at: string }[];
  records: ReceiptRecord[];
  /** TwinSpaces, groups and events the account takes part in without owning them, and their decisions. */
  spaces: Omit<ReceiptRecord, 'explanation' | 'parent' | 'detail'>[];
  /**
   * TS-5: the files of dropped records, which the owner can still download before deletion. On AWS each
   * has a pre-signed `url` that expires at `urlExpiresAt`.
   */
  downloads: {
    kind: Kind;
    id: string;
    fileName: string;
    size: number;
    sha256: string;
    url?: string;
    urlExpiresAt?: string;
  }[];
  /** Files of dropped records that cannot be offered: not in the export, or damaged (step 7). */
  unavailable?: { kind: Kind; id: string; fileName: string; size: number; why: 'missing' | 'damaged' }[];
}

/** The cut-off date, or the window, that a reason's rule reads (for a receipt's dates). */
export function cutoffOf(reason: ReasonCode, policy: CompiledPolicy): string | undefined {
  const p = policy.policy;
  if (reason.startsWith('TWINSPACE_')) return p.twinspaceCutoff;
  if (reason.startsWith('CONTENT_')) return p.contentCutoff;
  if (reason.startsWith('ACTIVITY_')) return p.activityCutoff;
  if (reason === 'GROUP_ACTIVE' || reason === 'GROUP_INACTIVE' || reason === 'GROUP_ACTIVITY_UNKNOWN')
    return `${p.groupActivityWindow.from}/${p.groupActivityWindow.to}`;
  if (reason === 'EVENT_BEFORE_CUTOFF') return p.eventsFrom ?? undefined;
  return undefined;
}

export interface ReceiptContext {
  /** The policy of the run: the cut-off dates a receipt shows. */
  readonly policy?: CompiledPolicy;
  readonly downloadDeadline?: string;
}

/** A record's date as the rules read it: the calendar date in the policy's zone (cut-offs are such dates). */
const dayOf = (date: string | undefined, context: ReceiptContext): { date?: string } => {
  if (date === undefined) return {};
  const day = context.policy ? calendarDay(date, context.policy.policy.timeZone) : undefined;
  return { date: day ?? date.slice(0, 10) };
};

const byKindAndId = (a: { kind: string; id: string }, b: { kind: string; id: string }) =>
  a.kind === b.kind ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.kind < b.kind ? -1 : 1;

/** Builds a receipt from the records an account owns and the spaces it takes part in, in a stable order. */
export function buildReceipt(
  exportId: string,
  accountId: string,
  owned: Iterable<DecidedRecord>,
  context: ReceiptContext = {},
  partOf: Iterable<DecidedRecord> = [],
): Receipt {
  const records: Receipt['records'] = [];
  const downloads: Receipt['downloads'] = [];
  const unavailable: NonNullable<Receipt['unavailable']> = [];
  const counts = zero();
  let platform: Receipt['platform'];
  let country: string | undefined;
  /** TS-5: a dropped record's file, to download before it is deleted, or why it cannot be. */
  const offer = (r: DecidedRecord) => {
    if (r.decision !== 'dropped' || !r.file) return;
    const { fileName, size, sha256, unavailable: why } = r.file;
    if (why) unavailable.push({ kind: r.kind, id: r.id, fileName, size, why });
    else downloads.push({ kind: r.kind, id: r.id, fileName, size, sha256 });
  };
  for (const r of [...owned].sort(byKindAndId)) {
    counts[r.decision]++;
    if (r.kind === 'accounts' && r.id === accountId) {
      platform ??= r.platform;
      country ??= r.country;
    }
    const cutoff = context.policy ? cutoffOf(r.reason, context.policy) : undefined;
    records.push({
      kind: r.kind,
      id: r.id,
      decision: r.decision,
      reason: r.reason,
      explanation: reasonText(r.reason),
      wave: r.wave,
      ...(r.title === undefined ? {} : { title: r.title }),
      ...(r.detail === undefined ? {} : { detail: r.detail }),
      ...dayOf(r.date, context),
      ...(cutoff === undefined ? {} : { cutoff }),
      ...(r.parent === undefined ? {} : { parent: r.parent }),
      ...(r.kind === 'accounts' && r.decision === 'migrated' && r.file
        ? { photo: r.fileLeftOut ? ('left-out' as const) : ('moves' as const) }
        : {}),
    });
    offer(r);
  }
  const spaces = [...new Map([...partOf].map((r) => [`${r.kind}#${r.id}`, r])).values()].sort(byKindAndId);
  // The files of what an account takes part in are its to download too: a Learning Lab's (FAQ eTwinning
  // 17), the items of a deleted TwinSpace or group it was in (FAQ eTwinning 9, 11).
  for (const r of spaces) offer(r);
  const shown = spaces.map((r) => {
    const cutoff = context.policy ? cutoffOf(r.reason, context.policy) : undefined;
    return {
      kind: r.kind,
      id: r.id,
      decision: r.decision,
      reason: r.reason,
      wave: r.wave,
      ...(r.title === undefined ? {} : { title: r.title }),
      ...dayOf(r.date, context),
      ...(cutoff === undefined ? {} : { cutoff }),
    };
  });
  return {
    accountId,
    exportId,
    ...(platform ? { platform } : {}),
    ...(country ? { country } : {}),
    counts,
    ...(context.downloadDeadline && downloads.length > 0
      ? { downloadDeadline: context.downloadDeadline }
      : {}),
    records,
    spaces: shown,
    downloads,
    ...(unavailable.length > 0 ? { unavailable } : {}),
  };
}
