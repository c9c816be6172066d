import { eachLimited } from '../concurrency';
import { documentOfFile, isDocumentKey } from '../keys';
import { runResults } from '../pipeline/results';
import type { Run, WorkflowDeps } from '../pipeline/run';
import { buildStagePlan } from '../pipeline/stages';
import type { ObjectStore, Withdrawal } from '../ports';
import { type DecisionCounts, decisionsOf, Tally, type Verification } from '../report/summary';
import type { DecidedRecord } from '../rules/decide';
import { normaliseEmail } from '../rules/identity';
import { isKind, type Kind } from '../rules/kinds';
import { readManifest } from '../rules/manifest';
import { readLines, sha256Of } from '../rules/ndjson';

/**
 * Verify: reads the target back after a run and checks what the rules promise, independently of the code
 * that wrote it. It pages through the target's listing (so that a run of any size fits in invocations of
 * bounded length) and carries its tallies from page to page in a small state.
 */
export type CheckName = 'conservation' | 'documents' | 'files' | 'not-migrated' | 'withdrawn' | 'credentials';

export const CHECKS: Readonly<Record<CheckName, string>> = {
  conservation: 'every line of every kind has exactly one decision (conservation per kind)',
  documents: 'every migrated record has its document in the target',
  files: 'every migrated file is in the target with the right SHA-256',
  'not-migrated': 'no dropped or quarantined record, and nothing else, is in the target',
  withdrawn:
    'nothing of a withdrawn record (rollback, replaced export, superseded SEG account) is in the target',
  credentials: 'no password hash, login or e-mail address of the export is in the target',
};

/** What the checks of part of the target found: small enough for a queue message. */
export interface VerifyTally {
  /** Documents of the run's waves seen, by kind. */
  readonly documents: Readonly<Record<string, number>>;
  readonly checked: Readonly<Record<CheckName, number>>;
  readonly problems: Readonly<Record<CheckName, readonly string[]>>;
}

/**
 * A partition of the target's listing: the keys under `prefix` after `from` and before `to` (each
 * partition is one range of the listing, so a page of it is one listing call on S3).
 */
export interface TargetPartition {
  readonly prefix: string;
  readonly from?: string;
  readonly to?: string;
}

export const PROBLEMS_KEPT = 10;
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
}

const emptyChecks = <T>(value: () => T) =>
  Object.fromEntries((Object.keys(CHECKS) as CheckName[]).map((c) => [c, value()])) as Record<CheckName, T>;

export const emptyVerifyTally = (): VerifyTally => ({
  documents: {},
  checked: emptyChecks(() => 0),
  problems: emptyChecks(() => []),
});

/** Adds problems to a kept list: the first PROBLEMS_KEPT, then one "… and more". */
function keep(list: string[], texts: readonly string[]): void {
  for (const text of texts) {
    if (list.length < PROBLEMS_KEPT) list.push(text);
    else if (list.length === PROBLEMS_KEPT) list.push('… and more');
    if (list.length > PROBLEMS_KEPT) return;
  }
}

/** Two tallies as one (parts merged in order). */
export function mergeVerify(a: VerifyTally, b: VerifyTally): VerifyTally {
  const documents: Record<string, number> = { ...a.documents };
  for (const [kind, n] of Object.entries(b.documents)) documents[kind] = (documents[kind] ?? 0) + n;
  const checked = emptyChecks(() => 0);
  const problems = emptyChecks((): string[] => []);
  for (const c of Object.keys(CHECKS) as CheckName[]) {
    checked[c] = (a.checked[c] ?? 0) + (b.checked[c] ?? 0);
    keep(
      problems[c],
      [...(a.problems[c] ?? []), ...(b.problems[c] ?? [])].filter((t) => t !== '… and more'),
    );
    if ([a, b].some((t) => (t.problems[c] ?? []).includes('… and more'))) keep(problems[c], ['… and more']);
  }
  return { documents, checked, problems };
}

/** The areas of the migrated layout, in key order. */
const AREAS = ['events', 'groups', 'profiles', 'twinspaces'];
/** First characters of the keys under an area: printable ASCII (safe id segments are, rules/safe-name). */
const FIRST = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const LAST = '~\uffff';

/**
 * The target of an export cut into partitions that verify checks concurrently: one per area and first
 * character of the ids under it, and the ranges between them (before, between and after the areas),
 * where no key may be (verify reports what it finds there). A partition's keys are checked a page at a
 * time, so no invocation's work grows with the export.
 */
export function targetPartitions(exportId: string): TargetPartition[] {
  const root = `${exportId}/`;
  const covered = AREAS.flatMap((area) => FIRST.map((c) => ({ prefix: `${root}${area}/${c}` })));
  const gaps = AREAS.map((area, i) => ({
    prefix: root,
    ...(i > 0 ? { from: `${root}${AREAS[i - 1]}/${LAST}` } : {}),
    to: `${root}${area}/!`,
  }));
  return [...covered, ...gaps, { prefix: root, from: `${root}${AREAS.at(-1)}/${LAST}` }];
}

/** Strings that must never reach the target: the export's password hashes, logins and e-mail addresses. */
async function readForbiddenValues(run: Run, deps: WorkflowDeps): Promise<Set<string>> {
  const source = deps.source(run.exportId);
  const { files } = await readManifest(source);
  const accounts = files.get('accounts');
  const values = new Set<string>();
  const bytes = accounts ? await source.open(accounts.path) : undefined;
  if (!bytes) return values;
  for await (const line of readLines(bytes)) {
    if ('unreadable' in line) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line.text);
    } catch {
      continue;
    }
    // Short values (a login "jan") would match ordinary words; exact matches of 6+ characters only.
    for (const field of ['passwordHash', 'login', 'email']) {
      const v = raw?.[field];
      if (typeof v === 'string' && v.trim().length >= 6) {
        values.add(v);
        if (field === 'email') values.add(normaliseEmail(v));
      }
    }
  }
  return values;
}

const CREDENTIAL_FIELDS = new Set(['passwordHash', 'password', 'login', 'email']);

/** Paths in a document that hold a credential field or a forbidden value. */
function credentialPaths(value: unknown, forbidden: ReadonlySet<string>, path = ''): string[] {
  if (typeof value === 'string')
    return forbidden.has(value) || forbidden.has(value.toLowerCase()) ? [path || '(value)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => credentialPaths(v, forbidden, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [
      ...(CREDENTIAL_FIELDS.has(k) ? [`${path}.${k}`] : []),
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

/**
 * What every part of a run reads once per container, on first use (the export's credentials, the scope's
 * withdrawals), kept with the deps it was read through.
 */
interface RunFacts {
  readonly run: string;
  forbidden?: Promise<Set<string>>;
  withdrawn?: Promise<Map<string, Withdrawal>>;
}
const perRun = new WeakMap<WorkflowDeps, RunFacts>();
export function runFacts(run: Run, deps: WorkflowDeps) {
  let facts = perRun.get(deps);
  if (facts?.run !== `${run.scope}|${run.startedAt}`) {
    facts = { run: `${run.scope}|${run.startedAt}` };
    perRun.set(deps, facts);
  }
  const f = facts;
  return {
    forbidden: () => {
      f.forbidden ??= readForbiddenValues(run, deps);
      return f.forbidden;
    },
    withdrawn: () => {
      f.withdrawn ??= deps.store
        .withdrawals(run.scope)
        .then((all) => new Map(all.map((w) => [`${w.kind}#${w.id}`, w])));
      return f.withdrawn;
    },
  };
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
  partition: TargetPartition,
  previous: { tally: VerifyTally; after?: string } = { tally: emptyVerifyTally() },
  maxKeys = 5_000,
): Promise<PartitionProgress> {
  const checked = { ...previous.tally.checked };
  const problems = Object.fromEntries(
    Object.entries(previous.tally.problems).map(([k, v]) => [k, [...v]]),
  ) as Record<CheckName, string[]>;
  const documents: Record<string, number> = { ...previous.tally.documents };
  const problem = (check: CheckName, text: string) => keep(problems[check], [text]);
  const facts = runFacts(run, deps);
  const forbidden = await facts.forbidden();
  const withdrawn = await facts.withdrawn();
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
    for (const path of credentialPaths(doc, forbidden)) say('credentials', `${key}: ${path}`);
    if (!run.waves.includes(String(doc.wave))) return found; // another wave's document
    found.notMigrated++;
    const decision = await deps.store.decisionOf(run.scope, kind as Kind, id);
    const gone = withdrawn.get(`${kind}#${id}`);
    if (gone) say('withdrawn', `${kind} ${id} was withdrawn (${gone.reason}) but is in the target`);
    else if (decision !== 'migrated')
      say('not-migrated', `${kind} ${id} is ${decision ?? 'undecided'} but in the target`);
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
  for (const found of findings) {
    for (const [check, text] of found.problems) problem(check, text);
    checked.credentials += found.credentials;
    checked['not-migrated'] += found.notMigrated;
    checked.files += found.files;
    if (found.document) documents[found.document] = (documents[found.document] ?? 0) + 1;
  }
  return { tally: { documents, checked, problems }, ...(after ? { after } : {}), done: exhausted };
}

/** What the report's parts counted of the run's decisions, for the checks that need the whole run. */
export interface RunCounts {
  readonly counts: Partial<Record<Kind, DecisionCounts>>;
  /** Migrated records withdrawn since (they have no document to find), by kind. */
  readonly away: Partial<Record<Kind, number>>;
}

/**
 * The verdict over the whole run: the partitions' tally, with conservation per kind and one document per
 * migrated record that is still in the target (counts from the report's parts).
 */
export function verdict(tally: VerifyTally, run: RunCounts, lines: (kind: Kind) => number): Verification {
  const checked = { ...tally.checked };
  const problems = Object.fromEntries(Object.entries(tally.problems).map(([k, v]) => [k, [...v]])) as Record<
    CheckName,
    string[]
  >;
  const problem = (check: CheckName, text: string) => keep(problems[check], [text]);
  checked.withdrawn += Object.values(run.away).reduce((a, b) => a + (b ?? 0), 0);
  for (const [kind, c] of Object.entries(run.counts) as [Kind, DecisionCounts][]) {
    checked.conservation++;
    const sum = decisionsOf(c);
    if (sum !== lines(kind)) problem('conservation', `${kind}: ${sum} decisions for ${lines(kind)} lines`);
    const expected = c.migrated - (run.away[kind] ?? 0);
    checked.documents += expected;
    const found = tally.documents[kind] ?? 0;
    if (found !== expected)
      problem('documents', `${kind}: ${found} documents for ${expected} migrated records in the target`);
  }
  const checks = (Object.keys(CHECKS) as CheckName[]).map((name) => ({
    name,
    description: CHECKS[name],
    passed: problems[name].length === 0,
    checked: checked[name],
    problems: problems[name],
  }));
  return { passed: checks.every((c) => c.passed), checks };
}

/** Counts a run's results: decisions per kind, and migrated records withdrawn since. */
export function countRun(withdrawn: ReadonlyMap<string, unknown>, kinds: Iterable<Kind>) {
  const tally = new Tally(kinds);
  const away: Partial<Record<Kind, number>> = {};
  return {
    add(record: Pick<DecidedRecord, 'kind' | 'id' | 'decision' | 'reason'>) {
      tally.add(record);
      if (record.decision === 'migrated' && withdrawn.has(`${record.kind}#${record.id}`))
        away[record.kind] = (away[record.kind] ?? 0) + 1;
    },
    counts: (): RunCounts => ({ counts: tally.counts, away }),
  };
}

/**
 * Verifies a whole run in one process (the local `verify` command): every partition in turn, page after
 * page, and the run's results counted here rather than by the report's parts.
 */
export async function verifyRun(run: Run, deps: VerifyDeps, maxKeys?: number): Promise<Verification> {
  let tally = emptyVerifyTally();
  for (const partition of targetPartitions(run.exportId)) {
    let progress: PartitionProgress = { tally: emptyVerifyTally(), done: false };
    while (!progress.done) progress = await verifyPartition(run, deps, partition, progress, maxKeys);
    tally = mergeVerify(tally, progress.tally);
  }
  const { files } = await readManifest(deps.source(run.exportId));
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  const counting = countRun(
    await runFacts(run, deps).withdrawn(),
    waves.flatMap((w) => w.kinds),
  );
  for await (const record of runResults(run, deps)) counting.add(record);
  return verdict(tally, counting.counts(), (kind) => files.get(kind)?.records ?? 0);
}
