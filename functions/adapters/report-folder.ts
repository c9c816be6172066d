import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Estimate } from '../core/estimate/estimate';
import { PARTITIONS_FILE, partitionFile, type ReceiptPartitions } from '../core/report/receipt-partitions';
import { RECEIPT_SUFFIXES } from '../core/report/receipts';
import { type ReportView, reportHtml } from '../core/report/report-html';
import type { Summary } from '../core/report/summary';
import { decisionLine, partitionOf, ReportTally, spoolEntries } from '../core/report/tally';
import type { DecidedRecord } from '../core/rules/decide';
import type { CompiledPolicy } from '../core/rules/policy';
import { BatchedWriter } from './batched-writer';
import { onThreads } from './on-threads';
import { buildPartition, type PartitionTask } from './receipt-partition';

/**
 * Writes a plan's report folder: decisions.ndjson as decisions arrive, the receipts at the end (in
 * partitions, receipt-partitions.ts), summary.json last. Receipts group records by owner without holding
 * the export in memory: each decision is spooled into one partition file by its account's partition, and
 * each partition is read back alone, on worker threads when there are several (every core).
 */
export interface ReportFolderOptions {
  /** More partitions for larger exports keep each one small when read back. */
  readonly partitions?: number;
  /** The policy of the plan: the cut-off dates a receipt shows. */
  readonly policy?: CompiledPolicy;
  /** Threads that build the receipts partitions (default: one a core, none for one partition). */
  readonly threads?: number;
  /** Each such thread's old generation in MB (default PARTITION_HEAP_MB). */
  readonly threadHeapMb?: number;
}

/**
 * What a receipts thread may hold: one partition's records (about `partitionRecords` decisions, each
 * with the spaces its accounts take part in) and the receipt being built, with room to spare.
 */
const PARTITION_HEAP_MB = 256;

export class ReportFolder {
  private decisions?: BatchedWriter;
  private spoolDir?: string;
  private partitions: BatchedWriter[] = [];
  private readonly partitionCount: number;
  private readonly counted = new ReportTally();

  constructor(
    readonly dir: string,
    private readonly exportId: string,
    private readonly options: ReportFolderOptions = {},
  ) {
    this.partitionCount = options.partitions ?? 16;
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(join(this.dir, 'receipts'), { recursive: true, force: true });
    await rm(join(this.dir, 'summary.json'), { force: true });
    await rm(join(this.dir, 'report.html'), { force: true });
    await mkdir(join(this.dir, 'receipts'));
    this.decisions = new BatchedWriter(join(this.dir, 'decisions.ndjson'), 1024 * 1024);
    this.spoolDir = await mkdtemp(join(this.dir, '.spool-'));
    for (let i = 0; i < this.partitionCount; i++) {
      this.partitions.push(new BatchedWriter(join(this.spoolDir, `${i}.ndjson`), 64 * 1024));
    }
  }

  /** Takes one decision; returns a promise only when a write must wait (back-pressure). */
  add(record: DecidedRecord): void | Promise<void> {
    if (!this.decisions) throw new Error('report folder not open');
    const waits: Promise<void>[] = [];
    this.counted.add(record);
    const queued = this.decisions.write(`${decisionLine(record)}\n`);
    if (queued) waits.push(queued);
    for (const entry of spoolEntries(record)) {
      const p = partitionOf(entry[0], this.partitionCount);
      const spooled = (this.partitions[p] as BatchedWriter).write(`${JSON.stringify(entry)}\n`);
      if (spooled) waits.push(spooled);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  /** Writes the receipts' partitions, report.html and summary.json last; returns the receipts. */
  async finish(
    summary: Summary,
    estimate?: (receipts: { accounts: number; files: number }) => Estimate,
  ): Promise<number> {
    if (!this.decisions || !this.spoolDir) throw new Error('report folder not open');
    const spoolDir = this.spoolDir;
    await this.decisions.close();
    for (const partition of this.partitions) await partition.close();
    const tasks: PartitionTask[] = this.partitions.map((_, i) => ({
      spoolPath: join(spoolDir, `${i}.ndjson`),
      outPath: join(this.dir, 'receipts', partitionFile(i)),
      exportId: this.exportId,
      ...(this.options.policy ? { policy: this.options.policy.policy } : {}),
    }));
    const built = await onThreads({
      worker: {
        source: join(__dirname, 'receipt-partition-worker.cjs'),
        built: 'receipt-partition.cjs',
        name: 'buildPartition',
      },
      tasks,
      here: buildPartition,
      heapMb: this.options.threadHeapMb ?? PARTITION_HEAP_MB,
      ...(this.options.threads === undefined ? {} : { threads: this.options.threads }),
    });
    const receipts = built.reduce((n, b) => n + b.receipts, 0);
    const index: ReceiptPartitions = { partitions: this.partitionCount, accounts: receipts };
    await writeFile(join(this.dir, 'receipts', PARTITIONS_FILE), `${JSON.stringify(index)}\n`);
    await rm(spoolDir, { recursive: true, force: true });
    // On AWS every receipt is its renderings, one object each (the estimate's S3 writes).
    const files = receipts * RECEIPT_SUFFIXES.length;
    const { byWave, byCountry, quarantine, quarantineTotal } = this.counted.toJSON();
    const view: ReportView = {
      summary,
      byWave,
      byCountry,
      quarantine,
      quarantineTotal,
      receipts,
      ...(estimate ? { estimate: estimate({ accounts: receipts, files }) } : {}),
    };
    await writeFile(join(this.dir, 'report.html'), reportHtml(view));
    const tmp = join(this.dir, '.summary.json.tmp');
    await writeFile(tmp, `${JSON.stringify(summary, null, 2)}\n`);
    await rename(tmp, join(this.dir, 'summary.json'));
    return receipts;
  }

  /** Removes the spool after a failure; the folder holds no summary.json, so it is not a report. */
  async abandon(): Promise<void> {
    for (const w of [this.decisions, ...this.partitions]) w?.stream.destroy();
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
  }
}
