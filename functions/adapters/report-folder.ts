import { once } from 'node:events';
import { createWriteStream, type WriteStream, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eachLimited } from '../core/concurrency';
import type { Estimate } from '../core/estimate/estimate';
import { receiptFiles } from '../core/report/receipts';
import { type ReportView, reportHtml } from '../core/report/report-html';
import { buildReceipt, type ReceiptContext, type Summary } from '../core/report/summary';
import {
  type DownloadUrl,
  decisionLine,
  groupSpool,
  partitionOf,
  ReportTally,
  spoolEntries,
  withDownloadLinks,
} from '../core/report/tally';
import type { DecidedRecord } from '../core/rules/decide';
import { safeIdSegment } from '../core/rules/safe-name';

/**
 * Lines gathered in memory and handed to the stream in large writes: one system call per batch rather
 * than per line. `write` returns a promise only when it had to flush (back-pressure).
 */
class BatchedWriter {
  private parts: string[] = [];
  private size = 0;
  readonly stream: WriteStream;

  constructor(
    path: string,
    private readonly batchChars: number,
  ) {
    this.stream = createWriteStream(path, { highWaterMark: Math.max(batchChars, 16 * 1024) });
  }

  write(text: string): void | Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.batchChars) return this.flush();
  }

  /** One wait for 'drain' however many writes wait on it (a record spooled to many members' receipts). */
  private draining?: Promise<void>;

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const ok = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (!ok)
      this.draining ??= once(this.stream, 'drain').then(() => {
        this.draining = undefined;
      });
    await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    const closed = once(this.stream, 'close');
    this.stream.end();
    await closed;
  }
}

/**
 * Writes a report folder (`plan`): decisions.ndjson as decisions arrive, receipts/<accountId>.json at the
 * end, summary.json last. Receipts group records by owner without holding the export in memory: each
 * decision is spooled into one of several partition files by its account's partition, and each
 * partition is read back alone (the same partitions as the run's receipts parts).
 */
export interface ReportFolderOptions extends ReceiptContext {
  /** More partitions for larger exports keep each one small when read back. */
  readonly partitions?: number;
  /** On AWS: a pre-signed download link for a dropped record's file (TS-5). */
  readonly downloadUrl?: DownloadUrl;
}

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

  /** Writes the receipts (JSON, HTML, text), report.html and summary.json last; returns the receipts. */
  async finish(
    summary: Summary,
    estimate?: (receipts: { accounts: number; files: number }) => Estimate,
  ): Promise<number> {
    if (!this.decisions || !this.spoolDir) throw new Error('report folder not open');
    await this.decisions.close();
    let receipts = 0;
    let files = 0;
    for (const [i, partition] of this.partitions.entries()) {
      await partition.close();
      const path = join(this.spoolDir, `${i}.ndjson`);
      const byAccount = groupSpool((await readFile(path, 'utf8')).split('\n'));
      await eachLimited(byAccount, 16, async ([owner, { owned, partOf }]) => {
        const receipt = await withDownloadLinks(
          buildReceipt(this.exportId, owner, owned, this.options, partOf),
          this.options.downloadUrl,
        );
        const base = join(this.dir, 'receipts', safeIdSegment(owner));
        // Synchronous: a receipt's small files cost a quarter less CPU than through promises.
        for (const file of receiptFiles(receipt)) {
          writeFileSync(`${base}${file.suffix}`, file.body);
          files++;
        }
        receipts++;
      });
      await rm(path);
    }
    await rm(this.spoolDir, { recursive: true, force: true });
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
