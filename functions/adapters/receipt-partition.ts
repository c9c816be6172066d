import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { receiptLine } from '../core/report/receipt-partitions';
import { buildReceipt } from '../core/report/summary';
import { SpoolGroups } from '../core/report/tally';
import { readLines } from '../core/rules/ndjson';
import { compilePolicy, type Policy } from '../core/rules/policy';
import { BatchedWriter } from './batched-writer';

/**
 * One receipts partition of a plan, built from its spool: what its accounts own and take part in, read
 * back alone (bounded by the partition's size), one receipt line an account. Plain data in and out, so
 * that a worker thread builds it as well as the plan's own (report-folder.ts).
 */
export interface PartitionTask {
  /** The partition's spool files, one a wave, in the plan's order. */
  readonly spoolPaths: readonly string[];
  readonly outPath: string;
  readonly exportId: string;
  /** The plan's policy as data (a compiled policy does not cross threads). */
  readonly policy?: Policy;
}

export interface PartitionBuilt {
  readonly receipts: number;
  readonly bytes: number;
}

/** A spool line: one decided record (from a line within the export's cap) with its account. */
const SPOOL_LINE_BYTES = 256 * 1024 * 1024;

export async function buildPartition(task: PartitionTask): Promise<PartitionBuilt> {
  const context = task.policy ? { policy: compilePolicy(task.policy) } : {};
  // The spool read a line at a time, and each account let go once its receipt is written: the partition's
  // records are held once, not also as the spool's text and as receipts.
  const groups = new SpoolGroups();
  for (const path of task.spoolPaths) {
    const spool = createReadStream(path, { highWaterMark: 256 * 1024 });
    // This code wrote every line of the spool: none can be unreadable but by a fault of the disk.
    for await (const line of readLines(spool, { maxLineBytes: SPOOL_LINE_BYTES })) {
      if ('unreadable' in line) throw new Error(`${path}:${line.lineNo}: ${line.unreadable}`);
      groups.add(line.text);
    }
  }
  const byAccount = groups.byAccount;
  const accounts = byAccount.size;
  const out = new BatchedWriter(task.outPath, 1024 * 1024);
  let bytes = 0;
  try {
    for (const [owner, { owned, partOf }] of byAccount) {
      byAccount.delete(owner);
      const line = receiptLine(buildReceipt(task.exportId, owner, owned, context, partOf));
      bytes += Buffer.byteLength(line);
      await out.write(line);
    }
  } finally {
    await out.close();
  }
  for (const path of task.spoolPaths) await rm(path);
  return { receipts: accounts, bytes };
}
