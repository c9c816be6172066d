import { eachLimited } from '../concurrency';
import { PoisonMessageError, parseMessage } from '../errors';
import { IdTable } from '../id-table';
import { chunkId, workKeys } from '../keys';
import type { IdentityStore, IndexedAccount, ObjectStore } from '../ports';
import type { IdentityCounts } from '../report/summary';
import { parseLine, validateRecord } from '../rules/decide';
import { erasedNow } from '../rules/erasure';
import { emailKey } from '../rules/identity';
import { linkAfterIndexing, refKey, writeLinkDocument } from '../rules/linking';
import { readManifest } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import type { RecordOf } from '../rules/schemas';
import { type ChunkLine, type ChunkMessage, ChunkMessageSchema, decodeChunk, exportOfScope } from './chunks';
import { discardChunk, openChunk, recordChunk } from './progress';
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

/** The export's accounts file as lines, each marked when an earlier line had its id (DQ-2). */
async function* accountLines(run: Run, deps: Pick<IndexDeps, 'workflow'>): AsyncGenerator<ChunkLine> {
  const source = deps.workflow.source(run.exportId);
  const file = (await readManifest(source)).files.get('accounts');
  const bytes = file && (await source.open(file.path));
  if (!bytes) return;
  const seen = new IdTable();
  for await (const line of readLines(bytes)) {
    if ('unreadable' in line) continue;
    const parsed = parseLine(line.text);
    const duplicate = parsed.ok && !seen.add(parsed.id);
    yield duplicate ? { ...line, duplicate } : line;
  }
}

/** The standing, schema-valid accounts of some lines of the accounts file, in batches, as the index keeps them. */
async function* accountBatches(
  run: Pick<Run, 'exportId'>,
  lines: Iterable<ChunkLine> | AsyncIterable<ChunkLine>,
  deps: Pick<IndexDeps, 'workflow' | 'secret' | 'identities'>,
): AsyncGenerator<IndexedAccount[]> {
  const { manifest } = await readManifest(deps.workflow.source(run.exportId));
  const secret = await deps.secret();
  // An erased account is indexed nowhere (ER-1): no link, no supersession, as if no export held it.
  const isErased = await erasedNow(deps.identities, deps.secret);
  let batch: IndexedAccount[] = [];
  for await (const line of lines) {
    if ('unreadable' in line || line.duplicate) continue;
    const parsed = parseLine(line.text);
    if (!parsed.ok || isErased(parsed.id)) continue;
    const valid = validateRecord('accounts', parsed.raw);
    if (!valid.ok) continue;
    const account = valid.record as RecordOf<'accounts'>;
    batch.push({
      platform: account.platform,
      accountId: account.id,
      exportId: run.exportId,
      exportedAt: manifest.exportedAt,
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
      // Another export gave this account another e-mail (ID-9): reported, whichever export is the later;
      // so does the corrected content of a replaced export.
      const differs =
        before !== undefined &&
        (before.exportId === mine.exportId && !before.withdrawnIn
          ? before.emailChangedIn === mine.exportId
          : before.emailKey !== mine.emailKey);
      // An account withdrawn with a replaced export stands nowhere: whichever export holds it now gives it.
      if (before && !before.withdrawnIn && !isNewer(mine, before)) {
        if (differs) changed++;
        return; // a later export gives this account's e-mail
      }
      const emailChangedIn = differs
        ? mine.exportId
        : before?.exportId === mine.exportId
          ? before.emailChangedIn
          : undefined;
      const next = { ...mine, ...(emailChangedIn ? { emailChangedIn } : {}) };
      if (!(await identities.putAccount(next, before))) retry.push(mine);
      else if (differs) changed++;
    });
    todo = retry;
  }
  await identities.putEmailEntries(batch.map((a) => ({ emailKey: a.emailKey, account: a })));
  return changed;
}

/** What indexing the accounts of some lines did (the first of the run's two identity stages). */
export async function identifyLines(
  run: Pick<Run, 'exportId'>,
  lines: Iterable<ChunkLine> | AsyncIterable<ChunkLine>,
  deps: IndexDeps,
): Promise<Pick<IdentityCounts, 'indexed' | 'LEGACY_EMAIL_CHANGED' | 'rerun'>> {
  let indexed = 0;
  let changed = 0;
  const rerun = new Set<string>();
  for await (const batch of accountBatches(run, lines, deps)) {
    changed += await recordBatch(batch, deps.identities);
    indexed += batch.length;
    for (const exportId of await releaseAwaited(batch, deps))
      if (exportId !== run.exportId) rerun.add(exportId);
  }
  return { indexed, LEGACY_EMAIL_CHANGED: changed, ...(rerun.size > 0 ? { rerun: [...rerun].sort() } : {}) };
}

/**
 * PR-7 across exports: these accounts, now indexed, own records that chunks of other exports held as
 * ORPHAN_RECORD. Their markers are forgotten, so that each is decided again (with its owner) when its
 * export runs again; the exports to run again. Safe to repeat (markers first, then the entries).
 */
async function releaseAwaited(batch: readonly IndexedAccount[], deps: IndexDeps): Promise<string[]> {
  const { store } = deps.workflow;
  const awaited = await store.awaitedChunks([...new Set(batch.map((a) => a.accountId))]);
  const exports = new Set<string>();
  await eachLimited([...awaited], CONCURRENCY, async ([owner, chunks]) => {
    for (const chunk of chunks) {
      await store.forgetChunk(chunk);
      exports.add(exportOfScope(chunk.scope));
    }
    await store.stopAwaiting(owner);
  });
  return [...exports];
}

/**
 * The second identity stage, once every account of the export is indexed (an ambiguity, ID-8, is then
 * visible): links the pending registrations that these lines' accounts match, moves users from
 * superseded SEG accounts (ID-3), withdraws those accounts' staged data and writes the link documents as
 * the links stand.
 */
export async function linkLines(
  run: Pick<Run, 'exportId'>,
  lines: Iterable<ChunkLine> | AsyncIterable<ChunkLine>,
  deps: IndexDeps,
): Promise<Pick<IdentityCounts, 'linked' | 'relinked' | 'ambiguous' | 'withdrawn'>> {
  let linked = 0;
  let relinked = 0;
  let ambiguous = 0;
  let withdrawn = 0;
  for await (const batch of accountBatches(run, lines, deps)) {
    // Each keyed e-mail once per batch (two accounts of one e-mail would otherwise race for one user).
    const keys = new Map<string, IndexedAccount | undefined>();
    const standing = new Map<string, IndexedAccount>();
    for (const a of batch)
      if (keys.get(a.emailKey) === undefined)
        keys.set(a.emailKey, a.platform === 'etwinning' ? a : undefined);
    await eachLimited([...keys], CONCURRENCY, async ([key, etwinning]) => {
      const done = await linkAfterIndexing(key, deps);
      for (const a of done.accounts) standing.set(refKey(a), a);
      linked += done.linked;
      relinked += done.relinked;
      ambiguous += done.ambiguous;
      if (etwinning) withdrawn += await withdrawFor(etwinning, deps);
    });
    // The link documents as the links now stand: of every standing account with these e-mails, so that
    // an eTwinning account's user is told of an SEG account this export brings (ID-3), whatever the order.
    for (const a of batch) standing.set(refKey(a), a);
    await eachLimited([...standing.values()], CONCURRENCY, async (account) => {
      const holder = await deps.identities.holderOf(account);
      if (holder !== undefined) await writeLinkDocument(holder, deps);
    });
  }
  return { linked, relinked, ambiguous, withdrawn };
}

/**
 * Indexes the export's accounts for linking, whatever the wave (rules ID-6, ID-9), then links what they
 * match: the two identity stages over the whole accounts file in one process (the deployed workflow
 * runs them over chunks). Safe to repeat.
 */
export async function indexIdentities(run: Run, deps: IndexDeps): Promise<IdentityCounts> {
  const first = await identifyLines(run, accountLines(run, deps), deps);
  return { ...first, ...(await linkLines(run, accountLines(run, deps), deps)) };
}

/** Two identity tallies as one. */
export const addIdentities = (a: Partial<IdentityCounts>, b: Partial<IdentityCounts>): IdentityCounts => ({
  indexed: (a.indexed ?? 0) + (b.indexed ?? 0),
  LEGACY_EMAIL_CHANGED: (a.LEGACY_EMAIL_CHANGED ?? 0) + (b.LEGACY_EMAIL_CHANGED ?? 0),
  linked: (a.linked ?? 0) + (b.linked ?? 0),
  relinked: (a.relinked ?? 0) + (b.relinked ?? 0),
  ambiguous: (a.ambiguous ?? 0) + (b.ambiguous ?? 0),
  withdrawn: (a.withdrawn ?? 0) + (b.withdrawn ?? 0),
  ...(a.rerun || b.rerun ? { rerun: [...new Set([...(a.rerun ?? []), ...(b.rerun ?? [])])].sort() } : {}),
});

/** The SEG accounts that this eTwinning account supersedes (the same current keyed e-mail): withdrawn. */
async function withdrawFor(account: IndexedAccount, deps: IndexDeps): Promise<number> {
  const refs = await deps.identities.withEmail(account.emailKey);
  const seg = refs.filter((r) => r.platform === 'seg');
  if (seg.length === 0) return 0;
  const found = await deps.identities.accounts(seg);
  const superseded = [...found.values()].filter((a) => a.emailKey === account.emailKey && !a.withdrawnIn);
  return superseded.length > 0 ? deps.withdrawSuperseded(superseded) : 0;
}

/**
 * One chunk of an identity stage (the index-identities function, fed by its queue): worked once (its
 * marker), its counts kept with the run's report parts for the summary. Every write it makes is keyed by
 * the account or the user, so a redelivered message changes nothing.
 */
export async function processIdentityChunk(
  body: string,
  deps: IndexDeps,
): Promise<{ msg: ChunkMessage; counts?: Partial<IdentityCounts> }> {
  const msg = parseMessage(body, ChunkMessageSchema, 'a chunk message');
  const runId = msg.stage.split('@')[1];
  if ((msg.op !== 'identify' && msg.op !== 'link') || msg.kind !== 'accounts' || !runId)
    throw new PoisonMessageError(`a ${msg.kind} ${msg.op} chunk is not an identity stage's`);
  const { objects, exportsBucket } = deps.workflow;
  const text = await openChunk(msg, deps.workflow);
  if (text === undefined) return { msg };
  const lines = decodeChunk(text);
  const counts =
    msg.op === 'identify'
      ? await identifyLines({ exportId: msg.exportId }, lines, deps)
      : await linkLines({ exportId: msg.exportId }, lines, deps);
  await objects.put(
    exportsBucket,
    workKeys.reportTally(msg.scope, runId, msg.op, msg.chunk),
    JSON.stringify({ op: msg.op, identities: counts }),
    'application/json',
  );
  await recordChunk(
    msg.scope,
    msg.stage,
    chunkId(msg),
    { lines: lines.length, migrated: 0, dropped: 0, quarantined: 0 },
    deps.workflow,
  );
  await discardChunk(msg, deps.workflow);
  return { msg, counts };
}
