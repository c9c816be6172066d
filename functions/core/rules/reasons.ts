/**
 * Every reason code of migration-rules.md, the decision it carries and its text in plain words for
 * receipts. One table, so that another language is one more column.
 */
export type Decision = 'migrated' | 'dropped' | 'quarantined';

export const REASONS = {
  TWINSPACE_ELIGIBLE: {
    decision: 'migrated',
    rule: 'TS-1',
    en: 'The project was registered on or after the cut-off date, so its TwinSpace moves to ESEP.',
  },
  TWINSPACE_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'TS-1',
    en: 'The project was registered before the cut-off date; its TwinSpace is deleted.',
  },
  CONTENT_ELIGIBLE: {
    decision: 'migrated',
    rule: 'TS-2',
    en: 'The content was created on or after the cut-off date and moves to ESEP.',
  },
  CONTENT_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'TS-2',
    en: 'The content was created before the cut-off date and is deleted.',
  },
  PARENT_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'TS-3, GR-4',
    en: 'The TwinSpace or group it belongs to is not migrated, so it goes with it.',
  },
  PARENT_QUARANTINED: {
    decision: 'quarantined',
    rule: 'TS-3, GR-4, PR-7',
    en: 'The TwinSpace, group or account it belongs to is held for a person to check; it is held with it.',
  },
  GROUP_ACTIVE: {
    decision: 'migrated',
    rule: 'GR-1',
    en: 'The group was active in the activity window and moves to ESEP with its members.',
  },
  GROUP_INACTIVE: {
    decision: 'dropped',
    rule: 'GR-1',
    en: 'The group had no activity in the activity window and is deleted.',
  },
  GROUP_ACTIVITY_UNKNOWN: {
    decision: 'quarantined',
    rule: 'GR-1',
    en: 'Whether the group was active cannot be told: some of its content arrived damaged. It is held for a person to check, not deleted.',
  },
  PROFILE_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-1',
    en: 'The profile is kept and shown once you register on ESEP with the same e-mail.',
  },
  SEG_SUPERSEDED: {
    decision: 'dropped',
    rule: 'ID-3, PR-7',
    en: 'You also have an eTwinning account with this e-mail; only the eTwinning data moves.',
  },
  ACTIVITY_ELIGIBLE: {
    decision: 'migrated',
    rule: 'PR-2',
    en: 'The profile activity took place on or after the cut-off date and is shown on ESEP.',
  },
  ACTIVITY_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'PR-2',
    en: 'The profile activity took place before the cut-off date and is deleted.',
  },
  PORTFOLIO_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-3',
    en: 'Portfolio entries move to your ESEP portfolio, whatever their date.',
  },
  PHOTO_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'PR-4',
    en: 'Only the profile photo moves; other photos are deleted.',
  },
  CONTACTS_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'PR-5',
    en: 'Contacts, followers and followed users are not migrated.',
  },
  CONTACTS_MIGRATED: {
    decision: 'migrated',
    rule: 'PR-5',
    en: 'Contacts are migrated under the policy in force for this run.',
  },
  EVENT_ELIGIBLE: {
    decision: 'migrated',
    rule: 'EV-1',
    en: "The event was organised by a support organisation or ambassador and moves to participants' portfolios.",
  },
  EVENT_BEFORE_CUTOFF: {
    decision: 'dropped',
    rule: 'EV-1',
    en: 'The event took place before the cut-off date that this migration applies to events, and is deleted.',
  },
  EVENT_ORGANISER_NOT_ELIGIBLE: {
    decision: 'dropped',
    rule: 'EV-2',
    en: 'eTwinning Live events of other organisers do not continue on ESEP.',
  },
  LEARNING_LAB_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'EV-3',
    en: 'The Learning Lab and the content of past events are deleted.',
  },
  MAILBOX_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-1',
    en: 'eTwinning Live mailbox messages are deleted; ESEP has a new mailbox.',
  },
  FEED_NOT_MIGRATED: { decision: 'dropped', rule: 'NM-2', en: 'Feed posts and their comments are deleted.' },
  PARTNER_FORUM_NOT_MIGRATED: {
    decision: 'dropped',
    rule: 'NM-3',
    en: 'Partner-finding forum posts are deleted; ESEP has a new Networking area.',
  },
  INVALID_RECORD: {
    decision: 'quarantined',
    rule: 'DQ-1',
    en: 'The record could not be read as delivered; the support service will look at it.',
  },
  DUPLICATE_ID: {
    decision: 'quarantined',
    rule: 'DQ-2',
    en: 'Another record with the same id came first; this copy is held for review.',
  },
  ORPHAN_RECORD: {
    decision: 'quarantined',
    rule: 'DQ-3, PR-7',
    en: 'The TwinSpace, group or account it belongs to is in no export; it is held for review.',
  },
  BLOB_MISSING: {
    decision: 'quarantined',
    rule: 'DQ-4',
    en: 'Its file is missing from the export; it is held for review.',
  },
  BLOB_CHECKSUM_MISMATCH: {
    decision: 'quarantined',
    rule: 'DQ-5',
    en: 'Its file arrived damaged; it is held for review.',
  },
} as const satisfies Record<string, { decision: Decision; rule: string; en: string }>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/**
 * The reason codes of account linking (ID-2 to ID-9) and their texts in plain words, for the support desk
 * and the people it answers. Not decisions of records: a registration's outcome, or an event of the index.
 */
export const LINK_REASONS = {
  LINKED: {
    rule: 'ID-2',
    en: 'Your ESEP account is linked to your legacy account with the same e-mail address; its migrated data appears in ESEP.',
  },
  RELINKED: {
    rule: 'ID-3',
    en: 'An eTwinning account with your e-mail address arrived: your ESEP account now shows its data instead of the School Education Gateway account.',
  },
  LINK_PENDING: {
    rule: 'ID-4',
    en: 'No migrated legacy account has this e-mail address yet; your ESEP account is linked as soon as one arrives.',
  },
  LINK_FROZEN: {
    rule: 'ID-4',
    en: 'The e-mail address of your first ESEP registration is the one that counts; a later registration with another address changes nothing.',
  },
  AMBIGUOUS_LEGACY_EMAIL: {
    rule: 'ID-8',
    en: 'More than one legacy account has this e-mail address; the national support service links the right one by hand.',
  },
  LEGACY_EMAIL_CHANGED: {
    rule: 'ID-9',
    en: 'A later export gave this legacy account another e-mail address; links stay as they are and the support service is told.',
  },
} as const satisfies Record<string, { rule: string; en: string }>;

export type LinkReasonCode = keyof typeof LINK_REASONS;
