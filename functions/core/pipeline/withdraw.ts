import { eachLimited } from '../concurrency';
import { targetKeys } from '../keys';
import type { IndexedAccount, ObjectStore, PipelineStore, Withdrawal } from '../ports';
import { safeIdSegment } from '../rules/safe-name';

/**
 * Withdrawals from the target: what the pipeline wrote for a record, deleted again and recorded in the
 * export's ledger with why (ID-3's superseded SEG accounts, a rolled-back wave, a replaced export). Only
 * keys of the migrated layout that a run wrote are deleted: nothing of anybody else's.
 */
export interface WithdrawDeps {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly migratedBucket: string;
  readonly now?: () => Date;
}

const CONCURRENCY = 16;

/** Deletes these keys of the migrated bucket; how many. */
export async function deleteTargets(keys: readonly string[], deps: WithdrawDeps): Promise<number> {
  await eachLimited(keys, CONCURRENCY, (key) => deps.objects.delete(deps.migratedBucket, key));
  return keys.length;
}

/**
 * ID-3: an SEG account that an eTwinning account supersedes after its data was staged has that data
 * withdrawn: its staged profile, photo and account-owned lists, under every export that staged it (its
 * `profiles/<id>/` prefix). Returns how many accounts had anything withdrawn.
 */
export function supersededWithdrawer(deps: WithdrawDeps) {
  return async (accounts: readonly IndexedAccount[]): Promise<number> => {
    const exports = [...new Set((await deps.store.allRunStatuses()).map((r) => r.exportId))];
    let withdrawn = 0;
    for (const account of accounts) {
      let any = false;
      for (const exportId of exports) {
        const id = safeIdSegment(account.accountId);
        // Only a profile that this SEG account staged (an eTwinning account may have the same id).
        const profile = await deps.objects.getText(
          deps.migratedBucket,
          targetKeys.profileDocument(exportId, id),
        );
        if (!profile || (JSON.parse(profile) as { platform?: string }).platform !== 'seg') continue;
        const keys = await deps.objects.list(deps.migratedBucket, `${targetKeys.profile(exportId, id)}/`);
        const objects = await deleteTargets(keys, deps);
        const entry: Withdrawal = {
          kind: 'accounts',
          id: account.accountId,
          reason: 'SEG_SUPERSEDED',
          at: (deps.now?.() ?? new Date()).toISOString(),
          objects,
        };
        await deps.store.putWithdrawals(exportId, [entry]);
        any = true;
      }
      if (any) withdrawn++;
    }
    return withdrawn;
  };
}
