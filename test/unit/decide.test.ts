import type { LinkReason } from '../../functions/core/ports';
import { linkReasonText } from '../../functions/core/report/i18n';
import {
  applyBlobCheck,
  copiesFile,
  type DecisionContext,
  decideLine,
  decideRecord,
  isActiveItem,
  type ParentStatus,
  parseLine,
  settleBlob,
  validateRecord,
} from '../../functions/core/rules/decide';
import type { Kind } from '../../functions/core/rules/kinds';
import { compilePolicy } from '../../functions/core/rules/policy';
import { LINK_REASONS, REASON_CODES, REASONS } from '../../functions/core/rules/reasons';

const policy = compilePolicy();
const ctx = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  policy,
  parentStatus: () => 'migrated',
  groupActivity: () => 'inactive',
  hasEtwinningAccount: () => false,
  ...over,
});

const RECORDS = {
  projects: (ts: string) => ({
    id: 'p1',
    title: 'P',
    registeredAt: ts,
    members: [{ accountId: 'a1', role: 'founder' }],
  }),
  'twinspace-items': (ts: string) => ({
    id: 'i1',
    projectId: 'p1',
    kind: 'page',
    title: 'T',
    authorId: 'a1',
    createdAt: ts,
  }),
  'group-items': (ts: string) => ({
    id: 'g1',
    groupId: 'gr1',
    kind: 'page',
    title: 'T',
    authorId: 'a1',
    createdAt: ts,
  }),
  activities: (ts: string) => ({ id: 'x1', accountId: 'a1', type: 't', title: 'T', occurredAt: ts }),
} as const;

const decide = (kind: Kind, raw: object, c = ctx()) => {
  const v = validateRecord(kind, raw as Record<string, unknown>);
  if (!v.ok) throw new Error(`fixture invalid: ${v.detail}`);
  return decideRecord(kind, v.record, c);
};

// 2018-07-01 starts at 2018-06-30T22:00:00Z in Brussels (CEST, +02:00).
const CUTOFF_BEFORE = [
  '2018-06-30T23:59:59+02:00',
  '2018-06-30T22:59:59+01:00',
  '2018-06-30T21:59:59Z',
  '2018-06-30T21:59:59.999Z',
];
const CUTOFF_ON = [
  '2018-07-01T00:00:00+02:00',
  '2018-06-30T23:00:00+01:00',
  '2018-06-30T22:00:00Z',
  '2018-06-30T22:30:00Z',
];

describe.each([
  ['projects', 'TWINSPACE_ELIGIBLE', 'TWINSPACE_BEFORE_CUTOFF', 'TS-1'],
  ['twinspace-items', 'CONTENT_ELIGIBLE', 'CONTENT_BEFORE_CUTOFF', 'TS-2'],
  ['group-items', 'CONTENT_ELIGIBLE', 'CONTENT_BEFORE_CUTOFF', 'GR-3'],
  ['activities', 'ACTIVITY_ELIGIBLE', 'ACTIVITY_BEFORE_CUTOFF', 'PR-2'],
] as const)('%s: the 2018-07-01 cut-off (%s / %s, rule %s)', (kind, yes, no, _rule) => {
  test.each(CUTOFF_BEFORE)('%s is before the cut-off', (ts) => {
    expect(decide(kind, RECORDS[kind](ts))).toEqual({ decision: 'dropped', reason: no });
  });
  test.each(CUTOFF_ON)('%s is on or after the cut-off', (ts) => {
    expect(decide(kind, RECORDS[kind](ts))).toEqual({ decision: 'migrated', reason: yes });
  });
});

describe('GR-1: the group activity window [2021-01-01, 2022-02-22) in Brussels (CET, +01:00)', () => {
  const item = (createdAt: string, updatedAt?: string) => ({
    createdAt,
    ...(updatedAt ? { updatedAt } : {}),
  });
  test.each([
    ['2020-12-31T23:59:59+01:00', false],
    ['2021-01-01T00:59:59+02:00', false],
    ['2020-12-31T22:59:59Z', false],
    ['2021-01-01T00:00:00+01:00', true],
    ['2021-01-01T01:00:00+02:00', true],
    ['2020-12-31T23:00:00Z', true],
    ['2022-02-21T23:59:59+01:00', true],
    ['2022-02-22T00:59:59+02:00', true],
    ['2022-02-21T22:59:59Z', true],
    ['2022-02-22T00:00:00+01:00', false],
    ['2022-02-22T01:00:00+02:00', false],
    ['2022-02-21T23:00:00Z', false],
  ])('an item created at %s is active: %s', (ts, active) => {
    expect(isActiveItem(policy, item(ts))).toBe(active);
  });
  test('an old item updated inside the window makes the group active', () => {
    expect(isActiveItem(policy, item('2017-01-01T00:00:00Z', '2021-06-01T10:00:00+02:00'))).toBe(true);
    expect(isActiveItem(policy, item('2017-01-01T00:00:00Z', '2022-03-01T10:00:00+01:00'))).toBe(false);
  });
  test('groups follow their activity', () => {
    const group = { id: 'gr1', title: 'G', createdAt: '2015-01-01T00:00:00Z', members: [] };
    expect(
      decide('groups', group, ctx({ groupActivity: (id) => (id === 'gr1' ? 'active' : 'inactive') })),
    ).toEqual({
      decision: 'migrated',
      reason: 'GROUP_ACTIVE',
    });
    expect(decide('groups', group)).toEqual({ decision: 'dropped', reason: 'GROUP_INACTIVE' });
    // GR-1: a group whose activity cannot be told (a quarantined item names it) is held, never deleted.
    expect(decide('groups', group, ctx({ groupActivity: () => 'unknown' }))).toEqual({
      decision: 'quarantined',
      reason: 'GROUP_ACTIVITY_UNKNOWN',
    });
  });
  test('the alternative reading "through 21.2.2022" is one policy change away', () => {
    const narrow = compilePolicy({ groupActivityWindow: { from: '2021-01-01', to: '2022-02-21' } });
    expect(isActiveItem(narrow, item('2022-02-21T12:00:00+01:00'))).toBe(false);
    expect(isActiveItem(policy, item('2022-02-21T12:00:00+01:00'))).toBe(true);
  });
});

describe("policy switches for the FAQ's open readings", () => {
  const group = { id: 'g', title: 'G', createdAt: '2021-05-01T00:00:00Z', members: [] };
  const event = (startsAt: string) => ({
    id: 'e',
    organiserId: 'a',
    organiserRole: 'NSO',
    title: 'T',
    startsAt,
    participantIds: [],
  });
  test('GR-1: founding a group in the window is activity only when the policy says so (default: not)', () => {
    expect(decide('groups', group).reason).toBe('GROUP_INACTIVE');
    const founding = compilePolicy({ groupFoundingIsActivity: true });
    expect(decideRecord('groups', group as never, ctx({ policy: founding }))).toEqual({
      decision: 'migrated',
      reason: 'GROUP_ACTIVE',
      detail: 'founded in the activity window (policy groupFoundingIsActivity)',
    });
    const old = { ...group, createdAt: '2015-01-01T00:00:00Z' };
    expect(decideRecord('groups', old as never, ctx({ policy: founding })).reason).toBe('GROUP_INACTIVE');
  });
  test('EV-1: events of every date move by default; a policy date drops the earlier ones', () => {
    expect(decide('events', event('2012-01-01T00:00:00Z')).reason).toBe('EVENT_ELIGIBLE');
    const from2018 = ctx({ policy: compilePolicy({ eventsFrom: '2018-07-01' }) });
    expect(decideRecord('events', event('2018-06-30T21:59:59Z') as never, from2018).reason).toBe(
      'EVENT_BEFORE_CUTOFF',
    );
    expect(decideRecord('events', event('2018-06-30T22:00:00Z') as never, from2018).reason).toBe(
      'EVENT_ELIGIBLE',
    );
  });
});

describe('kinds decided by their kind alone', () => {
  test.each([
    [
      'portfolio',
      { id: 'p', accountId: 'a', kind: 'prize', title: 'T', awardedAt: '2009-01-01T00:00:00Z' },
      'PORTFOLIO_MIGRATED',
    ],
    [
      'learning-lab',
      { id: 'l', eventId: 'e', title: 'T', createdAt: '2021-01-01T00:00:00Z' },
      'LEARNING_LAB_NOT_MIGRATED',
    ],
    [
      'photos',
      {
        id: 'ph',
        accountId: 'a',
        createdAt: '2021-01-01T00:00:00Z',
        file: { sha256: 'a'.repeat(64), size: 1, contentType: 'image/png', fileName: 'x.png' },
      },
      'PHOTO_NOT_MIGRATED',
    ],
    [
      'contacts',
      { id: 'c', accountId: 'a', otherAccountId: 'b', relation: 'follower' },
      'CONTACTS_NOT_MIGRATED',
    ],
    [
      'feed-posts',
      { id: 'f', accountId: 'a', kind: 'comment', createdAt: '2021-01-01T00:00:00Z' },
      'FEED_NOT_MIGRATED',
    ],
    [
      'mailbox',
      { id: 'm', senderId: 'a', recipientIds: ['b'], sentAt: '2021-01-01T00:00:00Z' },
      'MAILBOX_NOT_MIGRATED',
    ],
    [
      'partner-forum',
      { id: 'f', accountId: 'a', title: 'T', createdAt: '2021-01-01T00:00:00Z' },
      'PARTNER_FORUM_NOT_MIGRATED',
    ],
  ] as const)('%s → %s', (kind, record, reason) => {
    expect(decide(kind, record)).toEqual({ decision: REASONS[reason].decision, reason });
  });
  test('PR-5: contacts migrate when the policy says so', () => {
    const record = { id: 'c', accountId: 'a', otherAccountId: 'b', relation: 'contact' };
    expect(decide('contacts', record, ctx({ policy: compilePolicy({ migrateContacts: true }) }))).toEqual({
      decision: 'migrated',
      reason: 'CONTACTS_MIGRATED',
    });
  });
});

describe('EV-1/EV-2: events by organiser role', () => {
  const event = (organiserRole: string) => ({
    id: 'e',
    organiserId: 'a',
    organiserRole,
    title: 'T',
    startsAt: '2021-01-01T00:00:00Z',
    participantIds: ['b'],
  });
  test.each([
    ['NSO', 'EVENT_ELIGIBLE'],
    ['CSS', 'EVENT_ELIGIBLE'],
    ['AMBASSADOR', 'EVENT_ELIGIBLE'],
    ['TEACHER', 'EVENT_ORGANISER_NOT_ELIGIBLE'],
  ])('%s → %s', (role, reason) => {
    expect(decide('events', event(role)).reason).toBe(reason);
  });
  test('eligible roles are policy', () => {
    expect(
      decide(
        'events',
        event('AMBASSADOR'),
        ctx({ policy: compilePolicy({ eligibleOrganiserRoles: ['NSO', 'CSS'] }) }),
      ).reason,
    ).toBe('EVENT_ORGANISER_NOT_ELIGIBLE');
  });
});

describe('accounts: PR-1 and ID-3', () => {
  const account = (platform: string, email = 'a@b.eu') => ({
    id: 'a1',
    platform,
    email,
    firstName: 'F',
    lastName: 'L',
    country: 'BE',
    registeredAt: '2010-01-01T00:00:00Z',
    organisations: [],
  });
  test('an eTwinning profile migrates', () => {
    expect(decide('accounts', account('etwinning'), ctx({ hasEtwinningAccount: () => true }))).toEqual({
      decision: 'migrated',
      reason: 'PROFILE_MIGRATED',
    });
  });
  test('an SEG profile migrates unless an eTwinning account has its e-mail', () => {
    expect(decide('accounts', account('seg'))).toEqual({ decision: 'migrated', reason: 'PROFILE_MIGRATED' });
    const seen: string[] = [];
    const c = ctx({ hasEtwinningAccount: (e) => seen.push(e) > 0 });
    expect(decide('accounts', account('seg', ' A@B.eu'), c)).toEqual({
      decision: 'dropped',
      reason: 'SEG_SUPERSEDED',
    });
    expect(seen).toEqual([' A@B.eu']);
  });
  test('ID-1: password hash and login are dropped on read', () => {
    const v = validateRecord('accounts', {
      ...account('seg'),
      passwordHash: '$2y$10$x',
      login: 'jan',
      extra: 1,
    });
    expect(v.ok && Object.keys(v.record)).toEqual(
      expect.not.arrayContaining(['passwordHash', 'login', 'extra']),
    );
  });
});

describe('items and their containers (DQ-3, TS-3, GR-4)', () => {
  const item = RECORDS['twinspace-items']('2020-01-01T00:00:00Z');
  test('an item of a container that is not a line of its kind is an orphan, with the field in detail', () => {
    expect(decide('twinspace-items', item, ctx({ parentStatus: () => 'absent' }))).toEqual({
      decision: 'quarantined',
      reason: 'ORPHAN_RECORD',
      detail: 'projectId: no projects line has id "p1"',
    });
  });
  test('an item of a container that does not migrate goes with it, whatever its own date', () => {
    expect(decide('twinspace-items', item, ctx({ parentStatus: () => 'dropped' }))).toEqual({
      decision: 'dropped',
      reason: 'PARENT_NOT_MIGRATED',
      detail: 'projectId "p1" is not migrated (TS-3)',
    });
    const old = RECORDS['group-items']('2010-01-01T00:00:00Z');
    expect(decide('group-items', old, ctx({ parentStatus: () => 'dropped' }))).toEqual({
      decision: 'dropped',
      reason: 'PARENT_NOT_MIGRATED',
      detail: 'groupId "gr1" is not migrated (GR-4)',
    });
  });
  test('an item of a quarantined container is held with it, never deleted (TS-3, GR-4)', () => {
    expect(decide('twinspace-items', item, ctx({ parentStatus: () => 'quarantined' }))).toEqual({
      decision: 'quarantined',
      reason: 'PARENT_QUARANTINED',
      detail: 'projectId "p1" is held for review, and this with it (TS-3)',
    });
    expect(
      decide(
        'group-items',
        RECORDS['group-items']('2010-01-01T00:00:00Z'),
        ctx({ parentStatus: () => 'quarantined' }),
      ).reason,
    ).toBe('PARENT_QUARANTINED');
  });
  test('the parent is looked up by the kind and id the item names', () => {
    const asked: string[] = [];
    decide(
      'group-items',
      RECORDS['group-items']('2020-01-01T00:00:00Z'),
      ctx({
        parentStatus: (k, id) => {
          asked.push(`${k}/${id}`);
          return 'migrated';
        },
      }),
    );
    expect(asked).toEqual(['groups/gr1']);
  });
});

describe('a TwinSpace or group that a later export holds (ID-9 extended): decided by its own rules first', () => {
  const later = ctx({ laterExportHolding: () => 'et-corrected' });
  test('what would migrate is not staged here: IN_LATER_EXPORT, marked as one that would have migrated', () => {
    expect(decide('projects', RECORDS.projects('2019-01-01T00:00:00Z'), later)).toMatchObject({
      decision: 'dropped',
      reason: 'IN_LATER_EXPORT',
      wouldMigrate: true,
    });
  });
  test('what would not migrate keeps its own reason, as it has when the later export runs after it', () => {
    expect(decide('projects', RECORDS.projects('2017-01-01T00:00:00Z'), later)).toMatchObject({
      decision: 'dropped',
      reason: 'TWINSPACE_BEFORE_CUTOFF',
    });
    expect(decide('projects', RECORDS.projects('2017-01-01T00:00:00Z'), later)).not.toHaveProperty(
      'wouldMigrate',
    );
  });
  test('its items: PARENT_NOT_MIGRATED for those that would migrate, their own reason for the others', () => {
    const held = ctx({ parentStatus: () => 'later' });
    expect(decide('twinspace-items', RECORDS['twinspace-items']('2020-01-01T00:00:00Z'), held)).toMatchObject(
      {
        reason: 'PARENT_NOT_MIGRATED',
        detail: 'projectId "p1" is migrated from a later export that holds it, with its own items (ID-9)',
        wouldMigrate: true,
      },
    );
    expect(decide('twinspace-items', RECORDS['twinspace-items']('2017-01-01T00:00:00Z'), held).reason).toBe(
      'CONTENT_BEFORE_CUTOFF',
    );
  });
  test('step 7: an item that would migrate but whose file is missing is quarantined, as it is when it would be staged', () => {
    const file = { fileName: 'a.pdf', size: 3, sha256: 'a'.repeat(64), contentType: 'application/pdf' };
    const line = {
      lineNo: 1,
      text: JSON.stringify({ ...RECORDS['twinspace-items']('2020-01-01T00:00:00Z'), file }),
    };
    const decideWith = (parent: ParentStatus) =>
      decideLine(
        'twinspace-items',
        'sept-2022',
        'twinspace-items.ndjson',
        line,
        ctx({ parentStatus: () => parent }),
        () => true,
      );
    const held = decideWith('later');
    expect(held.wouldMigrate).toBe(true);
    expect(settleBlob(held, 'missing')).toMatchObject({ decision: 'quarantined', reason: 'BLOB_MISSING' });
    expect(settleBlob(decideWith('migrated'), 'missing')).toMatchObject({ reason: 'BLOB_MISSING' });
    expect(settleBlob(held, 'ok')).toMatchObject({ decision: 'dropped', reason: 'PARENT_NOT_MIGRATED' });
    // An item of a container that does not migrate keeps its decision; its file is only not offered.
    expect(settleBlob(decideWith('dropped'), 'missing')).toMatchObject({
      decision: 'dropped',
      reason: 'PARENT_NOT_MIGRATED',
      file: expect.objectContaining({ unavailable: 'missing' }),
    });
  });
});

describe('what an account owns follows it (PR-7)', () => {
  const owned = {
    activities: { id: 'ac', accountId: 'a1', type: 'x', title: 'T', occurredAt: '2020-01-01T00:00:00Z' },
    portfolio: { id: 'p', accountId: 'a1', kind: 'prize', title: 'T', awardedAt: '2020-01-01T00:00:00Z' },
    photos: {
      id: 'ph',
      accountId: 'a1',
      createdAt: '2020-01-01T00:00:00Z',
      file: { sha256: 'a'.repeat(64), size: 1, contentType: 'image/png', fileName: 'p.png' },
    },
    contacts: { id: 'c', accountId: 'a1', otherAccountId: 'a2', relation: 'contact' },
  } as const;
  test.each(Object.keys(owned) as (keyof typeof owned)[])('%s follow their owner account', (kind) => {
    const asked: string[] = [];
    const with_ = (status: ParentStatus) =>
      decide(
        kind,
        owned[kind],
        ctx({
          parentStatus: (k, id) => {
            asked.push(`${k}/${id}`);
            return status;
          },
        }),
      );
    expect(with_('superseded')).toMatchObject({ decision: 'dropped', reason: 'SEG_SUPERSEDED' });
    expect(with_('quarantined')).toMatchObject({ decision: 'quarantined', reason: 'PARENT_QUARANTINED' });
    expect(with_('absent')).toEqual({
      decision: 'quarantined',
      reason: 'ORPHAN_RECORD',
      detail: 'accountId: no export holds account "a1" (PR-7)',
    });
    // A standing owner: the kind's own rule decides.
    expect(with_('migrated').reason).not.toMatch(/SEG_SUPERSEDED|PARENT_|ORPHAN/);
    expect(new Set(asked)).toEqual(new Set(['accounts/a1']));
  });
});

describe('step 7: files (DQ-4, DQ-5, DQ-6)', () => {
  const file = { sha256: 'a'.repeat(64), size: 3, contentType: 'text/plain', fileName: 'notes.txt' };
  const migrated = { decision: 'migrated', reason: 'CONTENT_ELIGIBLE' } as const;
  test('a missing or damaged file quarantines the item', () => {
    expect(applyBlobCheck('twinspace-items', migrated, file, 'missing')).toEqual({
      decision: 'quarantined',
      reason: 'BLOB_MISSING',
      detail: 'file is not in the export',
    });
    expect(applyBlobCheck('group-items', migrated, file, 'mismatch')).toEqual({
      decision: 'quarantined',
      reason: 'BLOB_CHECKSUM_MISMATCH',
      detail: 'file does not match its sha256',
    });
    expect(applyBlobCheck('group-items', migrated, file, 'ok')).toEqual(migrated);
  });
  test('a profile migrates without its missing photo, flagged as left out, and detail says why', () => {
    const profile = { decision: 'migrated', reason: 'PROFILE_MIGRATED' } as const;
    const missing = applyBlobCheck('accounts', profile, file, 'missing');
    expect(missing).toEqual({
      ...profile,
      detail: 'profilePhoto left out: the file is not in the export',
      fileLeftOut: true,
    });
    expect(applyBlobCheck('accounts', profile, file, 'mismatch')).toEqual({
      ...profile,
      detail: 'profilePhoto left out: the file does not match its sha256',
      fileLeftOut: true,
    });
    // Whether the file is copied follows the flag, not the wording of the detail.
    expect(copiesFile({ ...missing, file })).toBe(false);
    expect(copiesFile({ ...profile, file })).toBe(true);
  });
  test('an unsafe file name is made safe and said so', () => {
    expect(applyBlobCheck('twinspace-items', migrated, { ...file, fileName: '../x.txt' }, 'ok')).toEqual({
      ...migrated,
      detail: 'file name made safe (DQ-6)',
    });
  });
});

describe('step 1 and 3: lines and the schema (DQ-1)', () => {
  test.each([
    ['{"id": "x"', '(line): not JSON'],
    ['[1,2]', '(line): not a JSON object'],
    ['null', '(line): not a JSON object'],
    ['{"title": "no id"}', 'id: expected a non-empty string'],
    ['{"id": ""}', 'id: expected a non-empty string'],
    ['{"id": 7}', 'id: expected a non-empty string'],
  ])('%s is unreadable: %s', (text, detail) => {
    expect(parseLine(text)).toMatchObject({ ok: false, detail });
  });
  test.each([
    [
      'timestamp without offset',
      { registeredAt: '2019-01-01T10:00:00' },
      'registeredAt: expected an ISO 8601 timestamp with an offset',
    ],
    ['missing field', { title: undefined }, 'title: '],
    [
      'wrong type in an array',
      {
        members: [
          { accountId: 'a', role: 'founder' },
          { accountId: 5, role: 'member' },
        ],
      },
      'members[1].accountId: ',
    ],
    ['unknown member role', { members: [{ accountId: 'a', role: 'owner' }] }, 'members[0].role: '],
  ])('%s: detail names the field path', (_, change, detail) => {
    const v = validateRecord('projects', { ...RECORDS.projects('2019-01-01T10:00:00Z'), ...change });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.detail).toContain(detail);
  });
});

test('every reason code of linking names its rule and has its text in plain words', () => {
  for (const [code, { rule }] of Object.entries(LINK_REASONS)) {
    expect([code, rule]).toEqual([code, expect.stringMatching(/^ID-\d$/)]);
    expect(linkReasonText(code as LinkReason).length).toBeGreaterThan(40);
  }
  // Every outcome `register` can print is among them.
  const outcomes: LinkReason[] = [
    'LINKED',
    'RELINKED',
    'LINK_PENDING',
    'LINK_FROZEN',
    'AMBIGUOUS_LEGACY_EMAIL',
  ];
  for (const r of outcomes) expect(LINK_REASONS[r]).toBeDefined();
});

test('every reason code names a rule and carries one decision', () => {
  for (const code of REASON_CODES) {
    expect(REASONS[code].rule).toMatch(/^(ID|TS|GR|PR|EV|NM|DQ|ER)-\d(, (ID|TS|GR|PR|EV|NM|DQ|ER)-\d)*$/);
    expect(['migrated', 'dropped', 'quarantined']).toContain(REASONS[code].decision);
  }
});
