import { idProblem, LIMITS } from './limits';

/** The kinds of a legacy export (legacy-export.md) and the facts about them that every rule needs. */
export const KINDS = [
  'accounts',
  'activities',
  'portfolio',
  'events',
  'learning-lab',
  'projects',
  'twinspace-items',
  'groups',
  'group-items',
  'photos',
  'contacts',
  'feed-posts',
  'mailbox',
  'partner-forum',
] as const;

export type Kind = (typeof KINDS)[number];

export const isKind = (value: unknown): value is Kind => (KINDS as readonly unknown[]).includes(value);

/**
 * What a record follows, and the field by which it points at it: items their TwinSpace or group (DQ-3,
 * TS-3, GR-4), account-owned records their account (PR-7). `rule` names the rule on a decision it makes.
 */
export const PARENTS: Partial<Record<Kind, { kind: Kind; field: string; rule: string }>> = {
  'twinspace-items': { kind: 'projects', field: 'projectId', rule: 'TS-3' },
  'group-items': { kind: 'groups', field: 'groupId', rule: 'GR-4' },
  activities: { kind: 'accounts', field: 'accountId', rule: 'PR-7' },
  portfolio: { kind: 'accounts', field: 'accountId', rule: 'PR-7' },
  photos: { kind: 'accounts', field: 'accountId', rule: 'PR-7' },
  contacts: { kind: 'accounts', field: 'accountId', rule: 'PR-7' },
};

/**
 * Records whose people are another record's (FAQ eTwinning 17): a Learning Lab's are its event's organiser
 * and participants, who see it deleted on their receipts, with its file to download. Decided after it.
 */
export const AUDIENCE_OF: Partial<Record<Kind, { kind: Kind; field: string }>> = {
  'learning-lab': { kind: 'events', field: 'eventId' },
};
/** Whether another kind's records take their people from this kind's (events, for the Learning Lab). */
export const givesAudience = (kind: Kind): boolean => Object.values(AUDIENCE_OF).some((a) => a.kind === kind);

/** Kinds whose decisions other records read (projects, groups, accounts). */
export const isContainerKind = (kind: Kind): boolean => Object.values(PARENTS).some((p) => p.kind === kind);

/** TwinSpaces and groups: spaces whose people (members, admins) are told of them and offered their files. */
export type SpaceKind = 'projects' | 'groups';
export const isSpaceKind = (kind: string): kind is SpaceKind => kind === 'projects' || kind === 'groups';

/**
 * The kinds whose records one export holds across exports (ID-9, extended to TwinSpaces, groups and
 * events): the latest export that has a standing line for one gives it, with its items (a space's) or its
 * records of the kinds that export carries (an account's).
 */
export type HeldKind = SpaceKind | 'accounts' | 'events';
export const isHeldKind = (kind: string): kind is HeldKind =>
  isSpaceKind(kind) || kind === 'accounts' || kind === 'events';

/**
 * The indexes that a later stage reads: the groups with a standing, valid item in the window, the groups
 * named by a quarantined item (GR-1), the keyed e-mails of eTwinning accounts (ID-3).
 */
export type IndexName = 'group-activity' | 'group-activity-unknown' | 'etwinning-emails';

/**
 * Kinds whose decisions need a pass over a kind file first, and the index that pass builds: a group's
 * activity comes from its items (GR-1), an SEG account's supersession from the eTwinning accounts (ID-3).
 */
export const INDEXES_BEFORE_DECIDING: Partial<
  Record<Kind, { readonly kind: Kind; readonly index: IndexName }>
> = {
  groups: { kind: 'group-items', index: 'group-activity' },
  accounts: { kind: 'accounts', index: 'etwinning-emails' },
};

/** The owner fields of a kind ("Owners" in legacy-export.md); containers name their owners by role. */
const OWNER_FIELD: Partial<Record<Kind, string>> = {
  activities: 'accountId',
  portfolio: 'accountId',
  photos: 'accountId',
  contacts: 'accountId',
  'feed-posts': 'accountId',
  'partner-forum': 'accountId',
  'twinspace-items': 'authorId',
  'group-items': 'authorId',
  events: 'organiserId',
  mailbox: 'senderId',
};
const OWNER_ROLE: Partial<Record<Kind, string>> = { projects: 'founder', groups: 'admin' };

/** The date that decides a record of each kind (its cut-off or window), shown on receipts. */
export const DATE_FIELD: Partial<Record<Kind, string>> = {
  accounts: 'registeredAt',
  activities: 'occurredAt',
  portfolio: 'awardedAt',
  events: 'startsAt',
  'learning-lab': 'createdAt',
  projects: 'registeredAt',
  'twinspace-items': 'createdAt',
  groups: 'createdAt',
  'group-items': 'createdAt',
  photos: 'createdAt',
  'feed-posts': 'createdAt',
  mailbox: 'sentAt',
  'partner-forum': 'createdAt',
};

/**
 * The accounts that take part in a record without owning it: a TwinSpace's and a group's other members,
 * an event's participants, a mailbox message's recipients (FAQ eTwinning 9: they are told it is deleted).
 * Their receipts name the record (legacy-export.md, "Owners", extended).
 */
export function membersOf(kind: Kind, record: Record<string, unknown>): string[] {
  const owners = new Set(ownersOf(kind, record));
  const ids =
    kind === 'events' && Array.isArray(record.participantIds)
      ? (record.participantIds as unknown[])
      : kind === 'mailbox' && Array.isArray(record.recipientIds)
        ? (record.recipientIds as unknown[])
        : (kind === 'projects' || kind === 'groups') && Array.isArray(record.members)
          ? (record.members as { accountId?: unknown }[]).map((m) => m?.accountId)
          : [];
  const out = new Set<string>();
  for (const v of ids) {
    if (out.size >= LIMITS.membersPerRecord.value) break;
    const member = idValue(v);
    if (member !== undefined && !owners.has(member)) out.add(member);
  }
  return [...out];
}

/** A value read from a record as an id: a non-empty string that can be keyed (limits), else undefined. */
export const idValue = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' && idProblem(v) === undefined ? v : undefined;

/**
 * The legacy accounts a record belongs to. Works on raw, unvalidated objects too (best effort), so a
 * quarantined record still shows on its owner's receipt when its owner field is readable.
 */
export function ownersOf(kind: Kind, record: Record<string, unknown>): string[] {
  // Only what can be an id, and at most `ownersPerRecord` of them: a quarantined record is read as it is.
  const usable = (v: unknown): v is string => idValue(v) !== undefined;
  if (kind === 'accounts') return usable(record.id) ? [record.id] : [];
  const field = OWNER_FIELD[kind];
  if (field) {
    const owner = record[field];
    return usable(owner) ? [owner] : [];
  }
  const role = OWNER_ROLE[kind];
  if (!role || !Array.isArray(record.members)) return [];
  const owners = new Set<string>();
  for (const member of record.members as unknown[]) {
    if (owners.size >= LIMITS.ownersPerRecord.value) break;
    const m = member as { accountId?: unknown; role?: unknown } | null;
    if (m && m.role === role && usable(m.accountId)) owners.add(m.accountId);
  }
  return [...owners];
}
