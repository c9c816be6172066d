import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DecidedRecord } from '../core/decide';
import { buildReceipt, type Summary } from '../core/report';
import { safeIdSegment } from '../core/safe-name';
import { eachLimited } from './retry';

/** One line of decisions.ndjson (outputs.md), and nothing else of the record. */
export const decisionLine = (d: DecidedRecord) =>
  JSON.stringify({
    kind: d.kind,
    id: d.id,
    decision: d.decision,
    reason: d.reason,
    wave: d.wave,
    ...(d.detail === undefined ? {} : { detail: d.detail }),
  });

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

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const ok = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (!ok) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    const closed = once(this.stream, 'close');
    this.stream.end();
    await closed;
  }
}

/** FNV-1a: a cheap, stable string hash to spread owners over the spool's partitions. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Writes a report folder: decisions.ndjson as decisions arrive, receipts/<accountId>.json at the end,
 * summary.json last. Receipts group records by owner without holding the export in memory: each
 * decision is spooled into one of several partition files by a hash of its owner, and each partition is
 * read back alone.
 */
export class ReportFolder {
  private decisions?: BatchedWriter;
  private spoolDir?: string;
  private partitions: BatchedWriter[] = [];

  constructor(
    readonly dir: string,
    private readonly exportId: string,
    /** More partitions for larger exports keep each one small when read back. */
    private readonly partitionCount = 16,
  ) {}

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(join(this.dir, 'receipts'), { recursive: true, force: true });
    await rm(join(this.dir, 'summary.json'), { force: true });
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
    const queued = this.decisions.write(`${decisionLine(record)}\n`);
    if (queued) waits.push(queued);
    for (const owner of new Set(record.owners)) {
      const p = fnv1a(owner) % this.partitionCount;
      const spooled = (this.partitions[p] as BatchedWriter).write(`${JSON.stringify([owner, record])}\n`);
      if (spooled) waits.push(spooled);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  /** Writes the receipts and summary.json; returns the number of receipts. */
  async finish(summary: Summary): Promise<number> {
    if (!this.decisions || !this.spoolDir) throw new Error('report folder not open');
    await this.decisions.close();
    let receipts = 0;
    for (const [i, partition] of this.partitions.entries()) {
      await partition.close();
      const byOwner = new Map<string, DecidedRecord[]>();
      const path = join(this.spoolDir, `${i}.ndjson`);
      for await (const line of createInterface({
        input: createReadStream(path),
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        const [owner, record] = JSON.parse(line) as [string, DecidedRecord];
        const list = byOwner.get(owner);
        if (list) list.push(record);
        else byOwner.set(owner, [record]);
      }
      await eachLimited(byOwner, 16, async ([owner, records]) => {
        const receipt = buildReceipt(this.exportId, owner, records);
        const file = join(this.dir, 'receipts', `${safeIdSegment(owner)}.json`);
        await writeFile(file, `${JSON.stringify(receipt, null, 2)}\n`);
        receipts++;
      });
      await rm(path);
    }
    await rm(this.spoolDir, { recursive: true, force: true });
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
