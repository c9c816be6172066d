import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plan } from '../../cli/commands/plan';
import type { account } from '../helpers/identity-world';
import type { ExportSpec } from '../helpers/memory-export';
import {
  ANA,
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

test('plan in a state that holds other exports decides as run then does: an owner there (PR-7), a TwinSpace a later export holds, an SEG account an eTwinning one supersedes (ID-3)', async () => {
  const state = join(tmp(), 'state-plan');
  const decisions = (outDir: string) => readFileSync(join(outDir, 'decisions.ndjson'), 'utf8');
  const decisionOf = (text: string, kind: string, id: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((d) => d.kind === kind && d.id === id);
  const planIn = async (stateDir: string, spec: typeof ET, name: string) =>
    decisions(
      (await plan({ exportDir: writeExport(spec), stateDir, out: join(tmp(), name), stderr: quiet })).outDir,
    );

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
