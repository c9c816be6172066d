import { eachLimited } from '../concurrency';
import { RunInProgressError } from '../errors';
import { decisionsIndex, decisionsPart, isDocumentKey, receiptKey, reportPrefix, targetKeys } from '../keys';
import type { AccountRef, RunStatus, Withdrawal } from '../ports';
import { RECEIPT_SUFFIXES } from '../report/receipts';
import { decisionLine } from '../report/tally';
import type { DecidedRecord } from '../rules/decide';
import {
  checkTicket,
  ERASED_ID,
  type Erasure,
  erasureKey,
  ownedByErased,
  withoutErased,
} from '../rules/erasure';
import { isSpaceKind, type Kind, type SpaceKind } from '../rules/kinds';
import { unlinkErased } from '../rules/linking';
import { safeIdSegment } from '../rules/safe-name';
import { keptPeople } from './holders';
import { runResults } from './results';
import { type Run, runOfStatus, standingWaves } from './run';
import { editReceipt, type RollbackDeps } from './withdraw';

/**
 * `forget --account <platform:id> --reason <ticket>` (ER-1, docs/support-desk.md "Erasure requests"): the
 * erasure is recorded first (so every later run, re-run, replacement or redrive decides the account's
 * records `ERASED`), then everything of the account that the runs wrote is withdrawn: its documents and
 * files, its place in the member lists of TwinSpaces, groups and events, its link, its receipts, the
 * records of it on other accounts' receipts (an event it organised, on its participants'), and its lines
 * in the report folders' decisions (anonymous, their decisions kept for conservation). Each run's ledger
 * says what the run wrote of it; withdrawals are recorded so that `verify` checks that none of it remains.
 * Safe to repeat: a forget that stopped part way is finished by the same command.
 */
export interface ForgetRequest extends AccountRef {
  readonly ticket: string;
}

export interface ForgetDeps extends RollbackDeps {
  /** The identity index's HMAC key: the erasure is kept under the keyed hash of the account id. */
  readonly secret: () => Promise<string>;
}

export interface ForgetOutcome {
  /** The erasure as recorded (an earlier request for the same account stands). */
  readonly erasure: Erasure;
  /** Whether it had been recorded before this command. */
  readonly again: boolean;
  /** Runs whose ledger had something of the account. */
  readonly runs: number;
  /** Objects deleted from the target (documents and files). */
  readonly deleted: number;
  /** Documents rewritten without the account among their members or participants. */
  readonly rewritten: number;
  /** The account's receipts deleted, and other accounts' receipts that named its records. */
  readonly receipts: { readonly deleted: number; readonly amended: number };
  /** Lines of decisions.ndjson made anonymous. */
  readonly decisionLines: number;
  /** Whether an ESEP user's link to the account was taken back now. */
  readonly unlinked: boolean;
  /** The report folders changed (reports bucket prefixes). */
  readonly reports: readonly string[];
  /** What of the account is still there after the withdrawal (empty: nothing). */
  readonly remaining: readonly string[];
}

const CONCURRENCY = 16;

type RunRow = RunStatus & { readonly exportId: string };
const runOf = (r: RunRow): Run => runOfStatus(r.exportId, r);

/** What one run wrote of an account, from its ledger. */
interface Trace {
  /** Keys of the records it owns, as decisions.ndjson names them (`kind#id`). */
  readonly owned: Set<string>;
  /** Its migrated records in the target (documents, then files): withdrawn. */
  readonly withdrawn: { kind: Kind; id: string; wave: string; targets: readonly string[] }[];
  /** Documents that name it among their people (TwinSpaces, groups, events): rewritten without it. */
  readonly shared: { kind: Kind; key: string }[];
  /** Other accounts whose receipts name a record of it (an event's participants): by record. */
  readonly told: Map<string, Set<string>>;
  /** Rows that name it (as owner or among the people): it has a receipt of the run. */
  mentions: number;
  /** Deleted TwinSpaces and groups it was in: the run kept their people (holders.ts HELD_PEOPLE). */
  readonly spaces: { kind: SpaceKind; id: string }[];
}

async function traceOf(row: RunRow, accountId: string, deps: ForgetDeps): Promise<Trace> {
  const run = runOf(row);
  const trace: Trace = {
    owned: new Set(),
    withdrawn: [],
    shared: [],
    told: new Map(),
    mentions: 0,
    spaces: [],
  };
  // A rolled-back wave's records are withdrawn already (their withdrawals say why).
  const standing = new Set(standingWaves(row));
  for await (const r of runResults(run, deps.workflow)) {
    if (r.id === ERASED_ID) continue;
    const owns = r.owners.includes(accountId);
    const member = r.members?.includes(accountId) ?? false;
    if (!owns && !member) continue;
    trace.mentions++;
    if (isSpaceKind(r.kind) && keptPeople(r.kind, r)) trace.spaces.push({ kind: r.kind, id: r.id });
    const doc = r.targets?.[0];
    // What the erasure decides of the record (ER-1): its own are withdrawn, a shared one keeps standing.
    if (!ownedByErased(r.kind, r.owners, (id) => id === accountId)) {
      if (doc && r.decision === 'migrated') trace.shared.push({ kind: r.kind, key: doc });
      continue;
    }
    const key = `${r.kind}#${r.id}`;
    trace.owned.add(key);
    if (r.decision === 'migrated' && r.targets && standing.has(r.wave))
      trace.withdrawn.push({ kind: r.kind, id: r.id, wave: r.wave, targets: r.targets });
    for (const other of r.members ?? [])
      if (other !== accountId) trace.told.set(other, (trace.told.get(other) ?? new Set()).add(key));
  }
  return trace;
}

/** Deletes keys of the migrated bucket that are there, files before documents; how many. */
async function deleteFound(keys: readonly string[], deps: ForgetDeps): Promise<number> {
  let deleted = 0;
  for (const group of [keys.filter((k) => !isDocumentKey(k)), keys.filter(isDocumentKey)])
    await eachLimited(group, CONCURRENCY, async (key) => {
      if (!(await deps.objects.storedSha256(deps.migratedBucket, key)).exists) return;
      await deps.objects.delete(deps.migratedBucket, key);
      deleted++;
    });
  return deleted;
}

/** Rewrites shared documents without the account among their people; how many changed. */
async function rewriteShared(shared: Trace['shared'], accountId: string, deps: ForgetDeps): Promise<number> {
  let rewritten = 0;
  await eachLimited(shared, CONCURRENCY, async ({ kind, key }) => {
    const text = await deps.objects.getText(deps.migratedBucket, key);
    if (!text) return;
    const doc = JSON.parse(text) as Record<string, unknown>;
    const without = withoutErased(kind, doc, (id) => id === accountId);
    if (without === doc) return;
    await deps.objects.put(
      deps.migratedBucket,
      key,
      `${JSON.stringify(without, null, 2)}\n`,
      'application/json',
    );
    rewritten++;
  });
  return rewritten;
}

/** The run's decisions.ndjson parts with the account's lines made anonymous; how many lines. */
async function anonymiseDecisions(run: Run, owned: ReadonlySet<string>, reports: string, deps: ForgetDeps) {
  const prefix = reportPrefix(run);
  const index = await deps.objects.getText(reports, decisionsIndex(prefix));
  if (!index || owned.size === 0) return 0;
  const { parts } = JSON.parse(index) as { parts: number };
  let lines = 0;
  await eachLimited(
    Array.from({ length: parts }, (_, i) => i),
    4,
    async (part) => {
      const key = decisionsPart(prefix, part);
      const text = await deps.objects.getText(reports, key);
      if (!text) return;
      let changed = 0;
      const out = text.split('\n').map((line) => {
        if (line === '') return line;
        const d = JSON.parse(line) as Pick<DecidedRecord, 'kind' | 'id' | 'decision' | 'reason' | 'wave'>;
        if (!owned.has(`${d.kind}#${d.id}`)) return line;
        changed++;
        // The decision stays (the report's counts add up); the record is no longer named.
        return decisionLine({
          kind: d.kind,
          id: ERASED_ID,
          decision: d.decision,
          reason: d.reason,
          wave: d.wave,
          owners: [],
        });
      });
      if (changed === 0) return;
      await deps.objects.put(reports, key, out.join('\n'), 'application/x-ndjson');
      lines += changed;
    },
  );
  return lines;
}

/** What of the account a run still has in the target and the reports (empty: nothing). */
async function remainingOf(run: Run, trace: Trace, accountId: string, deps: ForgetDeps): Promise<string[]> {
  const left: string[] = [];
  for (const w of trace.withdrawn)
    for (const key of w.targets)
      if ((await deps.objects.storedSha256(deps.migratedBucket, key)).exists)
        left.push(`${w.kind} ${w.id}: ${key}`);
  const profile = await deps.objects.list(
    deps.migratedBucket,
    `${targetKeys.profile(run.exportId, safeIdSegment(accountId))}/`,
  );
  for (const key of profile) left.push(`profile: ${key}`);
  for (const { kind, id } of trace.spaces)
    if ((await deps.store.heldPeople(run.scope, kind, [id])).get(id)?.includes(accountId))
      left.push(`${kind} ${id}: the run's people of the deleted space name the account`);
  for (const { kind, key } of trace.shared) {
    const text = await deps.objects.getText(deps.migratedBucket, key);
    const doc = text === undefined ? undefined : (JSON.parse(text) as object);
    if (doc && withoutErased(kind, doc, (id) => id === accountId) !== doc)
      left.push(`${kind} ${key}: names the account among its people`);
  }
  if (deps.reportsBucket) {
    const base = receiptKey(reportPrefix(run), accountId);
    if ((await deps.objects.storedSha256(deps.reportsBucket, `${base}.json`)).exists)
      left.push(`receipt ${base}.json`);
  }
  return left;
}

/** Refuses while a run writes: a chunk decided before the erasure could write the account again. */
async function refuseWhileRunning(runs: readonly RunRow[]): Promise<void> {
  const running = runs.find((r) => r.state === 'running');
  if (running)
    throw new RunInProgressError(
      `export ${running.exportId} is being run (waves ${running.waves.join('+')}, since ${running.startedAt ?? running.at}): forget once it has ended; nothing was recorded`,
    );
}

export async function forgetAccount(request: ForgetRequest, deps: ForgetDeps): Promise<ForgetOutcome> {
  const ticket = checkTicket(request.ticket);
  const { accountId } = request;
  const runs = await deps.store.allRunStatuses();
  await refuseWhileRunning(runs);
  const at = (deps.now?.() ?? new Date()).toISOString();
  const key = erasureKey(await deps.secret(), accountId);
  const erasure = await deps.identities.erase(key, { platform: request.platform, ticket, at });
  const again = erasure.at !== at || erasure.ticket !== ticket;
  const unlinked = await unlinkErased({ platform: request.platform, accountId }, deps);
  let deleted = 0;
  let rewritten = 0;
  let decisionLines = 0;
  const receipts = { deleted: 0, amended: 0 };
  const reports: string[] = [];
  const remaining: string[] = [];
  let touched = 0;
  // A rolled-back wave's own row (`withdrawn` set) reads a part of its run's ledger: the run's row has it all.
  for (const row of runs.filter((r) => r.withdrawn === undefined)) {
    const run = runOf(row);
    const trace = await traceOf(row, accountId, deps);
    const profile = await deps.objects.list(
      deps.migratedBucket,
      `${targetKeys.profile(run.exportId, safeIdSegment(accountId))}/`,
    );
    if (trace.mentions === 0 && profile.length === 0) continue;
    touched++;
    // The withdrawals first: verify expects none of these records in the target from now on.
    const entries: Withdrawal[] = trace.withdrawn.map((w) => ({
      kind: w.kind,
      id: w.id,
      wave: w.wave,
      reason: 'ERASED',
      at,
      objects: w.targets.length,
    }));
    if (entries.length > 0) await deps.store.putWithdrawals(run.scope, entries);
    deleted += await deleteFound([...trace.withdrawn.flatMap((w) => w.targets), ...profile], deps);
    rewritten += await rewriteShared(trace.shared, accountId, deps);
    for (const space of trace.spaces)
      await deps.store.unlistHeldPerson(run.scope, space.kind, space.id, accountId);
    const bucket = deps.reportsBucket;
    if (bucket) {
      decisionLines += await anonymiseDecisions(run, trace.owned, bucket, deps);
      for (const [other, records] of trace.told)
        if (
          await editReceipt(run, other, { ...deps, reportsBucket: bucket }, (r) => ({
            ...r,
            spaces: r.spaces.filter((s) => !records.has(`${s.kind}#${s.id}`)),
          }))
        )
          receipts.amended++;
      // The account's own receipt last: a forget that stopped before it is found again by the same command.
      const base = receiptKey(reportPrefix(run), accountId);
      let found = false;
      for (const suffix of RECEIPT_SUFFIXES) {
        if (!(await deps.objects.storedSha256(bucket, `${base}${suffix}`)).exists) continue;
        await deps.objects.delete(bucket, `${base}${suffix}`);
        found = true;
      }
      if (found) receipts.deleted++;
      reports.push(reportPrefix(run));
    }
    remaining.push(...(await remainingOf(run, trace, accountId, deps)));
  }
  // Its link: no user holds the account any more (the link document went with it).
  if ((await deps.identities.holderOf({ platform: request.platform, accountId })) !== undefined)
    remaining.push('link: an ESEP user still holds the account');
  return {
    erasure,
    again,
    runs: touched,
    deleted,
    rewritten,
    receipts,
    decisionLines,
    unlinked,
    reports: [...new Set(reports)],
    remaining,
  };
}
