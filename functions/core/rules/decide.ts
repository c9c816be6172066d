import {
  ERASED_ID,
  type IsErased,
  isErasedRecord,
  NONE_ERASED,
  ownedByErased,
  withoutErased,
} from './erasure';
import {
  AUDIENCE_OF,
  DATE_FIELD,
  type HeldKind,
  type IndexName,
  idValue,
  isHeldKind,
  isSpaceKind,
  type Kind,
  membersOf,
  ownersOf,
  PARENTS,
} from './kinds';
import { idProblem, LIMITS } from './limits';
import type { Line } from './ndjson';
import type { CompiledPolicy } from './policy';
import { type Decision, REASONS, type ReasonCode } from './reasons';
import { safeFileName } from './safe-name';
import { type AnyRecord, describeIssue, type FileRef, KIND_SCHEMAS, type RecordOf } from './schemas';
import { withholdEmails } from './withheld';

/**
 * The decisions of migration-rules.md, as pure functions. For each line of a kind file, in the order
 * of "Which rule decides": unreadable → duplicate → schema → orphan → parent → the kind's rule → file.
 */

export interface Verdict {
  readonly decision: Decision;
  readonly reason: ReasonCode;
  readonly detail?: string;
  /** Step 7 left the record's file out (a profile photo that is missing or damaged): it is not copied. */
  readonly fileLeftOut?: true;
}

export const verdict = (reason: ReasonCode, detail?: string): Verdict =>
  detail === undefined
    ? { decision: REASONS[reason].decision, reason }
    : { decision: REASONS[reason].decision, reason, detail };

/** A decided record: one line of decisions.ndjson, with what receipts need besides. */
export interface DecidedRecord extends Verdict {
  readonly kind: Kind;
  readonly id: string;
  readonly wave: string;
  /** The legacy accounts the record belongs to (legacy-export.md, "Owners"). */
  readonly owners: readonly string[];
  /**
   * The record's file, for the owners' receipts (a dropped file can still be downloaded). Step 7 checks a
   * dropped record's file too: one the export lacks or whose bytes do not match is `unavailable`, and
   * no receipt offers it for download.
   */
  readonly file?: {
    readonly fileName: string;
    readonly size: number;
    readonly sha256: string;
    readonly unavailable?: 'missing' | 'damaged';
  };
  /** The record's title, shortened, so that a teacher recognises it on a receipt (never a name or e-mail). */
  readonly title?: string;
  /** An account's country (ISO 3166-1 alpha-2): report.html counts accounts per country for the NSOs. */
  readonly country?: string;
  /** An account's platform: its receipt names the platform the teacher knows. */
  readonly platform?: 'etwinning' | 'seg';
  /** The date that decided it (DATE_FIELD of its kind), as the export has it. */
  readonly date?: string;
  /** An item's TwinSpace or group: receipts list items under it. */
  readonly parent?: { readonly kind: Kind; readonly id: string };
  /** Accounts that take part without owning it (members, participants): their receipts name the space. */
  readonly members?: readonly string[];
}

/** Longest title a receipt repeats. */
/** What a held record is called in a decision's detail. */
const HELD_NAME: Record<HeldKind, string> = {
  projects: 'TwinSpace',
  groups: 'group',
  accounts: 'account',
  events: 'event',
};

export const TITLE_CHARS = 120;

const titleOf = (record: Record<string, unknown>) =>
  typeof record.title === 'string' && record.title.trim() !== ''
    ? { title: withholdEmails([...record.title.trim()].slice(0, TITLE_CHARS).join('')) }
    : {};

/**
 * What became of a record that others follow (a project, group or account): its decision, `superseded`
 * for an SEG account that an eTwinning account supersedes (ID-3), or `later` for an account, TwinSpace or
 * group that a later export holds (ID-9).
 */
export type ParentDecision = Decision | 'superseded' | 'later';
/** A followed record's decision, or `absent` when no line of its kind (no export, for accounts) has its id. */
export type ParentStatus = ParentDecision | 'absent';

/** How a decided record is remembered by the records that follow it. */
export const parentDecisionOf = (d: Pick<DecidedRecord, 'decision' | 'reason'>): ParentDecision =>
  d.reason === 'SEG_SUPERSEDED' ? 'superseded' : d.reason === 'IN_LATER_EXPORT' ? 'later' : d.decision;

/** GR-1: a group with a standing, valid item in the window; else one named by a quarantined item; else none. */
export type GroupActivity = 'active' | 'unknown' | 'inactive';

/** What the rules need to know beyond the record itself; built by earlier stages. */
export interface DecisionContext {
  readonly policy: CompiledPolicy;
  /** What became of the project, group or account a record follows (DQ-3, TS-3, GR-4, PR-7). */
  parentStatus(kind: Kind, id: string): ParentStatus;
  /** GR-1: whether a group was active in the window, or cannot be told. */
  groupActivity(groupId: string): GroupActivity;
  /** ID-3: whether a standing, schema-valid eTwinning account has this (normalised) e-mail. */
  hasEtwinningAccount(email: string): boolean;
  /**
   * ID-9, extended to TwinSpaces and groups (docs/support-desk.md): the later export (by `exportedAt`)
   * that also holds this account, project or group, if one does; then this export's copy is not migrated.
   */
  laterExportHolding?(kind: HeldKind, id: string): string | undefined;
  /** ER-1: whether an account asked for its data to be erased (none: no erasure is known here). */
  readonly isErased?: IsErased;
}

// ---- step 1: the line -------------------------------------------------------------------------

/**
 * What receipts and the report need of a record besides its decision: its owners and members, title,
 * date, TwinSpace or group, an account's country and platform. Read from raw objects too (best effort),
 * so a quarantined record still reaches its people when its fields are readable.
 */
function about(kind: Kind, record: Record<string, unknown>, quarantined = false) {
  // A line that is no valid record (unreadable, a duplicate, over a cap) reaches its owners only: its
  // members list is what a person must check (one over the cap would otherwise put the record on the
  // receipts of 100,000 ids that may not exist).
  const members = quarantined ? [] : membersOf(kind, record);
  const dateField = DATE_FIELD[kind];
  const date = dateField ? record[dateField] : undefined;
  const parent = PARENTS[kind];
  const parentId = parent && parent.kind !== 'accounts' ? idValue(record[parent.field]) : undefined;
  const text = (v: unknown) => (typeof v === 'string' && v.length <= 64 ? v : undefined);
  return {
    owners: ownersOf(kind, record),
    ...(members.length > 0 ? { members } : {}),
    ...titleOf(record),
    ...(typeof date === 'string' && date.length <= 64 ? { date } : {}),
    ...(parent && parentId !== undefined ? { parent: { kind: parent.kind, id: parentId } } : {}),
    ...(kind === 'accounts' && text(record.country) ? { country: text(record.country) } : {}),
    ...(kind === 'accounts' && (record.platform === 'etwinning' || record.platform === 'seg')
      ? { platform: record.platform as 'etwinning' | 'seg' }
      : {}),
  };
}

export type ParsedLine =
  | { readonly ok: true; readonly id: string; readonly raw: Record<string, unknown> }
  | { readonly ok: false; readonly detail: string; readonly raw?: Record<string, unknown> };

/** Step 1: a line that is not a JSON object with a non-empty string `id` is INVALID_RECORD. */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, detail: '(line): not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, detail: '(line): not a JSON object' };
  }
  const raw = value as Record<string, unknown>;
  if (typeof raw.id !== 'string' || raw.id === '')
    return { ok: false, detail: 'id: expected a non-empty string', raw };
  // An id that cannot be keyed as it is (too long, or not valid Unicode) is no id: the line's place names it.
  const problem = idProblem(raw.id);
  if (problem) return { ok: false, detail: `id: ${problem}`, raw };
  return { ok: true, id: raw.id, raw };
}

// ---- step 3: the schema -----------------------------------------------------------------------

export type Validated =
  | { readonly ok: true; readonly record: AnyRecord }
  | { readonly ok: false; readonly detail: string };

/** Step 3: the export schema; unlisted fields (passwordHash, login: ID-1) are dropped here. */
export function validateRecord(kind: Kind, raw: Record<string, unknown>): Validated {
  const result = KIND_SCHEMAS[kind].safeParse(raw);
  return result.success
    ? { ok: true, record: result.data as AnyRecord }
    : { ok: false, detail: describeIssue(result.error) };
}

// ---- steps 4-6: the rules ---------------------------------------------------------------------

const onOrAfter = (timestamp: string, instant: number) => Date.parse(timestamp) >= instant;

/** GR-1: an item created or updated in the half-open window. */
export function isActiveItem(
  policy: CompiledPolicy,
  item: { createdAt: string; updatedAt?: string },
): boolean {
  const { from, to } = policy.groupWindowMs;
  const inWindow = (ts: string) => {
    const t = Date.parse(ts);
    return t >= from && t < to;
  };
  return inWindow(item.createdAt) || (item.updatedAt !== undefined && inWindow(item.updatedAt));
}

/**
 * What one line of an index pass adds to the indexes that a later stage reads (`standing`: the first line
 * with its id). For groups (GR-1): a standing, valid item in the window makes its group active; an item
 * that is quarantined (unreadable schema, or a duplicate) but names its group makes that group's activity
 * unknown. For accounts (ID-3): the keyed e-mail of a standing, valid eTwinning account.
 */
export function indexEntries(
  index: IndexName,
  kind: Kind,
  parsed: ParsedLine,
  standing: boolean,
  policy: CompiledPolicy,
  keyOfEmail: (email: string) => string,
): [IndexName, string][] {
  const valid = parsed.ok && standing ? validateRecord(kind, parsed.raw) : undefined;
  if (index === 'etwinning-emails') {
    const account = valid?.ok ? (valid.record as { platform: string; email: string }) : undefined;
    return account?.platform === 'etwinning' ? [[index, keyOfEmail(account.email)]] : [];
  }
  if (valid?.ok) {
    const item = valid.record as { groupId: string; createdAt: string; updatedAt?: string };
    return isActiveItem(policy, item) ? [['group-activity', item.groupId]] : [];
  }
  const named = idValue(parsed.raw?.groupId);
  return named === undefined ? [] : [['group-activity-unknown', named]];
}

const cutoff = (ok: boolean, yes: ReasonCode, no: ReasonCode) => verdict(ok ? yes : no);

type Rule<K extends Kind> = (record: RecordOf<K>, ctx: DecisionContext) => Verdict;

/** Step 6: each kind's own rule. */
const RULES: { [K in Kind]: Rule<K> } = {
  projects: (r, { policy }) =>
    cutoff(
      onOrAfter(r.registeredAt, policy.twinspaceCutoffMs),
      'TWINSPACE_ELIGIBLE',
      'TWINSPACE_BEFORE_CUTOFF',
    ),
  'twinspace-items': (r, { policy }) =>
    cutoff(onOrAfter(r.createdAt, policy.contentCutoffMs), 'CONTENT_ELIGIBLE', 'CONTENT_BEFORE_CUTOFF'),
  groups: (r, ctx) => {
    const activity = ctx.groupActivity(r.id);
    // Policy switch: founding the group in the window counts as activity (default: only its items).
    if (activity !== 'active' && ctx.policy.policy.groupFoundingIsActivity && isActiveItem(ctx.policy, r))
      return verdict('GROUP_ACTIVE', 'founded in the activity window (policy groupFoundingIsActivity)');
    return verdict(
      ({ active: 'GROUP_ACTIVE', unknown: 'GROUP_ACTIVITY_UNKNOWN', inactive: 'GROUP_INACTIVE' } as const)[
        activity
      ],
    );
  },
  'group-items': (r, { policy }) =>
    cutoff(onOrAfter(r.createdAt, policy.contentCutoffMs), 'CONTENT_ELIGIBLE', 'CONTENT_BEFORE_CUTOFF'),
  accounts: (r, ctx) =>
    verdict(r.platform === 'seg' && ctx.hasEtwinningAccount(r.email) ? 'SEG_SUPERSEDED' : 'PROFILE_MIGRATED'),
  activities: (r, { policy }) =>
    cutoff(onOrAfter(r.occurredAt, policy.activityCutoffMs), 'ACTIVITY_ELIGIBLE', 'ACTIVITY_BEFORE_CUTOFF'),
  portfolio: () => verdict('PORTFOLIO_MIGRATED'),
  events: (r, { policy }) =>
    policy.eventsFromMs !== undefined && !onOrAfter(r.startsAt, policy.eventsFromMs)
      ? verdict('EVENT_BEFORE_CUTOFF')
      : cutoff(
          policy.eligibleOrganiserRoles.has(r.organiserRole),
          'EVENT_ELIGIBLE',
          'EVENT_ORGANISER_NOT_ELIGIBLE',
        ),
  'learning-lab': () => verdict('LEARNING_LAB_NOT_MIGRATED'),
  photos: () => verdict('PHOTO_NOT_MIGRATED'),
  contacts: (_, { policy }) =>
    verdict(policy.policy.migrateContacts ? 'CONTACTS_MIGRATED' : 'CONTACTS_NOT_MIGRATED'),
  'feed-posts': () => verdict('FEED_NOT_MIGRATED'),
  mailbox: () => verdict('MAILBOX_NOT_MIGRATED'),
  'partner-forum': () => verdict('PARTNER_FORUM_NOT_MIGRATED'),
};

/**
 * Steps 4-6 for a schema-valid, standing record. An account, TwinSpace or group that a later export holds,
 * and the records that follow one, are decided by their own rules first (ID-9): what would migrate is not
 * staged here (`IN_LATER_EXPORT`; a space's items `PARENT_NOT_MIGRATED`, an account's records of the kinds
 * the later export carries `IN_LATER_EXPORT`; marked `wouldMigrate` for step 7), what would not keeps its
 * own reason. So an earlier export's decisions are the same whether the later export ran
 * before it or after (then it withdraws what this one staged, for these same reasons).
 */
export function decideRecord(
  kind: Kind,
  record: AnyRecord,
  ctx: DecisionContext,
): Verdict & { wouldMigrate?: true } {
  const parent = PARENTS[kind];
  const parentId = parent && ((record as Record<string, unknown>)[parent.field] as string);
  const status = parent && ctx.parentStatus(parent.kind, parentId as string);
  const own = ownVerdict(kind, record, ctx, status);
  if (own.decision !== 'migrated') return own;
  const later = isHeldKind(kind) ? ctx.laterExportHolding?.(kind, record.id) : undefined;
  if (later !== undefined)
    return {
      ...verdict(
        'IN_LATER_EXPORT',
        `export "${later}" holds ${HELD_NAME[kind as HeldKind]} "${record.id}" too and is later (by exportedAt): it is migrated from there (ID-9)`,
      ),
      wouldMigrate: true,
    };
  // A later export gives the account's records of this kind (it carries it), or the space's items.
  if (parent && status === 'later')
    return {
      ...(parent.kind === 'accounts'
        ? verdict(
            'IN_LATER_EXPORT',
            `${parent.field} "${parentId}" is migrated from a later export that holds it, with its own ${kind} (ID-9)`,
          )
        : verdict(
            'PARENT_NOT_MIGRATED',
            `${parent.field} "${parentId}" is migrated from a later export that holds it, with its own items (ID-9)`,
          )),
      wouldMigrate: true,
    };
  return own;
}

/** Steps 4-6 by the record's own rules (its parent's status given): a parent held later counts as migrated. */
function ownVerdict(kind: Kind, record: AnyRecord, ctx: DecisionContext, status?: ParentStatus): Verdict {
  const parent = PARENTS[kind];
  if (parent) {
    const parentId = (record as Record<string, unknown>)[parent.field] as string;
    const which = `${parent.field} "${parentId}"`;
    if (status === 'absent')
      return verdict(
        'ORPHAN_RECORD',
        parent.kind === 'accounts'
          ? `${parent.field}: no export holds account "${parentId}" (${parent.rule})`
          : `${parent.field}: no ${parent.kind} line has id "${parentId}"`,
      );
    if (status === 'quarantined')
      return verdict('PARENT_QUARANTINED', `${which} is held for review, and this with it (${parent.rule})`);
    if (status === 'superseded')
      return verdict('SEG_SUPERSEDED', `${which} is superseded by an eTwinning account (${parent.rule})`);
    if (status === 'dropped')
      return verdict('PARENT_NOT_MIGRATED', `${which} is not migrated (${parent.rule})`);
  }
  return (RULES[kind] as Rule<Kind>)(record as never, ctx);
}

// ---- step 7: the file -------------------------------------------------------------------------

/** A blob of another length than its reference declares (`size`) is not the file it names either (DQ-5). */
export type BlobStatus = 'ok' | 'missing' | 'mismatch' | 'size';

/** The file a record carries: an item's or learning-lab's `file`, a photo, an account's profile photo. */
export function fileOf(kind: Kind, record: AnyRecord): FileRef | undefined {
  if (kind === 'accounts') return (record as RecordOf<'accounts'>).profilePhoto;
  return (record as { file?: FileRef }).file;
}

/**
 * Whether step 7 read a decided record's file: every file of a record that stands (migrated or dropped:
 * a dropped file is offered for download only when it is sound), and those it quarantined.
 */
export const checksFile = (d: Pick<DecidedRecord, 'decision' | 'reason' | 'file'>): boolean =>
  d.file !== undefined &&
  (d.decision !== 'quarantined' || d.reason === 'BLOB_MISSING' || d.reason === 'BLOB_CHECKSUM_MISMATCH');

/** Whether a decided record's file goes to the target: migrated, with a file that step 7 found sound. */
export const copiesFile = (d: Pick<DecidedRecord, 'decision' | 'fileLeftOut' | 'file'>): boolean =>
  d.decision === 'migrated' && d.file !== undefined && !d.fileLeftOut;

/**
 * Step 7, for a record that step 6 migrates and that has a file: BLOB_MISSING, then
 * BLOB_CHECKSUM_MISMATCH. A profile photo is the exception: the profile migrates without it.
 * DQ-6: a migrated file with an unsafe name says that its name was made safe.
 */
export function applyBlobCheck(kind: Kind, rule: Verdict, file: FileRef, status: BlobStatus): Verdict {
  if (status !== 'ok') {
    const what =
      status === 'missing'
        ? 'is not in the export'
        : status === 'size'
          ? 'is not of its declared size'
          : 'does not match its sha256';
    if (kind !== 'accounts')
      return verdict(status === 'missing' ? 'BLOB_MISSING' : 'BLOB_CHECKSUM_MISMATCH', `file ${what}`);
    return { ...verdict(rule.reason, `profilePhoto left out: the file ${what}`), fileLeftOut: true };
  }
  return safeFileName(file.fileName) === file.fileName
    ? rule
    : verdict(rule.reason, 'file name made safe (DQ-6)');
}

// ---- a whole line -----------------------------------------------------------------------------

export interface LineResult {
  readonly decided: DecidedRecord;
  /** The schema-valid record, when the line got that far (what a migrated document is made of). */
  readonly record?: AnyRecord;
  /** Set when step 7 applies (a migrated or dropped record's file): check this file, then `settleBlob`. */
  readonly needsBlob?: FileRef;
  /** Dropped only because a later export holds it or its TwinSpace or group: step 7 applies as if migrated. */
  readonly wouldMigrate?: true;
}

/**
 * Decides one line of a kind file. `claim(id)` answers whether this is the first line of the kind
 * with that id (and remembers it): the first stands, every later one is DUPLICATE_ID (DQ-2).
 */
export function decideLine(
  kind: Kind,
  wave: string,
  path: string,
  line: Line,
  ctx: DecisionContext,
  claim: (id: string) => boolean,
): LineResult {
  const quarantine = (
    id: string,
    reason: ReasonCode,
    detail: string,
    raw?: Record<string, unknown>,
  ): LineResult => ({
    decided: {
      kind,
      id,
      wave,
      ...verdict(reason, detail),
      ...(raw ? about(kind, raw, true) : { owners: [] }),
    },
  });
  if ('unreadable' in line)
    return quarantine(`${path}:${line.lineNo}`, 'INVALID_RECORD', `(line): ${line.unreadable}`);
  const parsed = parseLine(line.text);
  // ER-1: a line of an erased account, valid or not, is named by its place only, and reaches no one.
  const isErased = ctx.isErased ?? NONE_ERASED;
  if (parsed.raw && isErasedRecord(kind, parsed.raw, isErased)) return { decided: erasedRecord(kind, wave) };
  if (!parsed.ok) return quarantine(`${path}:${line.lineNo}`, 'INVALID_RECORD', parsed.detail, parsed.raw);
  const { id, raw } = parsed;
  if (!claim(id))
    return quarantine(id, 'DUPLICATE_ID', `an earlier line (before line ${line.lineNo}) has this id`, raw);
  const checked = validateRecord(kind, raw);
  if (!checked.ok) return quarantine(id, 'INVALID_RECORD', checked.detail, raw);
  // An erased account is no member, participant or recipient of anything (ER-1).
  const valid = { ...checked, record: withoutErased(kind, checked.record, isErased) };
  const { wouldMigrate, ...rule } = decideRecord(kind, valid.record, ctx);
  const file = fileOf(kind, valid.record);
  const decided: DecidedRecord = {
    kind,
    id,
    wave,
    ...rule,
    ...about(kind, valid.record as Record<string, unknown>),
    ...(file ? { file: { fileName: file.fileName, size: file.size, sha256: file.sha256 } } : {}),
  };
  const record = valid.record;
  const held = wouldMigrate ? { wouldMigrate } : {};
  return rule.decision !== 'quarantined' && file
    ? { decided, record, needsBlob: file, ...held }
    : { decided, record, ...held };
}

/** ER-1: a record of an erased account, as every output has it: anonymous, dropped, on no one's receipt. */
export const erasedRecord = (kind: Kind, wave: string): DecidedRecord => ({
  kind,
  id: ERASED_ID,
  wave,
  ...verdict('ERASED'),
  owners: [],
});

/**
 * A decided record as it stands now that some accounts are erased (a re-run's or redrive's report reads
 * rows decided before the erasure): an erased account's own record is erased, and an erased account is
 * no member of a space. Without erasures, the record itself.
 */
export function decidedNow<T extends DecidedRecord>(record: T, isErased: IsErased): T | DecidedRecord {
  if (isErased === NONE_ERASED) return record;
  if (ownedByErased(record.kind, record.owners, isErased)) return erasedRecord(record.kind, record.wave);
  const members = record.members?.filter((m) => !isErased(m));
  const owners = record.owners.filter((o) => !isErased(o));
  if (owners.length === record.owners.length && members?.length === record.members?.length) return record;
  return { ...record, owners, ...(members ? { members } : {}) };
}

/**
 * A record whose people are another record's (AUDIENCE_OF: a Learning Lab, its event's organiser and
 * participants): they are its members, its receipts' readers; an erased account is none of them.
 */
export function withAudienceOf(
  result: LineResult,
  peopleById: ReadonlyMap<string, readonly string[]>,
  isErased: IsErased,
): LineResult {
  const from = AUDIENCE_OF[result.decided.kind];
  const of = from && (result.record as Record<string, unknown> | undefined)?.[from.field];
  return withMembers(result, typeof of === 'string' ? peopleById.get(of) : undefined, isErased);
}

/**
 * An item of a deleted TwinSpace or group with a file (FAQ eTwinning 9, 11): the space's people are told
 * of it on their receipts and offered its file, as its author is; an erased account is none of them.
 */
export function withPeopleOfDeletedSpace(
  result: LineResult,
  peopleById: ReadonlyMap<string, readonly string[]>,
  isErased: IsErased,
): LineResult {
  const parent = PARENTS[result.decided.kind];
  if (!parent || !isFileOfDeletedSpace(result.decided) || result.wouldMigrate) return result;
  const of = (result.record as Record<string, unknown> | undefined)?.[parent.field];
  return withMembers(result, typeof of === 'string' ? peopleById.get(of) : undefined, isErased);
}

/**
 * An item with a file whose TwinSpace or group is not migrated: the space's people are offered the file
 * (`withPeopleOfDeletedSpace`), which the AWS model counts as a read of them.
 */
export const isFileOfDeletedSpace = (d: Pick<DecidedRecord, 'kind' | 'reason' | 'file'>): boolean => {
  const parent = PARENTS[d.kind];
  return parent !== undefined && isSpaceKind(parent.kind) && d.reason === 'PARENT_NOT_MIGRATED' && !!d.file;
};

/** Whether a raw line's record carries a file (an item's, a Learning Lab's): read before validation. */
export const namesFile = (raw: Record<string, unknown>): boolean =>
  typeof raw.file === 'object' && raw.file !== null;

/** A decided record's people: its owners, then its members (an event's organiser and participants). */
export const peopleOf = (d: Pick<DecidedRecord, 'owners' | 'members'>): string[] => [
  ...d.owners,
  ...(d.members ?? []),
];

function withMembers(
  result: LineResult,
  people: readonly string[] | undefined,
  isErased: IsErased,
): LineResult {
  if (!people || people.length === 0) return result;
  const owners = new Set(result.decided.owners);
  const members = [...new Set(people)]
    .filter((p) => !owners.has(p) && !isErased(p))
    .slice(0, LIMITS.membersPerRecord.value);
  return members.length === 0 ? result : { ...result, decided: { ...result.decided, members } };
}

/** Step 7 for a line that needed it. */
export function settleBlob(result: LineResult, status: BlobStatus): DecidedRecord {
  const { decided, needsBlob } = result;
  if (!needsBlob) return decided;
  // A dropped record keeps its decision; its file, if not sound, is not offered (its receipt says why).
  // One dropped only because a later export holds it is quarantined as a migrated one would be.
  if (decided.decision === 'dropped' && !(result.wouldMigrate && status !== 'ok'))
    return status === 'ok' || !decided.file
      ? decided
      : { ...decided, file: { ...decided.file, unavailable: status === 'missing' ? 'missing' : 'damaged' } };
  const v = applyBlobCheck(decided.kind, decided, needsBlob, status);
  const { detail: _old, ...rest } = decided;
  return { ...rest, ...v };
}
