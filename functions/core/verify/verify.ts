import { eachLimited } from '../concurrency';
import { ForbiddenIndexError, PoisonMessageError } from '../errors';
import { documentOfFile, inPartition, isDocumentKey, type TargetPartition, targetPartitions } from '../keys';
import {
  ExpectedSpool,
  expectedDocuments,
  expectedJoin,
  type JoinState,
  joinExpected,
} from '../pipeline/expected';
import {
  finishPart,
  handOn,
  joinPartition,
  type PartDeps,
  type PartMessage,
  type PartResult,
  partDone,
  splitReport,
  summarise,
  workPart,
} from '../pipeline/report-parts';
import { resultRows, runResultKeys, runResults } from '../pipeline/results';
import { type Run, runOfStatus, type WorkflowDeps } from '../pipeline/run';
import { runFacts } from '../pipeline/run-facts';
import { PARTITIONING, verifyRanges } from '../pipeline/sizing';
import { buildStagePlan, REPORT_STAGES, runIdOf } from '../pipeline/stages';
import type { ChunkQueue, ObjectStore, RunStatus } from '../ports';
import type { IdentityCounts, Summary, Verification } from '../report/summary';
import {
  type CheckName,
  countRun,
  emptyVerifyTally,
  keep,
  mergeVerify,
  type VerifyTally,
  verdict,
} from '../report/verification';
import { type IsErased, NONE_ERASED } from '../rules/erasure';
import { isKind, type Kind } from '../rules/kinds';
import { readManifest } from '../rules/manifest';
import { sha256Of } from '../rules/ndjson';
import { accountsNamed } from '../rules/targets';

/**
 * Verify: reads the target back after a run and checks what the rules promise, independently of the code
 * that wrote it. It pages through the target's listing (so that a run of any size fits in invocations of
 * bounded length) and carries its tallies from page to page in a small state.
 */
const PAGE_KEYS = 500;
/** Keys of a page checked at once (reads of documents, decisions and files). */
const KEYS_IN_FLIGHT = 16;

interface KeyFinding {
  problems: [CheckName, string][];
  credentials: number;
  notMigrated: number;
  files: number;
  /** The kind of a migrated record whose document this is. */
  document?: Kind;
}

export interface VerifyDeps extends WorkflowDeps {
  readonly migratedBucket: string;
  /** ER-1: the accounts erased now (none: no erasure); a document that names one is a problem. */
  readonly erasures?: () => Promise<IsErased>;
}

const FORBIDDEN_FIELDS = new Set(['passwordHash', 'password', 'login', 'email']);

/** A document's strings, each also in lower case (a forbidden value is found in either). */
function stringsIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value, value.toLowerCase());
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsIn(v, into);
  return into;
}

/** Paths in a document that hold a credential field or a forbidden value. */
function credentialPaths(value: unknown, forbidden: ReadonlySet<string>, path = ''): string[] {
  if (typeof value === 'string')
    return forbidden.has(value) || forbidden.has(value.toLowerCase()) ? [path || '(value)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => credentialPaths(v, forbidden, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [
      ...(FORBIDDEN_FIELDS.has(k) ? [`${path}.${k}`] : []),
      ...credentialPaths(v, forbidden, `${path}.${k}`),
    ]);
  return [];
}

/**
 * A file's SHA-256: the one the store kept when the file was copied (S3's additional checksum: no
 * download), or, where the store keeps none (the local stand-in), the hash of its bytes.
 */
async function hashOf(objects: ObjectStore, bucket: string, key: string): Promise<string | undefined> {
  const stored = await objects.storedSha256(bucket, key);
  if (!stored.exists) return undefined;
  if (stored.sha256) return stored.sha256;
  const body = await objects.get(bucket, key);
  return body ? sha256Of(body) : undefined;
}

/** Where a partition's check stopped, and what it found so far. */
export interface PartitionProgress {
  readonly tally: VerifyTally;
  readonly after?: string;
  readonly done: boolean;
}

/** The next keys of a partition's range after `after`, at most `max`. */
async function nextKeys(
  deps: VerifyDeps,
  partition: TargetPartition,
  after: string | undefined,
  max: number,
): Promise<{ keys: string[]; after?: string; exhausted: boolean }> {
  const keys: string[] = [];
  let from = after ?? partition.from;
  while (keys.length < max) {
    const want = Math.min(PAGE_KEYS, max - keys.length);
    const page = await deps.objects.list(deps.migratedBucket, partition.prefix, {
      ...(from ? { startAfter: from } : {}),
      max: want,
    });
    const inRange = partition.to ? page.filter((k) => k < (partition.to as string)) : page;
    keys.push(...inRange);
    from = inRange.at(-1) ?? from;
    if (inRange.length < want) return { keys, ...(from ? { after: from } : {}), exhausted: true };
  }
  return { keys, ...(from ? { after: from } : {}), exhausted: false };
}

/**
 * Checks up to `maxKeys` keys of one partition of the target after `previous.after`, adding what it
 * finds to `previous.tally`; `done` once the partition's listing is exhausted.
 */
export async function verifyPartition(
  run: Run,
  deps: VerifyDeps,
  where: {
    readonly partition: TargetPartition;
    readonly index: number;
    readonly report: string;
    /** The partition's expected documents as the step that joined them kept them (else read back). */
    readonly joined?: readonly string[];
  },
  previous: { tally: VerifyTally; after?: string } = { tally: emptyVerifyTally() },
  maxKeys = 5_000,
): Promise<PartitionProgress> {
  const { partition } = where;
  const checked = { ...previous.tally.checked };
  const problems = Object.fromEntries(
    Object.entries(previous.tally.problems).map(([k, v]) => [k, [...v]]),
  ) as Record<CheckName, string[]>;
  const documents: Record<string, number> = { ...previous.tally.documents };
  const problem = (check: CheckName, text: string) => keep(problems[check], [text]);
  const facts = runFacts(run, deps);
  const expected = await expectedDocuments(
    deps,
    { scope: run.scope, report: where.report, partition: where.index },
    where.joined,
  );
  const forbidden = await facts.forbidden().catch((error: unknown) => {
    if (!(error instanceof ForbiddenIndexError)) throw error;
    // A run started before validate wrote the index: its values cannot be checked, which fails the
    // check, said once (the first page of the first partition), rather than failing every page.
    if (where.index === 0 && previous.after === undefined) problem('credentials', error.message);
    return undefined;
  });
  const withdrawn = await facts.withdrawn();
  const isErased = (await deps.erasures?.()) ?? NONE_ERASED;
  const bucket = deps.migratedBucket;
  // Documents read once per page, also when a file's owner was read for the file (promises: keys in flight).
  const docs = new Map<string, Promise<Record<string, unknown> | undefined>>();
  const readDocument = (key: string) => {
    let doc = docs.get(key);
    if (!doc) {
      doc = deps.objects.getText(bucket, key).then((text) => {
        try {
          return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          return undefined;
        }
      });
      docs.set(key, doc);
    }
    return doc;
  };
  /** What one key of the listing adds to the tallies; keys are checked concurrently, folded in key order. */
  const checkKey = async (key: string): Promise<KeyFinding> => {
    const found: KeyFinding = { problems: [], credentials: 0, notMigrated: 0, files: 0 };
    const say = (check: CheckName, text: string) => found.problems.push([check, text]);
    if (!isDocumentKey(key)) {
      // A file must be the file of the document it sits under.
      const owner = documentOfFile(key);
      const doc = owner ? await readDocument(owner) : undefined;
      const fileKeys = [doc?.file, doc?.profilePhoto].map((f) => (f as { key?: string } | undefined)?.key);
      if (!fileKeys.includes(key)) say('not-migrated', `${key}: belongs to no migrated document`);
      return found;
    }
    const doc = await readDocument(key);
    const kind = doc?.kind;
    const id = doc?.id;
    if (!doc || !isKind(kind) || typeof id !== 'string') {
      say('not-migrated', `${key}: not a migrated document`);
      return found;
    }
    found.credentials++;
    const forbiddenHere = forbidden ? await forbidden.among(stringsIn(doc)) : new Set<string>();
    for (const path of credentialPaths(doc, forbiddenHere)) say('credentials', `${key}: ${path}`);
    // Nothing of an erased account, in any wave: not its records, not its place among a space's people.
    if (accountsNamed(doc).some(isErased)) say('withdrawn', `${kind} ${id}: names an erased account (ER-1)`);
    if (!run.waves.includes(String(doc.wave))) return found; // another wave's document
    found.notMigrated++;
    const migrated = expected.get(key);
    const gone = withdrawn.get(`${kind}#${id}`);
    if (gone) say('withdrawn', `${kind} ${id} was withdrawn (${gone.reason}) but is in the target`);
    else if (migrated?.[1] !== kind || migrated[2] !== id)
      say('not-migrated', `${kind} ${id} is in the target but was not migrated by this run`);
    else found.document = kind as Kind;
    for (const file of [doc.file, doc.profilePhoto] as ({ key?: string; sha256?: string } | undefined)[]) {
      if (!file?.key) continue;
      found.files++;
      const hash = await hashOf(deps.objects, bucket, file.key);
      if (hash === undefined) say('files', `${file.key}: missing`);
      else if (hash !== file.sha256)
        say(
          'files',
          `${file.key}: SHA-256 ${hash.slice(0, 12)}… is not ${String(file.sha256).slice(0, 12)}…`,
        );
    }
    return found;
  };
  const { keys, after, exhausted } = await nextKeys(deps, partition, previous.after, maxKeys);
  const findings: KeyFinding[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i += PAGE_KEYS) {
    docs.clear();
    await eachLimited(keys.slice(i, i + PAGE_KEYS).keys(), KEYS_IN_FLIGHT, async (j) => {
      findings[i + j] = await checkKey(keys[i + j] as string);
    });
  }
  // The expected documents of the key range this page listed (after the previous page's last key, up to
  // this page's, or to the partition's end) that the listing did not find: named, record and key. (A
  // spool object left by a check cut into other partitions may hold keys of others: not this one's.)
  const listed = new Set(keys);
  for (const [key, kind, id] of expected.values()) {
    if (!inPartition(key, partition)) continue;
    if (previous.after !== undefined && key <= previous.after) continue;
    if (!exhausted && after !== undefined && key > after) continue;
    if (!listed.has(key) && !withdrawn.has(`${kind}#${id}`))
      problem(
        'documents',
        `${kind} ${id}: migrated by this run, but its document ${key} is not in the target`,
      );
  }
  for (const found of findings) {
    for (const [check, text] of found.problems) problem(check, text);
    checked.credentials += found.credentials;
    checked['not-migrated'] += found.notMigrated;
    checked.files += found.files;
    if (found.document) documents[found.document] = (documents[found.document] ?? 0) + 1;
  }
  return { tally: { documents, checked, problems }, ...(after ? { after } : {}), done: exhausted };
}

/**
 * Verifies a whole run in one process (the local `verify` command): every partition in turn, page after
 * page, and the run's results counted here rather than by the report's parts.
 */
export async function verifyRun(
  run: Run,
  deps: VerifyDeps,
  maxKeys?: number,
  givenRanges?: number,
): Promise<Verification> {
  const p = deps.partitioning ?? PARTITIONING;
  const { files } = await readManifest(deps.source(run.exportId));
  const ranges =
    givenRanges ??
    verifyRanges(
      [...files.values()].reduce((n, f) => n + f.records, 0),
      p,
    );
  // What the run migrated, spooled by partition as the report's map parts do, under this check's own id.
  const report = `check-${runIdOf(run)}`;
  const keys = await runResultKeys(run, deps);
  for (let part = 0; part * p.reportResults < keys.length; part++) {
    const spool = new ExpectedSpool(ranges);
    for await (const row of resultRows(
      deps,
      keys.slice(part * p.reportResults, (part + 1) * p.reportResults),
    ))
      spool.add(row);
    await spool.write(deps, run.scope, report, part);
  }
  let tally = emptyVerifyTally();
  for (const [index, partition] of targetPartitions(run.exportId, ranges).entries()) {
    const where = { scope: run.scope, report, partition: index };
    for (let join: JoinState & { done: boolean } = { step: 0, done: false }; !join.done; )
      join = await joinExpected(deps, where, join, p.joinObjects);
    let progress: PartitionProgress = { tally: emptyVerifyTally(), done: false };
    while (!progress.done)
      progress = await verifyPartition(run, deps, { partition, index, report }, progress, maxKeys);
    tally = mergeVerify(tally, progress.tally);
  }
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  const counting = countRun(
    await runFacts(run, deps).withdrawn(),
    waves.flatMap((w) => w.kinds),
  );
  for await (const record of runResults(run, deps)) counting.add(record);
  return verdict(tally, counting.counts(), (kind) => files.get(kind)?.records ?? 0);
}

/**
 * One verify part (the verify function, fed by its queue): a page of its partition of the target; the
 * rest of the partition is handed on in a message of its own, with what the page found. The partition's
 * last page records the part (its tally, its marker).
 */
export async function workVerifyPart(msg: PartMessage, deps: PartDeps): Promise<PartResult> {
  if (msg.op !== 'verify') throw new PoisonMessageError(`a ${msg.op} part is not verify's`);
  if (await partDone(msg, deps)) return { msg, done: 'before' };
  if (msg.budget) deps.applyBudget?.(msg.budget);
  const partition = targetPartitions(msg.run.exportId, msg.ranges)[msg.part];
  if (!partition) throw new PoisonMessageError(`verify part ${msg.part} does not exist`);
  // First the join of what the map parts spooled for the partition, a page of their objects at a time;
  // the invocation that ends it goes on to the partition's first page of keys.
  const joined = await joinPartition(
    msg,
    expectedJoin({ scope: msg.run.scope, report: runIdOf(msg.run), partition: msg.part }),
    deps,
  );
  if (!joined) return { msg, done: 'continued' };
  const progress = await verifyPartition(
    msg.run,
    deps,
    {
      partition,
      index: msg.part,
      report: runIdOf(msg.run),
      ...(joined.lines ? { joined: joined.lines } : {}),
    },
    {
      tally: (msg.tally as VerifyTally | undefined) ?? emptyVerifyTally(),
      ...(msg.after ? { after: msg.after } : {}),
    },
    (deps.partitioning ?? PARTITIONING).verifyKeys,
  );
  if (!progress.done) {
    await handOn(
      {
        ...joined.msg,
        tally: progress.tally,
        ...(progress.after ? { after: progress.after } : {}),
      },
      deps,
    );
    return { msg, done: 'continued' };
  }
  const lines = Object.values(progress.tally.checked).reduce((a, b) => a + b, 0);
  return finishPart(msg, { op: 'verify', verify: progress.tally }, lines, deps);
}

/**
 * The whole report of a run in one process, part after part (tests; the same steps as the deployed
 * fan-out): both report stages split into an in-memory queue and worked in turn, then summarised.
 */
export async function reportInProcess(
  run: Run,
  deps: Omit<PartDeps, 'queue'>,
  identities?: IdentityCounts,
): Promise<{ summary: Summary; receipts: number }> {
  const queued: PartMessage[] = [];
  const queue: ChunkQueue = async (_worker, messages) => void queued.push(...(messages as PartMessage[]));
  const all = { ...deps, queue };
  for (const stage of Object.values(REPORT_STAGES)) {
    for (let from: number | undefined = 0; from !== undefined; )
      from = (await splitReport(run, stage, all, from)).next;
    for (let msg = queued.shift(); msg; msg = queued.shift())
      await (msg.op === 'verify' ? workVerifyPart(msg, all) : workPart(msg, all));
  }
  const { summary, receipts } = await summarise(run, all, identities);
  return { summary, receipts };
}

/**
 * The runs of an export that verify stands on: every finished run (the latest row of each scope and set
 * of waves), the withdrawn ones too (their check is that nothing of them remains), oldest first; a row
 * whose waves another row of its scope covers (a wave's rollback row beside its run's) is checked
 * through that run. So a rollback is never the only run verify stands on: whatever was withdrawn last,
 * everything the export still has in the target is checked.
 */
export function runsToVerify(exportId: string, statuses: readonly RunStatus[]): Run[] {
  const latest = new Map<string, RunStatus>();
  for (const s of statuses) {
    if (s.state === 'running') continue;
    const key = `${s.scope}|${s.waves.join(',')}`;
    const seen = latest.get(key);
    if (!seen || seen.at < s.at) latest.set(key, s);
  }
  const rows = [...latest.values()];
  const covered = (r: RunStatus) =>
    rows.some(
      (o) =>
        o !== r &&
        o.scope === r.scope &&
        o.waves.length > r.waves.length &&
        r.waves.every((w) => o.waves.includes(w)),
    );
  return rows
    .filter((r) => !covered(r))
    .sort((a, b) => (a.startedAt ?? a.at).localeCompare(b.startedAt ?? b.at))
    .map((r) => runOfStatus(exportId, r));
}
