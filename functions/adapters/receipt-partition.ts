import { readFile, rm } from 'node:fs/promises';
import { receiptLine } from '../core/report/receipt-partitions';
import { buildReceipt } from '../core/report/summary';
import { groupSpool } from '../core/report/tally';
import { compilePolicy, type Policy } from '../core/rules/policy';
import { BatchedWriter } from './batched-writer';

/**
 * One receipts partition of a plan, built from its spool: what its accounts own and take part in, read
 * back alone (bounded by the partition's size), one receipt line an account. Plain data in and out, so
 * that a worker thread builds it as well as the plan's own (report-folder.ts).
 */
export interface PartitionTask {
  readonly spoolPath: string;
  readonly outPath: string;
  readonly exportId: string;
  /** The plan's policy as data (a compiled policy does not cross threads). */
  readonly policy?: Policy;
}

export interface PartitionBuilt {
  readonly receipts: number;
  readonly bytes: number;
}

export async function buildPartition(task: PartitionTask): Promise<PartitionBuilt> {
  const context = task.policy ? { policy: compilePolicy(task.policy) } : {};
  const byAccount = groupSpool((await readFile(task.spoolPath, 'utf8')).split('\n'));
  const out = new BatchedWriter(task.outPath, 1024 * 1024);
  let bytes = 0;
  try {
    for (const [owner, { owned, partOf }] of byAccount) {
      const line = receiptLine(buildReceipt(task.exportId, owner, owned, context, partOf));
      bytes += Buffer.byteLength(line);
      await out.write(line);
    }
  } finally {
    await out.close();
  }
  await rm(task.spoolPath);
  return { receipts: byAccount.size, bytes };
}
