import { UsageError } from '../../functions/core/errors';
import { type DecisionContext, decidedNow, decideLine } from '../../functions/core/rules/decide';
import {
  checkTicket,
  ERASED_ID,
  erasedAmong,
  erasureKey,
  NONE_ERASED,
  parseAccountRef,
} from '../../functions/core/rules/erasure';
import type { Kind } from '../../functions/core/rules/kinds';
import { compilePolicy } from '../../functions/core/rules/policy';

const policy = compilePolicy();
const erased = erasedAmong(new Set([erasureKey('k', 'a1')]), 'k');
const ctx: DecisionContext = {
  policy,
  parentStatus: () => 'migrated',
  groupActivity: () => 'active',
  hasEtwinningAccount: () => false,
  isErased: erased,
};
const decide = (kind: Kind, record: object | string, context = ctx) =>
  decideLine(
    kind,
    '2023',
    `${kind}.ndjson`,
    { lineNo: 7, text: typeof record === 'string' ? record : JSON.stringify(record) },
    context,
    () => true,
  ).decided;

const activity = (accountId: string) => ({
  id: 'act-1',
  accountId,
  type: 'comment',
  title: 'A title',
  occurredAt: '2022-03-01T10:00:00Z',
});
const project = {
  id: 'p1',
  title: 'Water',
  registeredAt: '2021-09-01T00:00:00Z',
  members: [
    { accountId: 'a1', role: 'founder' },
    { accountId: 'a2', role: 'member' },
    { accountId: 'a3', role: 'member' },
  ],
};

describe('ER-1: an erased account', () => {
  test('its records decide ERASED, named by no id, owner or title; valid or not', () => {
    expect(decide('activities', activity('a1'))).toEqual({
      kind: 'activities',
      id: ERASED_ID,
      wave: '2023',
      decision: 'dropped',
      reason: 'ERASED',
      owners: [],
    });
    // A line the schema refuses is still the erased account's: not quarantined under its id.
    expect(decide('activities', { ...activity('a1'), occurredAt: 7 })).toMatchObject({
      id: ERASED_ID,
      reason: 'ERASED',
    });
    expect(decide('accounts', { id: 'a1', platform: 'etwinning' })).toMatchObject({ reason: 'ERASED' });
    // Another teacher's record is decided by its own rule, and without erasures nothing changes.
    expect(decide('activities', activity('a2'))).toMatchObject({ id: 'act-1', reason: 'ACTIVITY_ELIGIBLE' });
    expect(decide('activities', activity('a1'), { ...ctx, isErased: NONE_ERASED })).toMatchObject({
      id: 'act-1',
    });
  });

  test('a TwinSpace it founded stays for its members, without it among them', () => {
    const d = decide('projects', project);
    expect(d).toMatchObject({ id: 'p1', decision: 'migrated', owners: [], members: ['a2', 'a3'] });
    // An event it takes part in keeps its other participants.
    expect(
      decide('events', {
        id: 'ev1',
        organiserId: 'a2',
        organiserRole: 'CSS',
        title: 'E',
        startsAt: '2022-03-01T10:00:00Z',
        participantIds: ['a1', 'a3'],
      }),
    ).toMatchObject({ id: 'ev1', owners: ['a2'], members: ['a3'] });
  });

  test('a row decided before the erasure reads as erased now (a re-run or a redrive reports it so)', () => {
    const before = decide('activities', activity('a1'), { ...ctx, isErased: NONE_ERASED });
    expect(decidedNow(before, erased)).toMatchObject({ id: ERASED_ID, reason: 'ERASED', owners: [] });
    const space = decide('projects', project, { ...ctx, isErased: NONE_ERASED });
    expect(space).toMatchObject({ owners: ['a1'], members: ['a2', 'a3'] });
    const rerun = { ...space, members: ['a1', 'a2'], owners: ['a2'] };
    expect(decidedNow(space, erased)).toMatchObject({ id: 'p1', owners: [], members: ['a2', 'a3'] });
    expect(decidedNow(rerun, erased)).toMatchObject({ owners: ['a2'], members: ['a2'] });
    expect(decidedNow(before, NONE_ERASED)).toBe(before);
  });

  test('the audit record is keyed: the key is not the id, and another key gives another hash', () => {
    expect(erasureKey('k', 'a1')).toMatch(/^[0-9a-f]{64}$/);
    expect(erasureKey('k', 'a1')).not.toContain('a1');
    expect(erasureKey('other', 'a1')).not.toBe(erasureKey('k', 'a1'));
  });

  test('a ticket is kept only without personal data; an account is <platform>:<id>', () => {
    expect(checkTicket('  GDPR-2022-17 ')).toBe('GDPR-2022-17');
    for (const bad of ['', 'from ana@school.example.pt', 'x'.repeat(201), 'a\nb'])
      expect(() => checkTicket(bad)).toThrow(UsageError);
    expect(parseAccountRef('seg:s:1')).toEqual({ platform: 'seg', accountId: 's:1' });
    for (const bad of ['e-1', 'moodle:e-1', 'etwinning:'])
      expect(() => parseAccountRef(bad)).toThrow(UsageError);
  });
});
