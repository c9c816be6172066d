import { makeHandler } from '../../functions/account-link/handler';
import type { IdentityEntry } from '../../functions/core/ports';
import { emailKey } from '../../functions/core/rules/identity';
import { chooseLegacy, linkDocument, linkRegistration } from '../../functions/core/rules/linking';
import { memoryIdentities, memoryObjects } from '../helpers/memory-ports';
import { sqsEvent } from '../helpers/sqs';

const SECRET = 'test-secret';
const at = '2023-03-01T09:00:00+01:00';
const entry = (email: string, platform: IdentityEntry['platform'], accountId: string): IdentityEntry => ({
  key: emailKey(SECRET, email),
  platform,
  accountId,
});

async function world(entries: IdentityEntry[]) {
  const m = memoryIdentities();
  await m.store.putIdentities(entries);
  const register = (esepUserId: string, email: string) =>
    linkRegistration({ esepUserId, email, registeredAt: at }, { identities: m.store, secret: SECRET });
  return { ...m, register };
}

describe('chooseLegacy (ID-3, ID-8)', () => {
  const e = (platform: IdentityEntry['platform'], accountId: string) => ({ key: 'k', platform, accountId });
  test.each<[string, IdentityEntry[], ReturnType<typeof chooseLegacy>]>([
    ['no account', [], { reason: 'NO_LEGACY_MATCH' }],
    ['one eTwinning account', [e('etwinning', 'a')], { accountId: 'a' }],
    ['one SEG account', [e('seg', 's')], { accountId: 's' }],
    ['eTwinning over SEG', [e('seg', 's'), e('etwinning', 'a')], { accountId: 'a' }],
    [
      'eTwinning over two SEG accounts',
      [e('seg', 's1'), e('seg', 's2'), e('etwinning', 'a')],
      { accountId: 'a' },
    ],
    [
      'two eTwinning accounts',
      [e('etwinning', 'a'), e('etwinning', 'b'), e('seg', 's')],
      { reason: 'AMBIGUOUS_LEGACY_EMAIL' },
    ],
    [
      'two SEG accounts and no eTwinning',
      [e('seg', 's1'), e('seg', 's2')],
      { reason: 'AMBIGUOUS_LEGACY_EMAIL' },
    ],
    ['one account indexed by two exports', [e('etwinning', 'a'), e('etwinning', 'a')], { accountId: 'a' }],
  ])('%s', (_, entries, expected) => {
    expect(chooseLegacy(entries)).toEqual(expected);
  });
});

describe('linkRegistration', () => {
  test.each([
    ['the same address', 'maria.rossi@school.eu'],
    ['upper case', 'MARIA.ROSSI@SCHOOL.EU'],
    ['surrounding spaces', '  Maria.Rossi@school.eu\t'],
  ])('ID-2: %s links the eTwinning account, not the SEG one (ID-3)', async (_, email) => {
    const w = await world([
      entry('maria.rossi@school.eu', 'seg', 'seg-1'),
      entry('Maria.Rossi@School.EU', 'etwinning', 'et-1'),
    ]);
    expect(await w.register('u1', email)).toEqual({
      esepUserId: 'u1',
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: 'et-1',
    });
  });

  test('ID-2: Unicode variants (composed and decomposed) match', async () => {
    const w = await world([entry('zo\u00eb@schule.de', 'etwinning', 'et-zoe')]);
    expect((await w.register('u1', 'ZOE\u0308@SCHULE.DE')).legacyAccountId).toBe('et-zoe');
  });

  test('ID-8: an address shared by two accounts of one platform is never linked, and says nothing more', async () => {
    const w = await world([
      entry('staff@school.eu', 'etwinning', 'a'),
      entry('STAFF@school.eu', 'etwinning', 'b'),
    ]);
    expect(await w.register('u1', 'staff@school.eu')).toEqual({
      esepUserId: 'u1',
      decision: 'not-linked',
      reason: 'AMBIGUOUS_LEGACY_EMAIL',
    });
    expect(w.legacy.size).toBe(0);
  });

  test('ID-4: the first registration decides for ever, linked or not', async () => {
    const w = await world([
      entry('a@school.eu', 'etwinning', 'acc-a'),
      entry('b@school.eu', 'etwinning', 'acc-b'),
    ]);
    expect((await w.register('u1', 'a@school.eu')).reason).toBe('LINKED');
    expect(await w.register('u1', 'b@school.eu')).toEqual({
      esepUserId: 'u1',
      decision: 'not-linked',
      reason: 'LINK_FROZEN',
    });
    expect(await w.identities.size).toBe(2);
    expect(w.links.get('u1')?.legacyAccountId).toBe('acc-a');
    expect(w.legacy.get('acc-b')).toBeUndefined();
    expect((await w.register('u2', 'nobody@school.eu')).reason).toBe('NO_LEGACY_MATCH');
    expect((await w.register('u2', 'b@school.eu')).reason).toBe('LINK_FROZEN');
    expect(w.legacy.get('acc-b')).toBeUndefined();
  });

  test('a legacy account links to one ESEP user; a second user reads no match (ID-5: nothing is revealed)', async () => {
    const w = await world([entry('a@school.eu', 'etwinning', 'acc-a')]);
    await w.register('u1', 'a@school.eu');
    expect(await w.register('u2', 'A@school.eu')).toEqual({
      esepUserId: 'u2',
      decision: 'not-linked',
      reason: 'NO_LEGACY_MATCH',
    });
    expect(w.legacy.get('acc-a')).toBe('u1');
  });

  test('two deliveries of one event at once give one link, and the claim stays', async () => {
    const w = await world([entry('a@school.eu', 'etwinning', 'acc-a')]);
    const outcomes = await Promise.all([w.register('u1', 'a@school.eu'), w.register('u1', 'a@school.eu')]);
    expect(outcomes.map((o) => o.reason).sort()).toEqual(['LINKED', 'LINK_FROZEN']);
    expect(w.links.get('u1')?.legacyAccountId).toBe('acc-a');
    expect(w.legacy.get('acc-a')).toBe('u1');
  });

  test('two users competing for one account at once: exactly one gets it', async () => {
    const w = await world([entry('a@school.eu', 'etwinning', 'acc-a')]);
    const outcomes = await Promise.all([w.register('u1', 'a@school.eu'), w.register('u2', 'a@school.eu')]);
    expect(outcomes.filter((o) => o.decision === 'linked')).toHaveLength(1);
    const winner = outcomes.find((o) => o.decision === 'linked')?.esepUserId;
    expect(w.legacy.get('acc-a')).toBe(winner);
  });

  test('one user registering twice at once with two addresses keeps one account and releases the other', async () => {
    const w = await world([
      entry('a@school.eu', 'etwinning', 'acc-a'),
      entry('b@school.eu', 'etwinning', 'acc-b'),
    ]);
    await Promise.all([w.register('u1', 'a@school.eu'), w.register('u1', 'b@school.eu')]);
    const linked = w.links.get('u1')?.legacyAccountId as string;
    expect(['acc-a', 'acc-b']).toContain(linked);
    expect([...w.legacy.entries()]).toEqual([[linked, 'u1']]);
  });

  test('a redelivered event changes nothing', async () => {
    const w = await world([entry('a@school.eu', 'etwinning', 'acc-a')]);
    await w.register('u1', 'a@school.eu');
    const before = JSON.stringify([...w.links, ...w.legacy]);
    expect((await w.register('u1', 'a@school.eu')).reason).toBe('LINK_FROZEN');
    expect(JSON.stringify([...w.links, ...w.legacy])).toBe(before);
  });

  test('the index holds keyed hashes only, and the link document names ids only', () => {
    const key = emailKey(SECRET, 'Maria@School.eu');
    expect(key).not.toMatch(/maria|school/i);
    expect(
      linkDocument({ esepUserId: 'u/1', decision: 'linked', reason: 'LINKED', legacyAccountId: 'acc-a' }),
    ).toEqual({
      key: expect.stringMatching(/^links\/~[A-Za-z0-9_-]+\.json$/),
      document: { esepUserId: 'u/1', legacyAccountId: 'acc-a', reason: 'LINKED' },
    });
    expect(
      linkDocument({ esepUserId: 'u1', decision: 'not-linked', reason: 'NO_LEGACY_MATCH' }),
    ).toBeUndefined();
  });
});

describe('the account-link Lambda (EventBridge event through SQS)', () => {
  test('links from the event detail, writes the link document, and reports only broken records as failed', async () => {
    const w = await world([entry('a@school.eu', 'etwinning', 'acc-a')]);
    const objects = memoryObjects();
    const handler = makeHandler({
      identities: w.store,
      secret: async () => SECRET,
      objects: objects.store,
      migratedBucket: 'migrated',
    });
    const event = (detail: object) => ({
      version: '0',
      id: 'e1',
      source: 'esep.accounts',
      'detail-type': 'ESEP Registration',
      account: '0',
      time: at,
      region: 'eu-west-1',
      resources: [],
      detail,
    });
    const response = await handler(
      sqsEvent(
        ['m1', JSON.stringify(event({ esepUserId: 'u1', email: ' A@School.eu ', registeredAt: at }))],
        ['m2', JSON.stringify(event({ esepUserId: 'u2', email: 'not an address', registeredAt: at }))],
        [
          'm3',
          JSON.stringify({
            ...event({ esepUserId: 'u3', email: 'a@school.eu', registeredAt: at }),
            source: 'someone.else',
          }),
        ],
      ),
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }]);
    expect(w.links.get('u1')?.legacyAccountId).toBe('acc-a');
    expect(JSON.parse(String(objects.objects.get('migrated/links/u1.json')))).toEqual({
      esepUserId: 'u1',
      legacyAccountId: 'acc-a',
      reason: 'LINKED',
    });
  });
});
