import fc from 'fast-check';
import { makeHandler } from '../../functions/account-link/handler';
import { LinkRefusedError } from '../../functions/core/errors';
import { targetKeys } from '../../functions/core/keys';
import type { AccountRef } from '../../functions/core/ports';
import { emailKey } from '../../functions/core/rules/identity';
import { chooseLegacy, linkDocument } from '../../functions/core/rules/linking';
import { AT, account, identityWorld, SECRET } from '../helpers/identity-world';
import { sqsEvent } from '../helpers/sqs';

const et = (accountId: string): AccountRef => ({ platform: 'etwinning', accountId });
const seg = (accountId: string): AccountRef => ({ platform: 'seg', accountId });

describe('chooseLegacy (ID-3, ID-8)', () => {
  test.each<[string, AccountRef[], ReturnType<typeof chooseLegacy>]>([
    ['no account', [], { reason: 'LINK_PENDING' }],
    ['one eTwinning account', [et('a')], { account: et('a') }],
    ['one SEG account', [seg('s')], { account: seg('s') }],
    ['eTwinning over SEG', [seg('s'), et('a')], { account: et('a') }],
    ['eTwinning over two SEG accounts', [seg('s1'), seg('s2'), et('a')], { account: et('a') }],
    ['two eTwinning accounts', [et('a'), et('b'), seg('s')], { reason: 'AMBIGUOUS_LEGACY_EMAIL' }],
    ['two SEG accounts and no eTwinning', [seg('s1'), seg('s2')], { reason: 'AMBIGUOUS_LEGACY_EMAIL' }],
    ['one account twice', [et('a'), et('a')], { account: et('a') }],
  ])('%s', (_, accounts, expected) => {
    expect(chooseLegacy(accounts)).toEqual(expected);
  });
});

describe('registrations in the real timeline (ID-2, ID-4)', () => {
  test('a registration before its export is pending, and links when the export is indexed', async () => {
    const w = identityWorld();
    expect(await w.register('u1', 'Maria.Rossi@School.eu ')).toEqual({
      esepUserId: 'u1',
      decision: 'not-linked',
      reason: 'LINK_PENDING',
    });
    // Kept as a keyed hash of the e-mail, never the e-mail.
    expect(JSON.stringify([...w.links.values(), ...w.pending.keys()])).not.toMatch(/maria|school/i);
    expect([...w.pending.keys()]).toEqual([emailKey(SECRET, 'maria.rossi@school.eu')]);
    const counts = await w.index({
      exportId: 'et-2022',
      kinds: { accounts: [account('acc-1', 'etwinning', 'maria.rossi@school.eu')] },
    });
    expect(counts).toMatchObject({ indexed: 1, linked: 1, relinked: 0 });
    // Repeating the registration answers the current state, with the account and its export (ID-4, ID-9).
    expect(await w.register('u1', 'maria.rossi@school.eu')).toEqual({
      esepUserId: 'u1',
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: 'acc-1',
      platform: 'etwinning',
      exportId: 'et-2022',
    });
    expect(w.linkDocument('u1')).toEqual({
      esepUserId: 'u1',
      legacyAccountId: 'acc-1',
      platform: 'etwinning',
      exportId: 'et-2022',
      reason: 'LINKED',
    });
    expect(w.pending.get(emailKey(SECRET, 'maria.rossi@school.eu'))?.size ?? 0).toBe(0);
  });

  test('ID-4: a later registration with another e-mail changes nothing, before or after linking', async () => {
    const w = identityWorld();
    await w.register('u1', 'first@school.eu');
    expect((await w.register('u1', 'second@school.eu')).reason).toBe('LINK_FROZEN');
    await w.index({
      exportId: 'e1',
      kinds: {
        accounts: [
          account('acc-2', 'etwinning', 'second@school.eu'),
          account('acc-1', 'etwinning', 'first@school.eu'),
        ],
      },
    });
    expect(w.state()).toEqual({ u1: 'etwinning:acc-1' });
    expect(await w.register('u1', 'second@school.eu')).toMatchObject({
      decision: 'linked',
      legacyAccountId: 'acc-1',
    });
    expect(w.holders.get('etwinning#acc-2')).toBeUndefined();
  });

  test('a legacy account links to one ESEP user; a second user with the same e-mail stays pending', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'e1', kinds: { accounts: [account('acc-a', 'etwinning', 'a@school.eu')] } });
    expect((await w.register('u1', 'a@school.eu')).reason).toBe('LINKED');
    expect(await w.register('u2', 'A@school.eu')).toEqual({
      esepUserId: 'u2',
      decision: 'not-linked',
      reason: 'LINK_PENDING',
    });
    expect(w.holders.get('etwinning#acc-a')).toBe('u1');
  });

  test('ID-8: an e-mail shared by two accounts of the winning platform is never linked automatically', async () => {
    const w = identityWorld();
    await w.register('u1', 'staff@school.eu');
    await w.index({
      exportId: 'e1',
      kinds: {
        accounts: [
          account('a', 'etwinning', 'staff@school.eu'),
          account('b', 'etwinning', 'STAFF@school.eu'),
        ],
      },
    });
    expect(await w.register('u1', 'staff@school.eu')).toEqual({
      esepUserId: 'u1',
      decision: 'not-linked',
      reason: 'AMBIGUOUS_LEGACY_EMAIL',
    });
    expect(w.holders.size).toBe(0);
  });
});

describe('identity across exports (ID-3, ID-9)', () => {
  test('SEG first, eTwinning later: the user moves to the eTwinning account (RELINKED); the SEG account is free', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'seg-2022', kinds: { accounts: [account('s-1', 'seg', 'ana@school.pt')] } });
    expect((await w.register('u1', 'ana@school.pt')).legacyAccountId).toBe('s-1');
    const counts = await w.index({
      exportId: 'et-2022',
      kinds: { accounts: [account('e-1', 'etwinning', 'ana@school.pt')] },
    });
    expect(counts).toMatchObject({ relinked: 1 });
    expect(await w.register('u1', 'ana@school.pt')).toEqual({
      esepUserId: 'u1',
      decision: 'linked',
      reason: 'RELINKED',
      legacyAccountId: 'e-1',
      platform: 'etwinning',
      exportId: 'et-2022',
    });
    expect(w.linkDocument('u1')).toMatchObject({ legacyAccountId: 'e-1', platform: 'etwinning' });
    expect(w.holders.get('seg#s-1')).toBeUndefined();
    // A second ESEP user with the same e-mail does not get the eTwinning account.
    expect((await w.register('u2', 'ana@school.pt')).reason).toBe('LINK_PENDING');
  });

  test.each([
    ['an eTwinning account', [account('e-1', 'etwinning', 'staff@school.eu')], 'etwinning#e-1'],
    ['an SEG account', [account('s-1', 'seg', 'staff@school.eu')], 'seg#s-1'],
  ])(
    'ID-8 in two exports: linked to %s, then a later export brings two eTwinning accounts with that e-mail: pending for the support desk, as in the other order',
    async (_, first, held) => {
      const w = identityWorld();
      await w.index({ exportId: 'e1', kinds: { accounts: first } });
      expect((await w.register('u1', 'staff@school.eu')).decision).toBe('linked');
      expect(w.linkDocument('u1')).toBeDefined();
      const later = [
        account('e-2', 'etwinning', 'Staff@school.eu'),
        account('e-3', 'etwinning', 'staff@school.eu'),
      ];
      const counts = await w.index({
        exportId: 'e2',
        kinds: { accounts: later.slice(held.startsWith('seg') ? 0 : 1) },
      });
      expect(counts).toMatchObject({ ambiguous: 1 });
      expect(await w.register('u1', 'staff@school.eu')).toEqual({
        esepUserId: 'u1',
        decision: 'not-linked',
        reason: 'AMBIGUOUS_LEGACY_EMAIL',
      });
      expect(w.linkDocument('u1')).toBeUndefined();
      expect(w.holders.get(held)).toBeUndefined();
      // The support desk links her by hand, to the account she names; running e2 again changes nothing.
      await w.linkByHand('u1', held.startsWith('seg') ? 'e-2' : 'e-1');
      await w.index({ exportId: 'e2', kinds: { accounts: later.slice(held.startsWith('seg') ? 0 : 1) } });
      expect((await w.register('u1', 'staff@school.eu')).decision).toBe('linked');
      expect(w.linkDocument('u1')).toBeDefined();
    },
  );

  test('ID-8 in two exports, stopped after the link went back to pending: the export run again finishes it', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'e1', kinds: { accounts: [account('e-1', 'etwinning', 'staff@school.eu')] } });
    await w.register('u1', 'staff@school.eu');
    // The crash: the link is pending again, its document and its claim are still there.
    const link = w.links.get('u1');
    if (!link?.account) throw new Error('expected a link');
    const { account: _, ...rest } = link;
    w.links.set('u1', {
      ...rest,
      state: 'pending',
      reason: 'AMBIGUOUS_LEGACY_EMAIL',
      version: link.version + 1,
    });
    const second = { exportId: 'e2', kinds: { accounts: [account('e-2', 'etwinning', 'staff@school.eu')] } };
    await w.index(second);
    expect(w.linkDocument('u1')).toBeUndefined();
    expect(w.holders.get('etwinning#e-1')).toBeUndefined();
    expect(w.state()).toEqual({ u1: 'AMBIGUOUS_LEGACY_EMAIL' });
  });

  test('ID-9, run --replace: the corrected content gives the accounts anew; a link on a withdrawn or changed account is taken back', async () => {
    const w = identityWorld();
    const a1 = account('a-1', 'etwinning', 'one@school.eu');
    const first = [
      a1,
      account('a-2', 'etwinning', 'two@school.eu'),
      account('a-3', 'etwinning', 'three@school.eu'),
    ];
    await w.index({ exportId: 'e1', kinds: { accounts: first } });
    for (const [user, email] of [
      ['u1', 'one'],
      ['u2', 'two'],
      ['u3', 'three'],
    ])
      expect((await w.register(user as string, `${email}@school.eu`)).decision).toBe('linked');
    // What withdrawing the replaced run does for each account it staged; then the corrected content:
    // a-1 as it was, a-2 with another e-mail, a-3 gone.
    for (const a of first) await w.withdrawAccount(a.id, 'e1');
    expect(w.state()).toEqual({ u1: 'LINK_PENDING', u2: 'LINK_PENDING', u3: 'LINK_PENDING' });
    const counts = await w.index({
      exportId: 'e1',
      kinds: { accounts: [a1, account('a-2', 'etwinning', 'new@school.eu')] },
    });
    expect(counts).toMatchObject({ indexed: 2, LEGACY_EMAIL_CHANGED: 1, linked: 1 });
    expect(w.state()).toEqual({ u1: 'etwinning:a-1', u2: 'LINK_PENDING', u3: 'LINK_PENDING' });
    expect(w.linkDocument('u1')).toMatchObject({ legacyAccountId: 'a-1' });
    expect([w.linkDocument('u2'), w.linkDocument('u3')]).toEqual([undefined, undefined]);
    // a-3 stands nowhere: the support desk cannot link to it, and a new registration does not find it.
    await expect(w.linkByHand('u3', 'a-3')).rejects.toThrow(/no indexed export holds account a-3/);
    expect((await w.register('u4', 'three@school.eu')).reason).toBe('LINK_PENDING');
    // The same order with only the corrected content: the same links.
    const other = identityWorld();
    await other.index({
      exportId: 'e1',
      kinds: { accounts: [a1, account('a-2', 'etwinning', 'new@school.eu')] },
    });
    for (const [user, email] of [
      ['u1', 'one'],
      ['u2', 'two'],
      ['u3', 'three'],
      ['u4', 'three'],
    ])
      await other.register(user as string, `${email}@school.eu`);
    expect(other.state()).toEqual(w.state());
  });

  test.each([['SEG first'], ['eTwinning first']])(
    'ID-3, %s: the link document names the SEG account it supersedes, whose places in staged spaces are the user’s',
    async (order) => {
      const w = identityWorld();
      const segExport = { exportId: 'seg', kinds: { accounts: [account('s-1', 'seg', 'ana@school.pt')] } };
      const etExport = {
        exportId: 'et',
        kinds: { accounts: [account('e-1', 'etwinning', 'ana@school.pt')] },
      };
      await w.register('u1', 'ana@school.pt');
      for (const spec of order === 'SEG first' ? [segExport, etExport] : [etExport, segExport])
        await w.index(spec);
      expect(w.linkDocument('u1')).toMatchObject({
        legacyAccountId: 'e-1',
        supersedes: [{ platform: 'seg', accountId: 's-1' }],
      });
    },
  );

  test('an account is (platform, id): the same id on the other platform is another account', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'e1', kinds: { accounts: [account('x-1', 'etwinning', 'one@school.eu')] } });
    await w.index({ exportId: 'e2', kinds: { accounts: [account('x-1', 'seg', 'two@school.eu')] } });
    expect((await w.register('u1', 'one@school.eu')).platform).toBe('etwinning');
    expect(await w.register('u2', 'two@school.eu')).toMatchObject({ platform: 'seg', exportId: 'e2' });
  });

  test('LEGACY_EMAIL_CHANGED: counted, the latest export gives the e-mail, and an existing link never moves', async () => {
    const w = identityWorld();
    const v1 = {
      exportId: 'e1',
      exportedAt: '2022-09-01T00:00:00Z',
      kinds: { accounts: [account('a', 'etwinning', 'old@school.eu')] },
    };
    const v2 = {
      exportId: 'e2',
      exportedAt: '2022-11-01T00:00:00Z',
      kinds: { accounts: [account('a', 'etwinning', 'new@school.eu')] },
    };
    expect((await w.index(v1)).LEGACY_EMAIL_CHANGED).toBe(0);
    await w.register('u1', 'old@school.eu');
    expect((await w.index(v2)).LEGACY_EMAIL_CHANGED).toBe(1);
    expect((await w.index(v2)).LEGACY_EMAIL_CHANGED).toBe(1); // a repeat reports the same
    expect((await w.index(v1)).LEGACY_EMAIL_CHANGED).toBe(1); // an older export arriving late sees it too
    expect(await w.register('u1', 'old@school.eu')).toMatchObject({ legacyAccountId: 'a', exportId: 'e2' });
    expect((await w.register('u2', 'new@school.eu')).reason).toBe('LINK_PENDING');
    expect((await w.register('u3', 'old@school.eu')).reason).toBe('LINK_PENDING');
    expect(w.accounts.get('etwinning#a')).toMatchObject({ exportId: 'e2', emailChangedIn: 'e2' });
  });

  test('ID-3: an SEG account superseded after its data was staged has that data withdrawn', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'seg-2022', kinds: { accounts: [account('s-1', 'seg', 'ana@school.pt')] } });
    // The 2023 wave of the SEG export staged the profile, a photo and an activity (as a run writes them).
    const staged = {
      'profile.json': { kind: 'accounts', id: 's-1', wave: '2023', platform: 'seg' },
      'photo/me.png': 'png bytes',
      'activities/ac-1.json': { kind: 'activities', id: 'ac-1', wave: '2023' },
    };
    for (const [key, body] of Object.entries(staged))
      await w.objects.store.put(
        'migrated',
        `${targetKeys.profile('seg-2022', 's-1')}/${key}`,
        typeof body === 'string' ? body : JSON.stringify(body),
      );
    await w.objects.store.put(
      'migrated',
      targetKeys.profileDocument('seg-2022', 's-10'),
      '{"kind":"accounts","id":"s-10","platform":"seg"}',
    );
    await w.pipeline.store.putRunStatus('seg-2022', {
      scope: 's',
      waves: ['2023'],
      state: 'completed',
      at: AT,
    });
    const counts = await w.index({
      exportId: 'et-2022',
      kinds: { accounts: [account('e-1', 'etwinning', 'ana@school.pt')] },
    });
    expect(counts.withdrawn).toBe(1);
    expect([...w.objects.objects.keys()].filter((k) => k.startsWith('migrated/seg-2022/'))).toEqual([
      `migrated/${targetKeys.profileDocument('seg-2022', 's-10')}`,
    ]);
    // Record by record, in the ledger of every run of the export that staged them.
    expect((await w.pipeline.store.withdrawals('s')).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      {
        kind: 'accounts',
        id: 's-1',
        wave: '2023',
        reason: 'SEG_SUPERSEDED',
        at: expect.any(String),
        objects: 2,
      },
      {
        kind: 'activities',
        id: 'ac-1',
        wave: '2023',
        reason: 'SEG_SUPERSEDED',
        at: expect.any(String),
        objects: 1,
      },
    ]);
    expect(
      (
        await w.index({
          exportId: 'et-2022',
          kinds: { accounts: [account('e-1', 'etwinning', 'ana@school.pt')] },
        })
      ).withdrawn,
    ).toBe(0);
  });
});

describe('concurrency and redelivery', () => {
  test('a registration and the indexing of its export at once: linked, whichever comes first', async () => {
    for (let i = 0; i < 5; i++) {
      const w = identityWorld();
      const spec = { exportId: 'e1', kinds: { accounts: [account('a', 'etwinning', 'a@school.eu')] } };
      await Promise.all(
        i % 2
          ? [w.register('u1', 'a@school.eu'), w.index(spec)]
          : [w.index(spec), w.register('u1', 'a@school.eu')],
      );
      expect(w.state()).toEqual({ u1: 'etwinning:a' });
    }
  });

  test('two deliveries of one registration at once give one link; two users at once: exactly one gets it', async () => {
    const w = identityWorld();
    await w.index({
      exportId: 'e1',
      kinds: {
        accounts: [account('a', 'etwinning', 'a@school.eu'), account('b', 'etwinning', 'b@school.eu')],
      },
    });
    const twice = await Promise.all([w.register('u1', 'a@school.eu'), w.register('u1', 'a@school.eu')]);
    expect(twice.map((o) => o.legacyAccountId)).toEqual(['a', 'a']);
    const both = await Promise.all([w.register('u2', 'b@school.eu'), w.register('u3', 'b@school.eu')]);
    expect(both.filter((o) => o.decision === 'linked')).toHaveLength(1);
    expect([...w.holders.entries()].sort()).toEqual([
      ['etwinning#a', 'u1'],
      ['etwinning#b', both.find((o) => o.decision === 'linked')?.esepUserId],
    ]);
  });

  test('one user registering twice at once with two e-mails keeps one account and holds no other', async () => {
    const w = identityWorld();
    await w.index({
      exportId: 'e1',
      kinds: {
        accounts: [account('a', 'etwinning', 'a@school.eu'), account('b', 'etwinning', 'b@school.eu')],
      },
    });
    await Promise.all([w.register('u1', 'a@school.eu'), w.register('u1', 'b@school.eu')]);
    const linked = w.links.get('u1')?.account?.accountId as string;
    expect(['a', 'b']).toContain(linked);
    expect([...w.holders.entries()]).toEqual([[`etwinning#${linked}`, 'u1']]);
  });
});

/**
 * The differential property: every order of registrations, exports, runs of an export again (each
 * user's own registrations in their order, as ID-4 needs) and an erasure request (ER-1) ends in the same
 * links and link documents, and an erased account is linked to no one.
 * (A link's reason, RELINKED or LINKED, is its history and not compared.) Accounts of one platform may share an e-mail, within one export or across exports (ID-8: a later
 * export that makes an e-mail ambiguous takes back the link an earlier one made). One user per e-mail
 * and e-mails that do not change: which user registered first, and a link whose account's e-mail a
 * later export changes (ID-9), are first come first served by rule, tested above on their own.
 */
describe('any order of registrations, exports and an erasure ends in the same links', () => {
  const EMAILS = ['a@s.eu', 'b@s.eu', 'c@s.eu', 'd@s.eu'];
  const world = fc.record({
    accounts: fc.array(
      fc.record({
        email: fc.constantFrom(...EMAILS),
        platform: fc.constantFrom('etwinning' as const, 'seg' as const),
        exportNo: fc.integer({ min: 0, max: 2 }),
      }),
      { maxLength: 8 },
    ),
    users: fc.uniqueArray(
      fc.record({
        email: fc.constantFrom(...EMAILS),
        second: fc.option(fc.constantFrom(...EMAILS), { nil: undefined }),
      }),
      {
        selector: (u) => u.email,
        maxLength: 4,
      },
    ),
    /** Exports run a second time, somewhere in the order. */
    again: fc.subarray([0, 1, 2]),
    /** An account erased on request (ER-1), somewhere in the order. */
    erased: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
  });

  test('property', async () => {
    await fc.assert(
      fc.asyncProperty(world, fc.integer(), async (spec, orderSeed) => {
        const steps = (w: ReturnType<typeof identityWorld>) => {
          const index = (n: number) => () =>
            w.index({
              exportId: `exp-${n}`,
              kinds: {
                accounts: spec.accounts
                  .map((a, i) => ({ ...a, i }))
                  .filter((a) => a.exportNo === n)
                  .map((a) => account(`acc-${a.i}`, a.platform, a.email)),
              },
            });
          const exports = [0, 1, 2].map((n) => [index(n), ...(spec.again.includes(n) ? [index(n)] : [])]);
          const regs = spec.users.map((u, i) => [
            () => w.register(`u${i}`, u.email),
            ...(u.second ? [() => w.register(`u${i}`, u.second as string)] : []),
          ]);
          const erasure =
            spec.erased === undefined || spec.accounts[spec.erased] === undefined
              ? []
              : [
                  [
                    () =>
                      w.erase(
                        `acc-${spec.erased}`,
                        spec.accounts[spec.erased as number]?.platform ?? 'etwinning',
                      ),
                  ],
                ];
          return [...exports, ...regs, ...erasure];
        };
        const runInOrder = async (seed: number | undefined) => {
          const w = identityWorld();
          const queues = steps(w);
          let s = seed ?? 0;
          while (queues.some((q) => q.length > 0)) {
            const open = queues.filter((q) => q.length > 0);
            s = (s * 1103515245 + 12345) % 2147483648;
            const q =
              seed === undefined
                ? (open[0] as (typeof open)[number])
                : (open[s % open.length] as (typeof open)[number]);
            await (q.shift() as () => Promise<unknown>)();
          }
          const users = spec.users.map((_, i) => `u${i}`);
          // A link's reason is how it came to be: RELINKED (ID-3) only in the orders where the SEG
          // account came first and the user moved. History, counted in the report; not the state.
          const documents = users.map((u) => {
            const { reason: _, ...doc } = w.linkDocument(u) ?? { reason: undefined };
            return doc;
          });
          return { links: w.state(), documents };
        };
        const [shuffled, inOrder] = [await runInOrder(Math.abs(orderSeed)), await runInOrder(undefined)];
        expect(shuffled).toEqual(inOrder);
        // An erased account is linked to no one, whenever it was erased.
        if (spec.erased !== undefined)
          expect(Object.values(inOrder.links)).not.toContainEqual(
            expect.stringMatching(`:acc-${spec.erased}$`),
          );
      }),
      { numRuns: 100 },
    );
  });
});

describe('the support desk links by hand (ID-8)', () => {
  const ambiguous = {
    exportId: 'e1',
    kinds: {
      accounts: [account('a', 'etwinning', 'staff@school.eu'), account('b', 'etwinning', 'staff@school.eu')],
    },
  };

  test('an ambiguous registration is linked once, audited (who, when, why; no e-mail)', async () => {
    const w = identityWorld();
    await w.index(ambiguous);
    await w.register('u1', 'staff@school.eu');
    expect(await w.linkByHand('u1', 'b')).toEqual({
      esepUserId: 'u1',
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: 'b',
      platform: 'etwinning',
      exportId: 'e1',
    });
    expect(w.links.get('u1')?.audit).toEqual({
      by: 'nss-pt',
      at: expect.any(String),
      why: 'checked with the school',
    });
    expect(JSON.stringify([...w.links.values()])).not.toContain('@');
    expect(w.linkDocument('u1')).toMatchObject({ legacyAccountId: 'b' });
    // After which ID-4 holds: never again by hand, and a later registration changes nothing.
    await expect(w.linkByHand('u1', 'a')).rejects.toThrow(/already linked/);
    expect((await w.register('u1', 'staff@school.eu')).legacyAccountId).toBe('b');
  });

  test('the same link again, after its command was stopped between the link and its document: it finishes, as it would have', async () => {
    const w = identityWorld();
    await w.index(ambiguous);
    await w.register('u1', 'staff@school.eu');
    const answer = await w.linkByHand('u1', 'b');
    // As the stopped command left it: the link in the table; the pending row and the link document not gone/in.
    const link = w.links.get('u1');
    await w.store.addPending(link?.emailKey as string, 'u1');
    const documentKey = [...w.objects.objects.keys()].find((k) => k.startsWith('migrated/links/')) as string;
    w.objects.objects.delete(documentKey);
    expect(await w.linkByHand('u1', 'b')).toEqual(answer);
    expect(w.linkDocument('u1')).toMatchObject({ legacyAccountId: 'b' });
    expect(await w.store.pending(link?.emailKey as string)).toEqual([]);
    expect(w.links.get('u1')).toEqual(link);
    // Another request is still refused: a link is never changed by hand.
    await expect(w.linkByHand('u1', 'b', { reason: 'another ticket' })).rejects.toThrow(/already linked/);
  });

  test.each([
    ['a user who never registered', 'nobody', 'a', /has not registered/],
    ['an account in no export', 'u1', 'zzz', /no indexed export holds account zzz/],
  ])('refused: %s', async (_, user, accountId, message) => {
    const w = identityWorld();
    await w.index(ambiguous);
    await w.register('u1', 'staff@school.eu');
    await expect(w.linkByHand(user, accountId)).rejects.toThrow(LinkRefusedError);
    await expect(w.linkByHand(user, accountId)).rejects.toThrow(message);
  });

  test('refused for an account another user holds, and for an id on both platforms without its export', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'e1', kinds: { accounts: [account('x', 'etwinning', 'x@school.eu')] } });
    await w.index({ exportId: 'e2', kinds: { accounts: [account('x', 'seg', 'other@school.eu')] } });
    await w.register('u1', 'x@school.eu');
    await w.register('u2', 'nothing@school.eu');
    await expect(w.linkByHand('u2', 'x')).rejects.toThrow(/both platforms/);
    await expect(w.linkByHand('u2', 'x', { exportId: 'e1' })).rejects.toThrow(/another ESEP user/);
    expect(await w.linkByHand('u2', 'x', { exportId: 'e2' })).toMatchObject({ platform: 'seg' });
  });

  test('a link by hand stays where the support desk put it when an eTwinning account arrives', async () => {
    const w = identityWorld();
    await w.index({
      exportId: 's',
      kinds: { accounts: [account('s-1', 'seg', 'ana@school.pt'), account('s-2', 'seg', 'ana@school.pt')] },
    });
    await w.register('u1', 'ana@school.pt');
    await w.linkByHand('u1', 's-2');
    await w.index({ exportId: 'e', kinds: { accounts: [account('e-1', 'etwinning', 'ana@school.pt')] } });
    expect(w.state()).toEqual({ u1: 'seg:s-2' });
  });
});

describe('the account-link Lambda (EventBridge events through SQS)', () => {
  test('registrations and links by hand from the event detail; only broken records fail; a refusal is not retried', async () => {
    const w = identityWorld();
    await w.index({ exportId: 'e1', kinds: { accounts: [account('acc-a', 'etwinning', 'a@school.eu')] } });
    const handler = makeHandler({
      identities: w.store,
      secret: async () => SECRET,
      objects: w.objects.store,
      migratedBucket: 'migrated',
    });
    const event = (detail: object, source = 'esep.accounts', type = 'ESEP Registration') => ({
      version: '0',
      id: 'e1',
      source,
      'detail-type': type,
      account: '0',
      time: AT,
      region: 'eu-west-1',
      resources: [],
      detail,
    });
    const support = (detail: object) => event(detail, 'esep.support', 'ESEP Support Link');
    const response = await handler(
      sqsEvent(
        ['m1', JSON.stringify(event({ esepUserId: 'u1', email: ' A@School.eu ', registeredAt: AT }))],
        ['m2', JSON.stringify(event({ esepUserId: 'u2', email: 'not an address', registeredAt: AT }))],
        [
          'm3',
          JSON.stringify({
            ...event({ esepUserId: 'u3', email: 'a@school.eu', registeredAt: AT }),
            source: 'someone.else',
          }),
        ],
        [
          'm4',
          JSON.stringify(support({ esepUserId: 'u1', legacyAccountId: 'acc-a', reason: 'r', by: 'nss' })),
        ],
        [
          'm5',
          JSON.stringify(support({ esepUserId: 'u1', legacyAccountId: 'acc-a', reason: 'r', by: 'me@x.eu' })),
        ],
      ),
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'm2' },
      { itemIdentifier: 'm3' },
      { itemIdentifier: 'm5' },
    ]);
    expect(w.state()).toEqual({ u1: 'etwinning:acc-a' });
    expect(w.linkDocument('u1')).toEqual({
      esepUserId: 'u1',
      legacyAccountId: 'acc-a',
      platform: 'etwinning',
      exportId: 'e1',
      reason: 'LINKED',
    });
  });

  test('the link document names ids only', () => {
    expect(
      linkDocument({
        esepUserId: 'u/1',
        decision: 'linked',
        reason: 'LINKED',
        legacyAccountId: 'acc-a',
        platform: 'seg',
        exportId: 'e',
      }),
    ).toEqual({
      key: expect.stringMatching(/^links\/~[A-Za-z0-9_-]+\.json$/),
      document: {
        esepUserId: 'u/1',
        legacyAccountId: 'acc-a',
        platform: 'seg',
        exportId: 'e',
        reason: 'LINKED',
      },
    });
    expect(
      linkDocument({ esepUserId: 'u1', decision: 'not-linked', reason: 'LINK_PENDING' }),
    ).toBeUndefined();
  });
});
