import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { targetKeys } from '../../functions/core/keys';
import { account } from '../helpers/identity-world';
import type { ExportSpec } from '../helpers/memory-export';
import {
  ANA,
  activity,
  ET,
  register,
  run,
  STAFF,
  target,
  useTempFolder,
  verified,
} from '../helpers/timeline';

/**
 * The same end state whatever order exports arrive in (issue 26), through the command line on small
 * hand-made exports: a corrected export replacing accounts, the same TwinSpace in two exports, records
 * whose owner arrives in a later export.
 */
jest.setTimeout(300_000);
const tmp = useTempFolder('esep-any-order-');

test('run --replace: a corrected export that changes an account’s e-mail takes back the link its old content made, and says so (ID-9)', async () => {
  const state = join(tmp(), 'state-replace');
  expect((await run(state, ET)).failed).toBe(false);
  expect(await register(state, 'u-ana', ANA)).toMatchObject({ decision: 'linked', legacyAccountId: 'e-1' });
  expect(Object.keys((await target(state, 'links/')).links)).toEqual(['links/u-ana.json']);
  const accounts = ET.kinds.accounts as ReturnType<typeof account>[];
  const corrected = {
    ...ET,
    kinds: {
      ...ET.kinds,
      accounts: [{ ...accounts[0], email: 'ana.other@escola.example.pt' }, ...accounts.slice(1)],
    },
  } as ExportSpec & { exportId: string };
  const replaced = await run(state, corrected, 'all', true);
  expect(replaced.summary.identities).toMatchObject({ indexed: 3, LEGACY_EMAIL_CHANGED: 1 });
  expect(await register(state, 'u-ana', ANA)).toEqual({
    esepUserId: 'u-ana',
    decision: 'not-linked',
    reason: 'LINK_PENDING',
  });
  expect((await target(state, 'links/')).links).toEqual({});
  // The account is still e-1, now with the corrected e-mail: whoever registers with it is linked.
  expect(await register(state, 'u-ana-2', 'ana.other@escola.example.pt')).toMatchObject({
    decision: 'linked',
    legacyAccountId: 'e-1',
  });
});

describe('the same TwinSpace in two exports: the later export (by exportedAt) holds it, whatever order they run in', () => {
  const project = (registeredAt: string) => ({
    id: 'p-fixed',
    title: 'Water',
    registeredAt,
    members: [{ accountId: 'e-1', role: 'founder' }],
  });
  const item = {
    id: 'i-1',
    projectId: 'p-fixed',
    kind: 'page',
    title: 'Our page',
    authorId: 'e-1',
    createdAt: '2019-03-01T00:00:00Z',
  };
  // The first export has it from 2019 (migrated); a corrected export under a new id redates it to 2017.
  const FIRST: ExportSpec & { exportId: string } = {
    exportId: 'ts-first',
    exportedAt: '2022-08-01T00:00:00Z',
    kinds: {
      accounts: [account('e-1', 'etwinning', ANA)],
      projects: [project('2019-01-01T00:00:00Z')],
      'twinspace-items': [item],
    },
  };
  const CORRECTED: ExportSpec & { exportId: string } = {
    ...FIRST,
    exportId: 'ts-corrected',
    exportedAt: '2022-09-01T10:00:00+02:00',
    kinds: { ...FIRST.kinds, projects: [project('2017-01-01T00:00:00Z')] },
  };
  const twinspaces = async (state: string) => [
    ...(await target(state, 'ts-first/twinspaces/')).keys,
    ...(await target(state, 'ts-corrected/twinspaces/')).keys,
  ];

  test('the first export, then the corrected one: the first copy is withdrawn (REPLACED), its receipts say so', async () => {
    const state = join(tmp(), 'state-ts-1');
    expect((await run(state, FIRST, 'sept-2022')).summary.reasons).toMatchObject({ TWINSPACE_ELIGIBLE: 1 });
    expect(await twinspaces(state)).toHaveLength(2);
    const corrected = await run(state, CORRECTED, 'sept-2022');
    expect(corrected.summary.reasons).toMatchObject({ TWINSPACE_BEFORE_CUTOFF: 1, PARENT_NOT_MIGRATED: 1 });
    expect(await twinspaces(state)).toEqual([]);
    const receipt = JSON.parse(
      readFileSync(join(state, 'reports', 'ts-first', 'sept-2022', 'receipts', 'e-1.json'), 'utf8'),
    );
    expect(receipt.withdrawn).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'projects', id: 'p-fixed', reason: 'REPLACED' }),
        expect.objectContaining({ kind: 'twinspace-items', id: 'i-1', reason: 'REPLACED' }),
      ]),
    );
    expect(await verified(state, 'ts-first')).toMatchObject({ passed: true });
    expect(await verified(state, 'ts-corrected')).toMatchObject({ passed: true });
  });

  test('the corrected export first: the earlier export’s copy is never staged (IN_LATER_EXPORT), the same target', async () => {
    const state = join(tmp(), 'state-ts-2');
    await run(state, CORRECTED, 'sept-2022');
    const first = await run(state, FIRST, 'sept-2022');
    expect(first.summary.reasons).toMatchObject({ IN_LATER_EXPORT: 1, PARENT_NOT_MIGRATED: 1 });
    expect(await twinspaces(state)).toEqual([]);
    expect(await verified(state, 'ts-first')).toMatchObject({ passed: true });
  });
});

describe('records whose owner account arrives in a later export (PR-7): decided again with their owner', () => {
  const RECORDS: ExportSpec & { exportId: string } = {
    exportId: 'rec-2022',
    exportedAt: '2022-08-01T00:00:00Z',
    kinds: { accounts: [account('r-1', 'etwinning', STAFF)], activities: [activity('act-1', 'x-1')] },
  };
  const OWNER: ExportSpec & { exportId: string } = {
    exportId: 'own-2022',
    exportedAt: '2022-09-01T00:00:00Z',
    kinds: { accounts: [account('x-1', 'etwinning', 'x@school.example.eu')] },
  };
  const activityKey = targetKeys.profileList('rec-2022', 'x-1', 'activities', 'act-1');

  test('the records first: ORPHAN_RECORD, the owner’s run says to run them again, and the run again migrates them', async () => {
    const state = join(tmp(), 'state-orphans-1');
    expect((await run(state, RECORDS, '2023')).summary.reasons).toMatchObject({ ORPHAN_RECORD: 1 });
    const owner = await run(state, OWNER, '2023');
    expect(owner.summary.identities?.rerun).toEqual(['rec-2022']);
    const again = await run(state, RECORDS, '2023');
    expect(again.summary.reasons).toMatchObject({ ACTIVITY_ELIGIBLE: 1 });
    expect(again.summary.reasons.ORPHAN_RECORD).toBeUndefined();
    expect((await target(state, 'rec-2022/profiles/')).keys).toContain(activityKey);
    expect(await verified(state, 'rec-2022')).toMatchObject({ passed: true });
  });

  test('the owner first: migrated at once, the same target', async () => {
    const state = join(tmp(), 'state-orphans-2');
    await run(state, OWNER, '2023');
    const records = await run(state, RECORDS, '2023');
    expect(records.summary.reasons).toMatchObject({ ACTIVITY_ELIGIBLE: 1 });
    expect((await target(state, 'rec-2022/profiles/')).keys).toContain(activityKey);
  });
});
