import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lookupLocal } from '../../cli/commands/lookup';
import { plan } from '../../cli/commands/plan';
import { targetKeys } from '../../functions/core/keys';
import { account } from '../helpers/identity-world';
import type { ExportSpec } from '../helpers/memory-export';
import {
  ANA,
  activity,
  CROSS_ET,
  CROSS_LATER,
  ET,
  quiet,
  register,
  run,
  SEG,
  target,
  useTempFolder,
  writeExport,
} from '../helpers/timeline';

/**
 * A corrected export replacing accounts, and `plan` in a state that holds other exports (issue 26), through
 * the command line on small hand-made exports.
 * The same TwinSpace in two exports and records whose owner arrives in a later export, in every order:
 * the property test test/reliability/orders.test.ts.
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

const decisions = (outDir: string) => readFileSync(join(outDir, 'decisions.ndjson'), 'utf8');
const decisionOf = (text: string, kind: string, id: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((d) => d.kind === kind && d.id === id);
/** `plan` of an export in a state folder: its decisions.ndjson. */
const planIn = async (stateDir: string, spec: typeof ET, name: string) =>
  decisions(
    (await plan({ exportDir: writeExport(spec), stateDir, out: join(tmp(), name), stderr: quiet })).outDir,
  );

test('plan in a state that holds other exports decides as run then does: an owner there (PR-7), a TwinSpace a later export holds, an SEG account an eTwinning one supersedes (ID-3)', async () => {
  const state = join(tmp(), 'state-plan');

  // Alone, the activity of x-1 has no owner, and the TwinSpace is this export's.
  const alone = await planIn(join(tmp(), 'state-empty'), CROSS_ET, 'plan-alone');
  expect(decisionOf(alone, 'activities', 'ea-2')).toMatchObject({ reason: 'ORPHAN_RECORD' });
  expect(decisionOf(alone, 'projects', 'p-shared')).toMatchObject({ decision: 'migrated' });

  expect((await run(state, CROSS_LATER)).failed).toBe(false);
  const planned = await planIn(state, CROSS_ET, 'plan-et');
  expect(decisionOf(planned, 'activities', 'ea-2')).toMatchObject({ decision: 'migrated' });
  expect(decisionOf(planned, 'projects', 'p-shared')).toMatchObject({ reason: 'IN_LATER_EXPORT' });
  expect(decisionOf(planned, 'twinspace-items', 'i-1')).toMatchObject({ reason: 'PARENT_NOT_MIGRATED' });
  const ran = await run(state, CROSS_ET);
  expect(decisions(ran.outDir)).toBe(planned);

  // The SEG export after the eTwinning one: Ana's SEG account is superseded, in the plan as in the run.
  const segPlanned = await planIn(state, SEG, 'plan-seg');
  expect(decisionOf(segPlanned, 'accounts', 's-1')).toMatchObject({ reason: 'SEG_SUPERSEDED' });
  expect(decisions((await run(state, SEG)).outDir)).toBe(segPlanned);
});

/**
 * ID-9 for accounts: an account in two exports that both run the profile wave. The later export (by
 * exportedAt) gives its profile, and its records of the kinds it carries (portfolio here); the earlier
 * export's records of a kind the later one lacks (activities) are the only copy and stay. An event in
 * both is the later export's too. Either order.
 */
const event = (title: string) => ({
  id: 'ev-1',
  organiserId: 'e-1',
  organiserRole: 'NSO',
  title,
  startsAt: '2022-03-01T09:00:00Z',
  participantIds: ['e-7'],
});
const EARLY: ExportSpec & { exportId: string } = {
  exportId: 'acc-early',
  exportedAt: '2022-09-01T00:00:00Z',
  kinds: {
    accounts: [account('e-1', 'etwinning', ANA), account('e-7', 'etwinning', 'e7@school.example.eu')],
    activities: [activity('aa-1', 'e-1')],
    events: [event('Kick-off')],
    portfolio: [
      { id: 'pf-1', accountId: 'e-1', kind: 'prize', title: 'Prize', awardedAt: '2020-05-01T00:00:00Z' },
      { id: 'pf-7', accountId: 'e-7', kind: 'prize', title: 'Prize', awardedAt: '2020-05-01T00:00:00Z' },
    ],
  },
};
const LATE: ExportSpec & { exportId: string } = {
  exportId: 'acc-late',
  exportedAt: '2022-10-01T00:00:00Z',
  kinds: {
    accounts: [account('e-1', 'etwinning', ANA)],
    events: [event('Kick-off, corrected')],
    portfolio: [
      { id: 'pf-1', accountId: 'e-1', kind: 'prize', title: 'Prize 2022', awardedAt: '2020-05-01T00:00:00Z' },
    ],
  },
};

test('an account in two exports is staged once, from the later, with its records of the kinds the later carries; in either order (ID-9)', async () => {
  const endState = async (state: string) => {
    const seen = await lookupLocal({ stateDir: state, account: 'e-1' });
    const decisions: Record<string, string> = {};
    for (const r of seen.runs)
      for (const d of r.records) decisions[`${r.exportId} ${d.kind} ${d.id}`] = `${d.decision} ${d.reason}`;
    for (const w of seen.withdrawals) decisions[`${w.exportId} ${w.kind} ${w.id}`] = `dropped ${w.reason}`;
    const keys = (await target(state, 'acc-')).keys.filter((k) => !k.includes('/e-7/') || k.includes('pf-7'));
    return { decisions, keys: keys.sort() };
  };
  const orders = [
    [EARLY, LATE],
    [LATE, EARLY],
  ];
  const states = [];
  for (const [i, order] of orders.entries()) {
    const state = join(tmp(), `state-accounts-${i}`);
    for (const spec of order) {
      // The earlier export second: plan decides as the run then does.
      const planned = spec === EARLY && i === 1 ? await planIn(state, EARLY, 'plan-early') : undefined;
      const ran = await run(state, spec);
      expect(ran.failed).toBe(false);
      if (planned !== undefined) expect(decisions(ran.outDir)).toBe(planned);
    }
    states.push(await endState(state));
  }
  const [first, second] = states;
  expect(second).toEqual(first);
  expect(first?.decisions).toEqual({
    'acc-early accounts e-1': 'dropped IN_LATER_EXPORT',
    'acc-early portfolio pf-1': 'dropped IN_LATER_EXPORT',
    'acc-early activities aa-1': 'migrated ACTIVITY_ELIGIBLE',
    'acc-early events ev-1': 'dropped IN_LATER_EXPORT',
    'acc-late accounts e-1': 'migrated PROFILE_MIGRATED',
    'acc-late events ev-1': 'migrated EVENT_ELIGIBLE',
    'acc-late portfolio pf-1': 'migrated PORTFOLIO_MIGRATED',
  });
  const profileOf = (exportId: string) => targetKeys.profile(exportId, 'e-1');
  expect(first?.keys.filter((k) => k.startsWith(profileOf('acc-late')))).toEqual([
    `${profileOf('acc-late')}/portfolio/pf-1.json`,
    `${profileOf('acc-late')}/profile.json`,
  ]);
  expect(first?.keys.filter((k) => k.startsWith(profileOf('acc-early')))).toEqual([
    `${profileOf('acc-early')}/activities/aa-1.json`,
  ]);
  expect(first?.keys.filter((k) => k.includes('/events/'))).toEqual([targetKeys.event('acc-late', 'ev-1')]);
  // The account only the earlier export holds is its own, with its records.
  expect(first?.keys.filter((k) => k.includes('pf-7'))).toHaveLength(1);
});

test('records first, their owner in a later export: the records’ export runs again by itself and decides them with their owner (PR-7)', async () => {
  const state = join(tmp(), 'state-rerun');
  const first = await run(state, CROSS_ET);
  expect(decisionOf(decisions(first.outDir), 'activities', 'ea-2')).toMatchObject({
    reason: 'ORPHAN_RECORD',
  });
  const later = await run(state, CROSS_LATER);
  expect(later.failed).toBe(false);
  expect(later.summary.identities?.rerun).toEqual([CROSS_ET.exportId]);
  // Nothing run by hand: the later export's run started the earlier one again, and its report folder here
  // is the new one.
  expect(decisionOf(decisions(first.outDir), 'activities', 'ea-2')).toMatchObject({
    decision: 'migrated',
    reason: 'ACTIVITY_ELIGIBLE',
  });
  const seen = await lookupLocal({ stateDir: state, account: 'x-1' });
  expect(
    seen.runs.flatMap((r) =>
      r.records.filter((d) => d.id === 'ea-2').map((d) => `${r.exportId} ${d.reason}`),
    ),
  ).toEqual([`${CROSS_ET.exportId} ACTIVITY_ELIGIBLE`]);
  // Another run of the later export asks for nothing more.
  expect((await run(state, CROSS_LATER)).summary.identities?.rerun).toBeUndefined();
});
