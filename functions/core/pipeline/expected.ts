import { eachLimited } from '../concurrency';
import { targetPartitionOf, workKeys } from '../keys';
import type { ResultRow } from './results';
import { textsInOrder } from './results';
import type { WorkflowDeps } from './run';

/**
 * What verify expects in each partition of the target: the documents the run migrated, by key, with the
 * record they belong to. The table holds no row per record, so the run's ledger (its result objects) is
 * read once by the report's `map` parts, each spooling its migrated documents to the verify partition of
 * each document's key; a verify partition then reads its own spool, never the whole run.
 */
export type ExpectedDocument = readonly [key: string, kind: string, id: string];

/** Spool objects one part puts at once (below the SDK's 50 sockets per client). */
const PUTS_IN_FLIGHT = 16;

type Objects = Pick<WorkflowDeps, 'objects' | 'exportsBucket'>;

/** The migrated documents of some result rows, by verify partition, written as one part's spool. */
export class ExpectedSpool {
  private readonly byPartition = new Map<number, string[]>();

  constructor(private readonly ranges: number) {}

  add(row: ResultRow): void {
    const key = row.targets?.[0];
    if (row.decision !== 'migrated' || key === undefined) return;
    const p = targetPartitionOf(key, this.ranges);
    const into = this.byPartition.get(p) ?? [];
    this.byPartition.set(p, into);
    into.push(JSON.stringify([key, row.kind, row.id] satisfies ExpectedDocument));
  }

  /** One object per partition it has documents for, keyed by the part: a redelivery writes the same. */
  async write(deps: Objects, scope: string, report: string, part: number): Promise<void> {
    await eachLimited(this.byPartition, PUTS_IN_FLIGHT, async ([partition, lines]) => {
      await deps.objects.put(
        deps.exportsBucket,
        workKeys.expectedSpool(scope, report, partition, part),
        `${lines.join('\n')}\n`,
        'application/x-ndjson',
      );
    });
  }
}

/**
 * The documents verify expects in one partition, by key. Its first page joins the parts' spool into one
 * object in key order (a redelivered first page writes the same); its later pages read that object alone.
 */
export async function expectedDocuments(
  deps: Objects,
  where: { readonly scope: string; readonly report: string; readonly partition: number },
  firstPage: boolean,
): Promise<Map<string, ExpectedDocument>> {
  const { scope, report, partition } = where;
  const joined = workKeys.expected(scope, report, partition);
  let lines: string[];
  if (firstPage) {
    const keys = await deps.objects.list(
      deps.exportsBucket,
      workKeys.expectedSpoolPrefix(scope, report, partition),
    );
    lines = [];
    for await (const text of textsInOrder(deps.objects, deps.exportsBucket, keys))
      for (const line of text.split('\n')) if (line !== '') lines.push(line);
    lines.sort();
    await deps.objects.put(deps.exportsBucket, joined, `${lines.join('\n')}\n`, 'application/x-ndjson');
  } else lines = ((await deps.objects.getText(deps.exportsBucket, joined)) ?? '').split('\n');
  const expected = new Map<string, ExpectedDocument>();
  for (const line of lines) {
    if (line === '') continue;
    const doc = JSON.parse(line) as ExpectedDocument;
    expected.set(doc[0], doc);
  }
  return expected;
}
