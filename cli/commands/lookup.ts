import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dynamoIdentities, dynamoStore } from '../../functions/adapters/dynamo-store';
import { UsageError } from '../../functions/core/errors';
import type { LinkOutcome, Withdrawal } from '../../functions/core/ports';
import { statusPanel } from '../../functions/core/report/status';
import type { Receipt } from '../../functions/core/report/summary';
import { outcomeOf } from '../../functions/core/rules/linking';
import { safeIdSegment } from '../../functions/core/rules/safe-name';
import { readState } from '../../local/runtime/read-state';
import { reportFolders } from '../folders';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';

/** What the support desk sees of one legacy account: its link and its records in every run's receipts. */
export interface Lookup {
  readonly legacyAccountId: string;
  /** The ESEP user linked to it, if any (never an e-mail: ID-5). */
  readonly link?: LinkOutcome;
  readonly runs: readonly {
    readonly exportId: string;
    readonly waves: readonly string[];
    readonly state: string;
    readonly receipt: string;
    readonly counts: Receipt['counts'];
    readonly records: Receipt['records'];
  }[];
  /** What was withdrawn from the target again of this account's records (rollback, ID-3), and why. */
  readonly withdrawals: readonly (Withdrawal & { readonly exportId: string })[];
}

/**
 * `esep-migrate lookup --account <legacyAccountId> | --user <esepUserId>`: every decision of that account
 * across the exports and waves run in the state (read from the receipts of every run's report), and its
 * link. Looks up by ids only: no e-mail is taken or shown, so it cannot tell whether an e-mail exists.
 */
export async function lookupLocal(options: {
  readonly stateDir: string;
  readonly account?: string;
  readonly user?: string;
}): Promise<Lookup> {
  if ((options.account === undefined) === (options.user === undefined))
    throw new UsageError('lookup: give --account <legacyAccountId> or --user <esepUserId>, one of them');
  const stateDir = resolve(options.stateDir);
  // Read-only: answers during a run, through the running command.
  const state = await readState(stateDir, notice);
  const release = onInterrupt(() => state.close());
  try {
    const identities = dynamoIdentities(state.dynamo, state.table);
    const store = dynamoStore(state.dynamo, state.table);
    let account = options.account;
    let link: LinkOutcome | undefined;
    const linkOf = async (user: string | undefined) => {
      const stored = user === undefined ? undefined : await identities.userLink(user);
      return stored && outcomeOf(identities, stored);
    };
    if (options.user !== undefined) {
      link = await linkOf(options.user);
      account = link?.legacyAccountId;
      if (!account) return { legacyAccountId: '', ...(link ? { link } : {}), runs: [], withdrawals: [] };
    } else {
      for (const platform of ['etwinning', 'seg'] as const)
        link ??= await linkOf(await identities.holderOf({ platform, accountId: options.account as string }));
    }
    const legacyAccountId = account as string;
    const folders = await reportFolders(stateDir);
    const runs = statusPanel(await store.allRunStatuses(), []).flatMap((run) => {
      const folder = run.reportPrefix && folders.get(run.reportPrefix);
      if (!folder) return [];
      const file = join(folder, 'receipts', `${safeIdSegment(legacyAccountId)}.json`);
      if (!existsSync(file)) return [];
      const receipt = JSON.parse(readFileSync(file, 'utf8')) as Receipt;
      if (receipt.accountId !== legacyAccountId) return [];
      return [
        {
          exportId: run.exportId,
          waves: run.waves,
          state: run.state,
          receipt: file,
          counts: receipt.counts,
          records: receipt.records,
        },
      ];
    });
    // What was withdrawn of this account's records since, in every run of the state that staged them.
    const withdrawals = (
      await Promise.all(
        // Each run scope once (a rolled-back wave has a status row of its own in the same scope).
        [...new Map((await store.allRunStatuses()).map((r) => [r.scope, r])).values()].map(async (run) =>
          (
            await store.withdrawals(run.scope)
          )
            .filter(
              (w) =>
                (w.kind === 'accounts' && w.id === legacyAccountId) ||
                runs.some(
                  (r) =>
                    r.exportId === run.exportId && r.records.some((x) => x.kind === w.kind && x.id === w.id),
                ),
            )
            .map((w) => ({ exportId: run.exportId, ...w })),
        ),
      )
    ).flat();
    const unique = [
      ...new Map(withdrawals.map((w) => [`${w.exportId}#${w.kind}#${w.id}#${w.reason}`, w])).values(),
    ];
    return { legacyAccountId, ...(link ? { link } : {}), runs, withdrawals: unique };
  } finally {
    release();
    await state.close();
  }
}
