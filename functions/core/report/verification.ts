import type { DecidedRecord } from '../rules/decide';
import type { Kind } from '../rules/kinds';
import { type DecisionCounts, decisionsOf, Tally, type Verification } from './summary';

/**
 * Verification's maths (verify/verify reads the target; this counts): the checks, what a part of the
 * target's check found, tallies merged in order, and the verdict over the whole run.
 */
export type CheckName = 'conservation' | 'documents' | 'files' | 'not-migrated' | 'withdrawn' | 'credentials';

export const CHECKS: Readonly<Record<CheckName, string>> = {
  conservation: 'every line of every kind has exactly one decision (conservation per kind)',
  documents: 'every migrated record has its document in the target',
  files: 'every migrated file is in the target with the right SHA-256',
  'not-migrated': 'no dropped or quarantined record, and nothing else, is in the target',
  withdrawn:
    'nothing of a withdrawn record (rollback, replaced export, superseded SEG account, erased account) is in the target',
  credentials: 'no password hash, login or e-mail address of the export is in the target',
};

/** What the checks of part of the target found: small enough for a queue message. */
export interface VerifyTally {
  /** Documents of the run's waves seen, by kind. */
  readonly documents: Readonly<Record<string, number>>;
  readonly checked: Readonly<Record<CheckName, number>>;
  readonly problems: Readonly<Record<CheckName, readonly string[]>>;
}

export const PROBLEMS_KEPT = 10;

export const emptyChecks = <T>(value: () => T) =>
  Object.fromEntries((Object.keys(CHECKS) as CheckName[]).map((c) => [c, value()])) as Record<CheckName, T>;

export const emptyVerifyTally = (): VerifyTally => ({
  documents: {},
  checked: emptyChecks(() => 0),
  problems: emptyChecks(() => []),
});

/** Adds problems to a kept list: the first PROBLEMS_KEPT, then one "… and more". */
export function keep(list: string[], texts: readonly string[]): void {
  for (const text of texts) {
    if (list.length < PROBLEMS_KEPT) list.push(text);
    else if (list.length === PROBLEMS_KEPT) list.push('… and more');
    if (list.length > PROBLEMS_KEPT) return;
  }
}

/** Problem lists as one kept list: their first PROBLEMS_KEPT, then one "… and more" if any had more. */
function keptOf(lists: readonly (readonly string[])[]): string[] {
  const kept: string[] = [];
  keep(
    kept,
    lists.flat().filter((t) => t !== '… and more'),
  );
  if (lists.some((l) => l.includes('… and more'))) keep(kept, ['… and more']);
  return kept;
}

/** Two tallies as one (parts merged in order). */
export function mergeVerify(a: VerifyTally, b: VerifyTally): VerifyTally {
  const documents: Record<string, number> = { ...a.documents };
  for (const [kind, n] of Object.entries(b.documents)) documents[kind] = (documents[kind] ?? 0) + n;
  const checked = emptyChecks(() => 0);
  const problems = emptyChecks((): string[] => []);
  for (const c of Object.keys(CHECKS) as CheckName[]) {
    checked[c] = (a.checked[c] ?? 0) + (b.checked[c] ?? 0);
    problems[c] = keptOf([a.problems[c] ?? [], b.problems[c] ?? []]);
  }
  return { documents, checked, problems };
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
 * The verdicts of several runs of one export as one: each check passed in all of them, what they covered
 * added up, their first problems kept.
 */
export function mergeVerifications(all: readonly Verification[]): Verification {
  const checks = (Object.keys(CHECKS) as CheckName[]).map((name) => {
    const own = all.flatMap((v) => v.checks.filter((c) => c.name === name));
    return {
      name,
      description: CHECKS[name],
      passed: own.every((c) => c.passed),
      checked: own.reduce((n, c) => n + c.checked, 0),
      problems: keptOf(own.map((c) => c.problems)),
    };
  });
  return { passed: checks.every((c) => c.passed), checks };
}
