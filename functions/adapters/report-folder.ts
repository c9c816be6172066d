import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Estimate } from '../core/estimate/estimate';
import { PARTITIONS_FILE, partitionFile, type ReceiptPartitions } from '../core/report/receipt-partitions';
import { RECEIPT_SUFFIXES } from '../core/report/receipts';
import { type ReportView, reportHtml } from '../core/report/report-html';
import type { Summary } from '../core/report/summary';
import {
  decisionLine,
  partitionOf,
  type ReportCounts,
  ReportTally,
  spoolEntries,
} from '../core/report/tally';
import type { DecidedRecord } from '../core/rules/decide';
import type { Kind } from '../core/rules/kinds';
import type { CompiledPolicy } from '../core/rules/policy';
import { BatchedWriter } from './batched-writer';
import { onThreads } from './on-threads';
import { buildPartition, type PartitionTask } from './receipt-partition';

/**
 * Writes a plan's report folder: decisions.ndjson, the receipts (in partitions, receipt-partitions.ts),
 * report.html, and summary.json last. Each wave is decided apart (on a thread of its own when there are
 * cores for it) into a spool of its own (`WaveSpool`): its decision lines, and each decision under the
 * receipts partition of each account it concerns. The folder then joins the waves in their order, and
 * builds each receipts partition from its spool files alone (bounded by the partition's size), again on
 * every core.
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

/** Where one wave's spool goes, as plain data (a wave's thread opens it). */
export interface WaveSpoolPlace {
  readonly dir: string;
  readonly partitions: number;
}

/**
 * Characters a wave's spool gathers before it writes: its decision lines, and each receipts partition's
 * lines. Small, so that a batch joined into one string dies young: a joined string of a megabyte is
 * allocated in V8's old generation (its large-object space), and a wave thread's heap then grew with the
 * export (measured: peak of plan at 100,000 accounts 392-405 MB with 1 MB and 64 KB batches, 352-355 MB
 * with these, in about the same time; docs/benchmarks.md).
 */
const DECISIONS_BATCH_CHARS = 32 * 1024;
const PARTITION_BATCH_CHARS = 16 * 1024;

const decisionsPart = (place: WaveSpoolPlace) => join(place.dir, 'decisions.ndjson');
const spoolPart = (place: WaveSpoolPlace, partition: number) => join(place.dir, `${partition}.ndjson`);

/** One wave's decisions, as they arrive: its decision lines, its receipts' spool, and what the report counts. */
export class WaveSpool {
  private readonly decisions: BatchedWriter;
  private readonly partitions: BatchedWriter[] = [];
  private readonly counted: ReportTally;

  private constructor(
    private readonly place: WaveSpoolPlace,
    kinds: Iterable<Kind>,
  ) {
    this.counted = new ReportTally(kinds);
    this.decisions = new BatchedWriter(decisionsPart(place), DECISIONS_BATCH_CHARS);
    for (let i = 0; i < place.partitions; i++)
      this.partitions.push(new BatchedWriter(spoolPart(place, i), PARTITION_BATCH_CHARS));
  }

  static async open(place: WaveSpoolPlace, kinds: Iterable<Kind> = []): Promise<WaveSpool> {
    await mkdir(place.dir, { recursive: true });
    return new WaveSpool(place, kinds);
  }

  /** Takes one decision; returns a promise only when a write must wait (back-pressure). */
  add(record: DecidedRecord): void | Promise<void> {
    const waits: Promise<void>[] = [];
    this.counted.add(record);
    const queued = this.decisions.write(`${decisionLine(record)}\n`);
    if (queued) waits.push(queued);
    for (const entry of spoolEntries(record)) {
      const p = partitionOf(entry[0], this.place.partitions);
      const spooled = (this.partitions[p] as BatchedWriter).write(`${JSON.stringify(entry)}\n`);
      if (spooled) waits.push(spooled);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  /** Closes the wave's files; returns what the report counts of it. */
  async close(): Promise<ReportCounts> {
    for (const w of [this.decisions, ...this.partitions]) await w.close();
    return this.counted.toJSON();
  }

  abandon(): void {
    for (const w of [this.decisions, ...this.partitions]) w.stream.destroy();
  }
}

export class ReportFolder {
  private spoolDir?: string;
  private readonly partitionCount: number;

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
    this.spoolDir = await mkdtemp(join(this.dir, '.spool-'));
  }

  /** Where the n-th wave (in the plan's order) spools its decisions. */
  wave(n: number): WaveSpoolPlace {
    if (!this.spoolDir) throw new Error('report folder not open');
    return { dir: join(this.spoolDir, String(n)), partitions: this.partitionCount };
  }

  /**
   * Joins the waves' spools (in the plan's order) into decisions.ndjson and the receipts' partitions,
   * then writes report.html and summary.json last; returns the receipts.
   */
  async finish(
    summary: Summary,
    counted: ReportCounts,
    waves: readonly WaveSpoolPlace[],
    estimate?: (receipts: { accounts: number; files: number }) => Estimate,
  ): Promise<number> {
    if (!this.spoolDir) throw new Error('report folder not open');
    const spoolDir = this.spoolDir;
    const decisions = join(this.dir, 'decisions.ndjson');
    await writeFile(decisions, '');
    for (const place of waves)
      await pipeline(createReadStream(decisionsPart(place)), createWriteStream(decisions, { flags: 'a' }));
    const tasks: PartitionTask[] = Array.from({ length: this.partitionCount }, (_, p) => ({
      spoolPaths: waves.map((place) => spoolPart(place, p)),
      outPath: join(this.dir, 'receipts', partitionFile(p)),
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
    const { byWave, byCountry, quarantine, quarantineTotal } = counted;
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
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
  }
}
