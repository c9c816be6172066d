import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dynamoIdentities, dynamoStore } from '../../functions/adapters/dynamo-store';
import { UsageError } from '../../functions/core/errors';
import { receiptKey, reportPrefix } from '../../functions/core/keys';
import type { IdentityStore, LinkOutcome, PipelineStore, Withdrawal } from '../../functions/core/ports';
import { type RunRow, statusPanel } from '../../functions/core/report/status';
import type { Receipt } from '../../functions/core/report/summary';
import { type Erasure, erasureKey } from '../../functions/core/rules/erasure';
import { outcomeOf } from '../../functions/core/rules/linking';
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
    /** The receipt: its file (locally), or a pre-signed link to its page (a deployed stack). */
    readonly receipt: string;
    readonly counts: Receipt['counts'];
    readonly records: Receipt['records'];
  }[];
  /** What was withdrawn from the target again of this account's records (rollback, ID-3), and why. */
  readonly withdrawals: readonly (Withdrawal & { readonly exportId: string })[];
  /** ER-1: when its erasure was recorded, and the ticket that asked for it. */
  readonly erased?: Erasure;
}

/** Where a run's receipt for an account is, and what it says; undefined when the run has none for it. */
type ReceiptOf = (
  run: RunRow,
  accountId: string,
) => Promise<{ readonly receipt: Receipt; readonly where: string } | undefined>;

/**
 * `esep-migrate lookup --account <legacyAccountId> | --user <esepUserId>`: every decision of that account
 * across the exports and waves run (read from the receipts of every run's report), and its link. Looks up
 * by ids only: no e-mail is taken or shown, so it cannot tell whether an e-mail exists. Of the local state
 * folder (its report folders), or with `stack` of a deployed stack (configured as its rollback function;
 * each receipt read from the reports buckets, and given as a pre-signed link to its page).
 */
export async function lookupLocal(options: {
  readonly stateDir: string;
  readonly account?: string;
  readonly user?: string;
  readonly stack?: string;
}): Promise<Lookup> {
  if ((options.account === undefined) === (options.user === undefined))
    throw new UsageError('lookup: give --account <legacyAccountId> or --user <esepUserId>, one of them');
  if (options.stack !== undefined) {
    // The stack's clients are loaded only for a command given --stack: a local lookup answers at once.
    const { rollbackView, withStack } = require('../stack') as typeof import('../stack');
    const { presignedObject } =
      require('../../functions/adapters/s3-objects') as typeof import('../../functions/adapters/s3-objects');
    return withStack(options.stack, async (stack) => {
      const { store, identities, objects, reportsBucket, secret } = await rollbackView(stack);
      return lookupWith(options, store, identities, secret, async (run, accountId) => {
        const base = receiptKey(reportPrefix(run), accountId);
        const text = await objects.getText(reportsBucket, `${base}.json`);
        if (text === undefined) return undefined;
        const where = await presignedObject(
          stack.clients.s3,
          reportsBucket,
          `${base}.html`,
          LOOKUP_LINK_SECONDS,
        );
        return { receipt: JSON.parse(text) as Receipt, where };
      });
    });
  }
  const stateDir = resolve(options.stateDir);
  // Read-only: answers during a run, through the running command.
  const state = await readState(stateDir, notice);
  const release = onInterrupt(() => state.close());
  try {
    const folders = await reportFolders(stateDir);
    return await lookupWith(
      options,
      dynamoStore(state.dynamo, state.table),
      dynamoIdentities(state.dynamo, state.table),
      state.secret,
      async (run, accountId) => {
        const folder = run.reportPrefix && folders.get(run.reportPrefix);
        if (!folder) return undefined;
        const file = join(folder, `${receiptKey('', accountId)}.json`);
        if (!existsSync(file)) return undefined;
        return { receipt: JSON.parse(readFileSync(file, 'utf8')) as Receipt, where: file };
      },
    );
  } finally {
    release();
    await state.close();
  }
}

/** How long the link to a receipt that `lookup --stack` gives stays valid: for the support desk to open it now. */
const LOOKUP_LINK_SECONDS = 3600;

async function lookupWith(
  options: { readonly account?: string; readonly user?: string },
  store: PipelineStore,
  identities: IdentityStore,
  secret: () => Promise<string>,
  receiptOf: ReceiptOf,
): Promise<Lookup> {
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
  const statuses = await store.allRunStatuses();
  const runs = (
    await Promise.all(
      statusPanel(statuses, []).map(async (run) => {
        const found = await receiptOf(run, legacyAccountId);
        if (!found || found.receipt.accountId !== legacyAccountId) return [];
        return [
          {
            exportId: run.exportId,
            waves: run.waves,
            state: run.state,
            receipt: found.where,
            counts: found.receipt.counts,
            records: found.receipt.records,
          },
        ];
      }),
    )
  ).flat();
  // What was withdrawn of this account's records since, in every run of the state that staged them.
  const withdrawals = (
    await Promise.all(
      // Each run scope once (a rolled-back wave has a status row of its own in the same scope).
      [...new Map(statuses.map((r) => [r.scope, r])).values()].map(async (run) =>
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
  const erasures = await identities.erasures();
  const erased = erasures.size === 0 ? undefined : erasures.get(erasureKey(await secret(), legacyAccountId));
  return {
    legacyAccountId,
    ...(link ? { link } : {}),
    runs,
    withdrawals: unique,
    ...(erased ? { erased } : {}),
  };
}
