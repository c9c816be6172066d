import { eachLimited } from '../concurrency';
import type { IdentityStore, IndexedAccount, ObjectStore } from '../ports';
import type { IdentityCounts } from '../report/summary';
import { parseLine, validateRecord } from '../rules/decide';
import { emailKey } from '../rules/identity';
import { linkAfterIndexing, refKey, writeLinkDocument } from '../rules/linking';
import { readManifest } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import type { RecordOf } from '../rules/schemas';
import type { Run, WorkflowDeps } from './run';

/** Accounts read and written per batch. */
const BATCH = 100;
/** Accounts written, and linked in the second pass, at once. */
const CONCURRENCY = 16;

export interface IndexDeps {
  readonly workflow: WorkflowDeps;
  readonly identities: IdentityStore;
  readonly secret: () => Promise<string>;
  readonly objects: ObjectStore;
  readonly migratedBucket: string;
  /** Withdraws the staged data of SEG accounts that an eTwinning account now supersedes (ID-3). */
  readonly withdrawSuperseded: (accounts: readonly IndexedAccount[]) => Promise<number>;
}

/** Which of two holders of an account is the later export (ID-9): `exportedAt`, then the export id. */
const isNewer = (a: Pick<IndexedAccount, 'exportedAt' | 'exportId'>, b: typeof a) => {
  const d = Date.parse(a.exportedAt) - Date.parse(b.exportedAt);
  return d > 0 || (d === 0 && a.exportId >= b.exportId);
};

/** The standing, schema-valid accounts of the export, in batches, as the index keeps them. */
async function* accountBatches(run: Run, deps: IndexDeps): AsyncGenerator<IndexedAccount[]> {
  const source = deps.workflow.source(run.exportId);
  const manifest = await readManifest(source);
  const file = manifest.files.get('accounts');
  const bytes = file && (await source.open(file.path));
  if (!bytes) return;
  const secret = await deps.secret();
  const seen = new Set<string>();
  let batch: IndexedAccount[] = [];
  for await (const line of readLines(bytes)) {
    if ('unreadable' in line) continue;
    const parsed = parseLine(line.text);
    if (!parsed.ok || seen.has(parsed.id)) continue;
    seen.add(parsed.id);
    const valid = validateRecord('accounts', parsed.raw);
    if (!valid.ok) continue;
    const account = valid.record as RecordOf<'accounts'>;
    batch.push({
      platform: account.platform,
      accountId: account.id,
      exportId: run.exportId,
      exportedAt: manifest.manifest.exportedAt,
      emailKey: emailKey(secret, account.email),
    });
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Records one batch as the latest export has it; how many of it changed e-mail (ID-9). */
async function recordBatch(batch: readonly IndexedAccount[], identities: IdentityStore): Promise<number> {
  let changed = 0;
  let todo = [...batch];
  for (let attempt = 0; todo.length > 0; attempt++) {
    if (attempt > 10) throw new Error(`accounts kept changing while indexed: ${todo.length} left`);
    const current = await identities.accounts(todo);
    const retry: IndexedAccount[] = [];
    await eachLimited(todo, CONCURRENCY, async (mine) => {
      const before = current.get(refKey(mine));
      // Another export gave this account another e-mail (ID-9): reported, whichever export is the later.
      const differs =
        before !== undefined &&
        (before.exportId === mine.exportId
          ? before.emailChangedIn === mine.exportId
          : before.emailKey !== mine.emailKey);
      if (before && !isNewer(mine, before)) {
        if (differs) changed++;
        return; // a later export gives this account's e-mail
      }
      const emailChangedIn =
        before?.exportId === mine.exportId ? before.emailChangedIn : differs ? mine.exportId : undefined;
      const next = { ...mine, ...(emailChangedIn ? { emailChangedIn } : {}) };
      if (!(await identities.putAccount(next, before))) retry.push(mine);
      else if (differs) changed++;
    });
    todo = retry;
  }
  await identities.putEmailEntries(batch.map((a) => ({ emailKey: a.emailKey, account: a })));
  return changed;
}

/**
 * Indexes the export's accounts for linking, whatever the wave (rules ID-6, ID-9): each standing,
 * schema-valid account as `(platform, id)` with the keyed e-mail of the latest export that holds it. Then
 * links the pending registrations they match, moves users from superseded SEG accounts (ID-3), withdraws
 * those accounts' staged data and writes the link documents as the links stand. Safe to repeat.
 */
export async function indexIdentities(run: Run, deps: IndexDeps): Promise<IdentityCounts> {
  let indexed = 0;
  let changed = 0;
  for await (const batch of accountBatches(run, deps)) {
    changed += await recordBatch(batch, deps.identities);
    indexed += batch.length;
  }
  // Second pass, once every account of the export is indexed: an ambiguity (ID-8) is then visible.
  let linked = 0;
  let relinked = 0;
  let withdrawn = 0;
  for await (const batch of accountBatches(run, deps)) {
    // Each keyed e-mail once per batch (two accounts of one e-mail would otherwise race for one user).
    const keys = new Map<string, IndexedAccount | undefined>();
    for (const a of batch)
      if (keys.get(a.emailKey) === undefined)
        keys.set(a.emailKey, a.platform === 'etwinning' ? a : undefined);
    await eachLimited([...keys], CONCURRENCY, async ([key, etwinning]) => {
      const done = await linkAfterIndexing(deps.identities, key);
      linked += done.linked;
      relinked += done.relinked;
      if (etwinning) withdrawn += await withdrawFor(etwinning, deps);
    });
    await eachLimited(batch, CONCURRENCY, async (account) => {
      const holder = await deps.identities.holderOf(account);
      if (holder !== undefined) await writeLinkDocument(holder, deps);
    });
  }
  return { indexed, LEGACY_EMAIL_CHANGED: changed, linked, relinked, withdrawn };
}

/** The SEG accounts that this eTwinning account supersedes (the same current keyed e-mail): withdrawn. */
async function withdrawFor(account: IndexedAccount, deps: IndexDeps): Promise<number> {
  const refs = await deps.identities.withEmail(account.emailKey);
  const seg = refs.filter((r) => r.platform === 'seg');
  if (seg.length === 0) return 0;
  const found = await deps.identities.accounts(seg);
  const superseded = [...found.values()].filter((a) => a.emailKey === account.emailKey);
  return superseded.length > 0 ? deps.withdrawSuperseded(superseded) : 0;
}
