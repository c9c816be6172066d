/**
 * Every reason code of migration-rules.md, the decision it carries and its rule. Its text in plain words,
 * in every language, is the message `reason.<code>` of the catalogues (core/report/i18n).
 */
export type Decision = 'migrated' | 'dropped' | 'quarantined';

export const REASONS = {
  TWINSPACE_ELIGIBLE: {
    decision: 'migrated',
    rule: 'TS-1',
  },
  TWINSPACE_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'TS-1',
  },
  CONTENT_ELIGIBLE: {
    decision: 'migrated',
    rule: 'TS-2',
  },
  CONTENT_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'TS-2',
  },
  PARENT_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'TS-3, GR-4',
  },
  PARENT_QUARANTINED: {
    decision: 'quarantined',
    rule: 'TS-3, GR-4, PR-7',
  },
  GROUP_ACTIVE: {
    decision: 'migrated',
    rule: 'GR-1',
  },
  GROUP_INACTIVE: {
    decision: 'dropped',
    rule: 'GR-1',
  },
  GROUP_ACTIVITY_UNKNOWN: {
    decision: 'quarantined',
    rule: 'GR-1',
  },
  PROFILE_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-1',
  },
  SEG_SUPERSEDED: {
    decision: 'dropped',
    rule: 'ID-3, PR-7',
  },
  ACTIVITY_ELIGIBLE: {
    decision: 'migrated',
    rule: 'PR-2',
  },
  ACTIVITY_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'PR-2',
  },
  PORTFOLIO_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-3',
  },
  PHOTO_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'PR-4',
  },
  CONTACTS_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'PR-5',
  },
  CONTACTS_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-5',
  },
  EVENT_ELIGIBLE: {
    decision: 'migrated',
    rule: 'EV-1',
  },
  EVENT_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'EV-1',
  },
  EVENT_ORGANISER_NOT_ELIGIBLE: {
    decision: 'dropped',
    rule: 'EV-2',
  },
  LEARNING_LAB_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'EV-3',
  },
  MAILBOX_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-1',
  },
  FEED_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-2',
  },
  PARTNER_FORUM_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-3',
  },
  IN_LATER_EXPORT: {
    decision: 'dropped',
    rule: 'ID-9',
  },
  ERASED: {
    decision: 'dropped',
    rule: 'ER-1',
  },
  INVALID_RECORD: {
    decision: 'quarantined',
    rule: 'DQ-1',
  },
  DUPLICATE_ID: {
    decision: 'quarantined',
    rule: 'DQ-2',
  },
  ORPHAN_RECORD: {
    decision: 'quarantined',
    rule: 'DQ-3, PR-7',
  },
  BLOB_MISSING: {
    decision: 'quarantined',
    rule: 'DQ-4',
  },
  BLOB_CHECKSUM_MISMATCH: {
    decision: 'quarantined',
    rule: 'DQ-5',
  },
} as const satisfies Record<string, { decision: Decision; rule: string }>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/**
 * The reason codes of account linking (ID-2 to ID-9), for the support desk and the people it answers
 * (their texts: the catalogues' `link.<code>`). Not decisions of records: a registration's outcome, or an event of the index.
 */
export const LINK_REASONS = {
  LINKED: {
    rule: 'ID-2',
  },
  RELINKED: {
    rule: 'ID-3',
  },
  LINK_PENDING: {
    rule: 'ID-4',
  },
  LINK_FROZEN: {
    rule: 'ID-4',
  },
  AMBIGUOUS_LEGACY_EMAIL: {
    rule: 'ID-8',
  },
  LEGACY_EMAIL_CHANGED: {
    rule: 'ID-9',
  },
} as const satisfies Record<string, { rule: string }>;

export type LinkReasonCode = keyof typeof LINK_REASONS;
