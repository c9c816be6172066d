import { eachLimited } from '../concurrency';
import { documentOfFile, isDocumentKey } from '../keys';
import { runResults } from '../pipeline/results';
import type { Run, WorkflowDeps } from '../pipeline/run';
import { buildStagePlan } from '../pipeline/stages';
import type { ObjectStore } from '../ports';
import { decisionsOf, Tally, type Verification } from '../report/summary';
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

/** What one page hands the next; small enough for a state machine payload. */
export interface VerifyState {
  readonly done: boolean;
  /** The last key checked. */
  readonly after?: string;
  /** Documents of the run's waves seen so far, by kind. */
  readonly documents: Readonly<Record<string, number>>;
  readonly checked: Readonly<Record<CheckName, number>>;
  readonly problems: Readonly<Record<CheckName, readonly string[]>>;
  /** Set on the last page. */
  readonly verification?: Verification;
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

export const initialVerifyState = (): VerifyState => ({
  done: false,
  documents: {},
  checked: emptyChecks(() => 0),
  problems: emptyChecks(() => []),
});

/** Strings that must never reach the target: the export's password hashes, logins and e-mail addresses. */
async function forbiddenValues(run: Run, deps: VerifyDeps): Promise<Set<string>> {
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

async function hashOf(objects: ObjectStore, bucket: string, key: string): Promise<string | undefined> {
  const body = await objects.get(bucket, key);
  return body ? sha256Of(body) : undefined;
}

/**
 * One page of verification: up to `budgetMs` of checking objects of the target (and at least one batch),
 * then, once the listing is exhausted, the checks that need the whole run (conservation, documents).
 */
export async function verifyPage(
  run: Run,
  deps: VerifyDeps,
  previous: VerifyState = initialVerifyState(),
  budgetMs = 600_000,
): Promise<VerifyState> {
  const started = Date.now();
  const checked = { ...previous.checked };
  const problems = Object.fromEntries(
    Object.entries(previous.problems).map(([k, v]) => [k, [...v]]),
  ) as Record<CheckName, string[]>;
  const documents: Record<string, number> = { ...previous.documents };
  const problem = (check: CheckName, text: string) => {
    if (problems[check].length < PROBLEMS_KEPT) problems[check].push(text);
    else if (problems[check].length === PROBLEMS_KEPT) problems[check].push('… and more');
  };
  const forbidden = await forbiddenValues(run, deps);
  const withdrawn = new Map((await deps.store.withdrawals(run.scope)).map((w) => [`${w.kind}#${w.id}`, w]));
  const prefix = `${run.exportId}/`;
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
  let after = previous.after;
  let exhausted = false;
  do {
    const keys = await deps.objects.list(bucket, prefix, {
      ...(after ? { startAfter: after } : {}),
      max: PAGE_KEYS,
    });
    if (keys.length === 0) {
      exhausted = true;
      break;
    }
    docs.clear();
    const findings: KeyFinding[] = new Array(keys.length);
    await eachLimited(keys.keys(), KEYS_IN_FLIGHT, async (i) => {
      findings[i] = await checkKey(keys[i] as string);
    });
    for (const found of findings) {
      for (const [check, text] of found.problems) problem(check, text);
      checked.credentials += found.credentials;
      checked['not-migrated'] += found.notMigrated;
      checked.files += found.files;
      if (found.document) documents[found.document] = (documents[found.document] ?? 0) + 1;
    }
    after = keys.at(-1);
    if (keys.length < PAGE_KEYS) {
      exhausted = true;
      break;
    }
  } while (Date.now() - started < budgetMs);
  if (!exhausted) return { done: false, ...(after ? { after } : {}), documents, checked, problems };

  // The whole run: conservation per kind, and one document per migrated record.
  const { files } = await readManifest(deps.source(run.exportId));
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  const tally = new Tally(waves.flatMap((w) => w.kinds));
  // A migrated record withdrawn since has no document to find; it is counted as withdrawn instead.
  const away: Partial<Record<Kind, number>> = {};
  for await (const record of runResults(run, deps)) {
    tally.add(record);
    if (record.decision === 'migrated' && withdrawn.has(`${record.kind}#${record.id}`)) {
      away[record.kind] = (away[record.kind] ?? 0) + 1;
      checked.withdrawn++;
    }
  }
  for (const [kind, c] of Object.entries(tally.counts)) {
    const lines = files.get(kind as Kind)?.records ?? 0;
    checked.conservation++;
    const sum = decisionsOf(c);
    if (sum !== lines) problem('conservation', `${kind}: ${sum} decisions for ${lines} lines`);
    const expected = c.migrated - (away[kind as Kind] ?? 0);
    checked.documents += expected;
    const found = documents[kind] ?? 0;
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
  return {
    done: true,
    documents,
    checked,
    problems,
    verification: { passed: checks.every((c) => c.passed), checks },
  };
}

/** Verifies a whole run in one process (the local `verify` command), page after page. */
export async function verifyRun(run: Run, deps: VerifyDeps): Promise<Verification> {
  let state = initialVerifyState();
  while (!state.done) state = await verifyPage(run, deps, state);
  return state.verification as Verification;
}
