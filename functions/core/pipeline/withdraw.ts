import { eachLimited } from '../concurrency';
import { documentOfFile, isDocumentKey, receiptKey, reportPrefix, targetKeys } from '../keys';
import type {
  ContainerHolder,
  HeldKind,
  IdentityStore,
  IndexedAccount,
  ObjectStore,
  PipelineStore,
  RunStatus,
  Withdrawal,
} from '../ports';
import { receiptFiles } from '../report/receipts';
import type { Receipt } from '../report/summary';
import type { Kind } from '../rules/kinds';
import { withdrawIndexedAccount } from '../rules/linking';
import { safeIdSegment } from '../rules/safe-name';
import { runResults } from './results';
import { changedRuns, type Run, runOfStatus, runsOf, standingWaves, type WorkflowDeps } from './run';
import { buildStagePlan } from './stages';

/**
 * Withdrawals from the target, by the ledger: what a run wrote for a record, deleted again and recorded
 * with why (a rolled-back wave, a replaced export, ID-3's superseded SEG accounts). Only keys that a run
 * wrote are deleted (its results list them), and nothing of the user's: the migrated bucket is versioned.
 */
export interface WithdrawDeps {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly migratedBucket: string;
  /** Where the runs' receipts are (they are told what was withdrawn); absent: no receipts to amend. */
  readonly reportsBucket?: string;
  readonly now?: () => Date;
}

/** What a rollback needs besides: the run's results and the links. */
export interface RollbackDeps extends WithdrawDeps {
  readonly workflow: WorkflowDeps;
  readonly identities: IdentityStore;
}

const CONCURRENCY = 16;

/** A migrated document's own fields: what record it is (a document that is no JSON names nothing). */
function parsedDocument(text: string): { kind?: Kind; id?: string; wave?: string; platform?: string } {
  try {
    return JSON.parse(text) as { kind?: Kind; id?: string; wave?: string; platform?: string };
  } catch {
    return {};
  }
}
const nowOf = (deps: WithdrawDeps) => (deps.now?.() ?? new Date()).toISOString();

/** Deletes these keys of the migrated bucket; how many. */
async function deleteTargets(keys: readonly string[], deps: WithdrawDeps): Promise<number> {
  await eachLimited(keys, CONCURRENCY, (key) => deps.objects.delete(deps.migratedBucket, key));
  return keys.length;
}

/** A migrated document's own fields: what record it is, and whose receipts name it. */
function documentMeta(text: string): {
  kind?: Kind;
  id?: string;
  wave?: string;
  platform?: string;
  owners: string[];
} {
  const doc = parsedDocument(text) as ReturnType<typeof parsedDocument> & {
    legacyAccountId?: unknown;
    accountId?: unknown;
    authorId?: unknown;
    members?: unknown;
  };
  const members = Array.isArray(doc.members)
    ? (doc.members as { accountId?: unknown }[]).map((m) => m?.accountId)
    : [];
  const owners = [doc.legacyAccountId, doc.accountId, doc.authorId, ...members].filter(
    (o): o is string => typeof o === 'string',
  );
  return { ...doc, owners: [...new Set(owners)] };
}

/**
 * Withdraws what an export staged under one record's prefix (a profile with its lists and photo, a
 * TwinSpace or group with its items and files, an event's document), record by record as read from the
 * documents before they go: files first, then documents (a document still there names what remains);
 * recorded in every run of that export, whose receipts are told. A record of a kind `reason` gives none
 * stays, with its files. False when nothing is staged there.
 */
async function withdrawStaged(
  exportId: string,
  prefix: string,
  reason: (kind: Kind) => Withdrawal['reason'] | undefined,
  deps: WithdrawDeps,
): Promise<boolean> {
  // A prefix that names a document (an event's) is that document alone.
  const listed = (await deps.objects.list(deps.migratedBucket, prefix)).filter(
    (key) => !prefix.endsWith('.json') || key === prefix,
  );
  if (listed.length === 0) return false;
  const keys: string[] = [];
  const metas = new Map<string, ReturnType<typeof documentMeta> | undefined>();
  const records = new Map<
    string,
    { kind: Kind; id: string; wave?: string; objects: number; owners: string[] }
  >();
  for (const key of listed) {
    const doc = isDocumentKey(key) ? key : documentOfFile(key);
    if (doc && !metas.has(doc)) {
      const text = await deps.objects.getText(deps.migratedBucket, doc);
      metas.set(doc, text ? documentMeta(text) : undefined);
    }
    const meta = doc ? metas.get(doc) : undefined;
    if (meta?.kind && reason(meta.kind) === undefined) continue;
    keys.push(key);
    if (!doc || !meta?.kind || meta.id === undefined) continue;
    const entry = records.get(doc) ?? {
      kind: meta.kind,
      id: meta.id,
      objects: 0,
      owners: meta.owners,
      ...(meta.wave ? { wave: meta.wave } : {}),
    };
    entry.objects++;
    records.set(doc, entry);
  }
  await deleteTargets(
    keys.filter((k) => !isDocumentKey(k)),
    deps,
  );
  await deleteTargets(keys.filter(isDocumentKey), deps);
  const at = nowOf(deps);
  const byOwner = new Map<string, Withdrawal[]>();
  const entries = [...records.values()].map(({ owners, ...r }): Withdrawal => {
    const entry: Withdrawal = { ...r, reason: reason(r.kind) as Withdrawal['reason'], at };
    for (const owner of owners) byOwner.set(owner, [...(byOwner.get(owner) ?? []), entry]);
    return entry;
  });
  const ofExport = await runsOf(deps.store, exportId);
  for (const scope of new Set(ofExport.map((r) => r.scope))) await deps.store.putWithdrawals(scope, entries);
  for (const run of ofExport) await amendReceipts(run, byOwner, deps);
  return true;
}

/** The platform of the profile an export staged under an account id; undefined when none is staged. */
async function stagedPlatform(exportId: string, id: string, deps: WithdrawDeps): Promise<string | undefined> {
  const profile = await deps.objects.getText(deps.migratedBucket, targetKeys.profileDocument(exportId, id));
  return profile ? parsedDocument(profile).platform : undefined;
}

/**
 * ID-3: an SEG account that an eTwinning account supersedes after its data was staged has that data
 * withdrawn: its staged profile, photo and account-owned lists under every export that staged it, record
 * by record, recorded in every run of that export; its receipts say that its data moved no further.
 */
export function supersededWithdrawer(deps: WithdrawDeps) {
  return async (accounts: readonly IndexedAccount[]): Promise<number> => {
    const runs = await deps.store.allRunStatuses();
    const exports = [...new Set(runs.map((r) => r.exportId))];
    let withdrawn = 0;
    for (const account of accounts) {
      let any = false;
      for (const exportId of exports) {
        const id = safeIdSegment(account.accountId);
        // Only a profile that this SEG account staged (an eTwinning account may have the same id).
        if ((await stagedPlatform(exportId, id, deps)) !== 'seg') continue;
        if (
          await withdrawStaged(exportId, `${targetKeys.profile(exportId, id)}/`, () => 'SEG_SUPERSEDED', deps)
        )
          any = true;
      }
      if (any) withdrawn++;
    }
    return withdrawn;
  };
}

/**
 * ID-9 (pipeline/holders.ts): a later export took a TwinSpace or group (an account: withdrawAccountCopy);
 * what an earlier export staged of it (its document, items and files) is withdrawn, and that export's
 * receipts say so, for the reasons its run would have decided had it come after the later export's: the
 * TwinSpace or group `IN_LATER_EXPORT`, its items `PARENT_NOT_MIGRATED` (the same end state in either
 * order).
 */
export function containerCopyWithdrawer(deps: WithdrawDeps) {
  return async (exportId: string, kind: HeldKind, id: string, by: ContainerHolder): Promise<void> => {
    if (kind === 'accounts') return withdrawAccountCopy(exportId, safeIdSegment(id), by, deps);
    if (kind === 'events') {
      await withdrawStaged(
        exportId,
        targetKeys.event(exportId, safeIdSegment(id)),
        () => 'IN_LATER_EXPORT',
        deps,
      );
      return;
    }
    const area = kind === 'projects' ? 'twinspaces' : 'groups';
    await withdrawStaged(
      exportId,
      targetKeys.containerPrefix(exportId, area, safeIdSegment(id)),
      (staged) => (staged === kind ? 'IN_LATER_EXPORT' : 'PARENT_NOT_MIGRATED'),
      deps,
    );
  };
}

/**
 * ID-9: a later export took an account; what an earlier export staged of it is withdrawn: its profile
 * (with its photo) and its records of the kinds the later export carries, `IN_LATER_EXPORT`, as the
 * earlier export decides them when it runs after. Its records of other kinds stay: that export has none
 * to give. Only the account of the holder's platform (an SEG and an eTwinning account may share an id).
 */
async function withdrawAccountCopy(
  exportId: string,
  id: string,
  by: ContainerHolder,
  deps: WithdrawDeps,
): Promise<void> {
  const platform = await stagedPlatform(exportId, id, deps);
  if (platform !== undefined && by.platform !== undefined && platform !== by.platform) return;
  await withdrawStaged(
    exportId,
    `${targetKeys.profile(exportId, id)}/`,
    (staged) => (staged === 'accounts' || by.kinds?.includes(staged) ? 'IN_LATER_EXPORT' : undefined),
    deps,
  );
}

/** The receipts of a run that name withdrawn records are told so (JSON, HTML and text alike). */
async function amendReceipts(
  run: Pick<Run, 'exportId' | 'waves'>,
  byOwner: ReadonlyMap<string, Withdrawal[]>,
  deps: WithdrawDeps,
): Promise<void> {
  const bucket = deps.reportsBucket;
  if (!bucket) return;
  await eachLimited([...byOwner], CONCURRENCY, async ([owner, withdrawn]) => {
    const seen = new Set(withdrawn.map((w) => `${w.kind}#${w.id}`));
    await editReceipt(run, owner, { ...deps, reportsBucket: bucket }, (before) => ({
      ...before,
      withdrawn: [
        ...(before.withdrawn ?? []).filter((w) => !seen.has(`${w.kind}#${w.id}`)),
        ...withdrawn.map(({ kind, id, reason, at }) => ({ kind, id, reason, at })),
      ],
    }));
  });
}

/** Rewrites one account's receipt of a run (JSON, HTML and text alike); false when it has none. */
export async function editReceipt(
  run: Pick<Run, 'exportId' | 'waves'> & { readonly reportPrefix?: string },
  owner: string,
  deps: Pick<WithdrawDeps, 'objects'> & { readonly reportsBucket: string },
  edit: (receipt: Receipt) => Receipt,
): Promise<boolean> {
  const base = receiptKey(reportPrefix(run), owner);
  const text = await deps.objects.getText(deps.reportsBucket, `${base}.json`);
  if (!text) return false;
  for (const file of receiptFiles(edit(JSON.parse(text) as Receipt)))
    await deps.objects.put(deps.reportsBucket, `${base}${file.suffix}`, file.body, file.contentType);
  return true;
}

/**
 * Withdraws what one wave of one run wrote, record by record from its results (documents and copied
 * files), and the link documents that point at its staged profiles; records each withdrawal, tells the
 * receipts, and forgets the wave's chunk markers so that it can run again. Returns the records withdrawn.
 */
async function withdrawWave(
  run: RunStatus & { readonly exportId: string },
  wave: string,
  reason: Withdrawal['reason'],
  deps: RollbackDeps,
): Promise<number> {
  const runRef = runOfStatus(run.exportId, run);
  const at = nowOf(deps);
  let withdrawn = 0;
  let batch: Withdrawal[] = [];
  const byOwner = new Map<string, Withdrawal[]>();
  const flush = async () => {
    await deps.store.putWithdrawals(run.scope, batch);
    batch = [];
  };
  for await (const row of runResults(runRef, deps.workflow, [wave])) {
    if (row.decision !== 'migrated' || !row.targets) continue;
    // Files first, then the document: a document still there names what remains.
    await deleteTargets([...row.targets].reverse(), deps);
    const entry: Withdrawal = { kind: row.kind, id: row.id, reason, at, objects: row.targets.length, wave };
    batch.push(entry);
    for (const owner of row.owners) {
      const list = byOwner.get(owner);
      if (list) list.push(entry);
      else byOwner.set(owner, [entry]);
    }
    withdrawn++;
    if (row.kind === 'accounts' && row.platform) {
      const account = { platform: row.platform, accountId: row.id };
      if (reason === 'REPLACED') await withdrawIndexedAccount(account, run.exportId, deps);
      const holder = await deps.identities.holderOf(account);
      const key = holder === undefined ? undefined : targetKeys.link(safeIdSegment(holder));
      const link = key && (await deps.objects.getText(deps.migratedBucket, key));
      if (key && link && (JSON.parse(link) as { exportId?: string }).exportId === run.exportId)
        await deps.objects.delete(deps.migratedBucket, key);
    }
    if (batch.length >= 500) await flush();
  }
  await flush();
  await amendReceipts(run, byOwner, deps);
  const plan = buildStagePlan(deps.workflow.policy).find((w) => w.wave === wave);
  for (const stage of plan?.stages ?? []) await deps.store.clearChunkMarkers(run.scope, stage.id);
  return withdrawn;
}

/** Records that a wave of a run was withdrawn: the run's own status, and a row of its own for the wave. */
async function markRolledBack(
  run: RunStatus & { readonly exportId: string },
  wave: string,
  reason: Withdrawal['reason'],
  records: number,
  deps: RollbackDeps,
) {
  const at = nowOf(deps);
  const { exportId, ...status } = run;
  const rolledBackWaves = [...(run.rolledBackWaves ?? []), wave];
  await deps.store.putRunStatus(
    exportId,
    rolledBackWaves.length === run.waves.length
      ? { ...status, state: 'rolled-back', at, rolledBackWaves, withdrawnBecause: reason }
      : { ...status, rolledBackWaves },
  );
  if (run.waves.length > 1)
    await deps.store.putRunStatus(exportId, {
      scope: run.scope,
      waves: [wave],
      state: 'rolled-back',
      at,
      ...(run.startedAt ? { startedAt: run.startedAt } : {}),
      counts: { migrated: 0, dropped: 0, quarantined: 0 },
      withdrawnBecause: reason,
      withdrawn: records,
    });
}

/**
 * `rollback <exportId> --wave <id>`: withdraws from the target what that wave of that export wrote, in
 * every run of the export that still has it, by the runs' ledgers. Returns the records withdrawn per run.
 */
export async function rollbackWave(
  exportId: string,
  wave: string,
  deps: RollbackDeps,
  reason: Withdrawal['reason'] = 'ROLLED_BACK',
): Promise<{ scope: string; waves: readonly string[]; withdrawn: number }[]> {
  const out: { scope: string; waves: readonly string[]; withdrawn: number }[] = [];
  for (const run of await runsOf(deps.store, exportId)) {
    if (!standingWaves(run).includes(wave)) continue;
    const withdrawn = await withdrawWave(run, wave, reason, deps);
    await markRolledBack(run, wave, reason, withdrawn, deps);
    out.push({ scope: run.scope, waves: run.waves, withdrawn });
  }
  return out;
}

/** `run --replace` (and an upload of a changed manifest on AWS): every earlier run of other content is withdrawn. */
export async function withdrawReplaced(
  exportId: string,
  files: Readonly<Record<string, string>>,
  deps: RollbackDeps,
): Promise<number> {
  let withdrawn = 0;
  for (const { run } of await changedRuns(exportId, files, deps.store)) {
    const rolledBackWaves = [...(run.rolledBackWaves ?? [])];
    for (const wave of standingWaves(run)) {
      const n = await withdrawWave(run, wave, 'REPLACED', deps);
      await markRolledBack({ ...run, rolledBackWaves }, wave, 'REPLACED', n, deps);
      rolledBackWaves.push(wave);
      withdrawn += n;
    }
  }
  return withdrawn;
}
