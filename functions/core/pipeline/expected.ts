import { targetPartitionOf, workKeys } from '../keys';
import { type JoinState, joinedLines, joinSpool, type SpoolJoin } from './page-fold';
import { PartitionSpool, putSpool, type SpoolObject } from './partition-spool';
import type { ResultRow } from './results';
import type { WorkflowDeps } from './run';

export type { JoinState } from './page-fold';

/**
 * What verify expects in each partition of the target: the documents the run migrated, by key, with the
 * record they belong to. The table holds no row per record, so the run's ledger (its result objects) is
 * read once by the report's `map` parts, each spooling its migrated documents to the verify partition of
 * each document's key; a verify partition then reads its own spool, never the whole run.
 */
export type ExpectedDocument = readonly [key: string, kind: string, id: string];

type Objects = Pick<WorkflowDeps, 'objects' | 'exportsBucket'>;

/** The migrated documents of some result rows, by verify partition, written as one part's spool. */
export class ExpectedSpool {
  private readonly spool = new PartitionSpool();

  constructor(private readonly ranges: number) {}

  add(row: ResultRow): void {
    const key = row.targets?.[0];
    if (row.decision !== 'migrated' || key === undefined) return;
    this.spool.add(
      targetPartitionOf(key, this.ranges),
      JSON.stringify([key, row.kind, row.id] satisfies ExpectedDocument),
    );
  }

  /** Its objects, one per partition it has documents for, in partition order, keyed by the part. */
  objects(scope: string, report: string, part: number): SpoolObject[] {
    return this.spool.objects((partition) => workKeys.expectedSpool(scope, report, partition, part));
  }

  /** Puts all its objects (verify's own check, in one process). */
  async write(deps: Objects, scope: string, report: string, part: number): Promise<void> {
    await putSpool(deps, this.objects(scope, report, part));
  }
}

type Where = { readonly scope: string; readonly report: string; readonly partition: number };

/** A verify partition's join of what the report's parts spooled for it (pipeline/page-fold), in key order. */
export const expectedJoin = ({ scope, report, partition }: Where): SpoolJoin => ({
  prefix: workKeys.expectedSpoolPrefix(scope, report, partition),
  stepKey: (step) => workKeys.expectedJoin(scope, report, partition, step),
  joinedKey: workKeys.expected(scope, report, partition),
  sort: true,
});

/** One step of a verify partition's join of its expected documents (the first `max` spool objects more). */
export const joinExpected = (deps: Objects, where: Where, state: JoinState, max: number) =>
  joinSpool(deps, expectedJoin(where), state, max);

/**
 * The documents verify expects in one partition, by key, as its join left them (`joined`: as the step
 * that ended the join kept them).
 */
export async function expectedDocuments(
  deps: Objects,
  where: Where,
  joined?: readonly string[],
): Promise<Map<string, ExpectedDocument>> {
  const lines = await joinedLines(
    deps,
    expectedJoin(where),
    `the expected documents of verify partition ${where.partition}`,
    joined,
  );
  const expected = new Map<string, ExpectedDocument>();
  for (const line of lines) {
    const doc = JSON.parse(line) as ExpectedDocument;
    expected.set(doc[0], doc);
  }
  return expected;
}
