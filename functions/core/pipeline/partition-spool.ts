import { eachLimited } from '../concurrency';
import type { WorkflowDeps } from './run';

/** One spool object of a report part: its lines for one partition. */
export interface SpoolObject {
  readonly key: string;
  readonly body: string;
}

/**
 * What one report part spools, by partition: lines gathered per partition, written as one object for each
 * partition that has any, in partition order (the receipts partitions' spool, verify's expected documents).
 */
export class PartitionSpool {
  private readonly byPartition = new Map<number, string[]>();

  add(partition: number, line: string): void {
    const into = this.byPartition.get(partition) ?? [];
    this.byPartition.set(partition, into);
    into.push(line);
  }

  /** Its objects, keyed by `keyOf` their partition: a redelivery writes the same. */
  objects(keyOf: (partition: number) => string): SpoolObject[] {
    return [...this.byPartition]
      .sort(([a], [b]) => a - b)
      .map(([partition, lines]) => ({ key: keyOf(partition), body: `${lines.join('\n')}\n` }));
  }
}

/** Spool objects one part puts at once (below the SDK's 50 sockets per client). */
const PUTS_IN_FLIGHT = 16;

/** Puts spool objects, many at once. */
export async function putSpool(
  deps: Pick<WorkflowDeps, 'objects' | 'exportsBucket'>,
  objects: readonly SpoolObject[],
): Promise<void> {
  await eachLimited(objects, PUTS_IN_FLIGHT, async ({ key, body }) => {
    await deps.objects.put(deps.exportsBucket, key, body, 'application/x-ndjson');
  });
}
