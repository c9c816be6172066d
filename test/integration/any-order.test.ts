import { join } from 'node:path';
import type { account } from '../helpers/identity-world';
import type { ExportSpec } from '../helpers/memory-export';
import { ANA, ET, register, run, target, useTempFolder } from '../helpers/timeline';

/**
 * A corrected export replacing accounts (issue 26), through the command line on small hand-made exports.
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
