import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DecidedRecord } from '../functions/core/decide';
import { buildReceipt, type Summary } from '../functions/core/report';
import { safeIdSegment } from '../functions/core/safe-name';

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

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function closeStream(stream: WriteStream): Promise<void> {
  const closed = once(stream, 'close');
  stream.end();
  await closed;
}

/**
 * Writes a report folder: decisions.ndjson as decisions arrive, receipts/<accountId>.json at the end,
 * summary.json last. Receipts group records by owner without holding the export in memory: each
 * decision is spooled into one of several partition files by a hash of its owner, and each partition is
 * read back alone.
 */
export class ReportFolder {
  private decisions?: WriteStream;
  private spoolDir?: string;
  private partitions: WriteStream[] = [];

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
    this.decisions = createWriteStream(join(this.dir, 'decisions.ndjson'));
    this.spoolDir = await mkdtemp(join(this.dir, '.spool-'));
    for (let i = 0; i < this.partitionCount; i++)
      this.partitions.push(createWriteStream(join(this.spoolDir, `${i}.ndjson`)));
  }

  async add(record: DecidedRecord): Promise<void> {
    if (!this.decisions) throw new Error('report folder not open');
    await write(this.decisions, `${decisionLine(record)}\n`);
    const owners = new Set(record.owners);
    for (const owner of owners) {
      const p = createHash('md5').update(owner).digest().readUInt32BE(0) % this.partitionCount;
      await write(this.partitions[p] as WriteStream, `${JSON.stringify([owner, record])}\n`);
    }
  }

  /** Writes the receipts and summary.json; returns the number of receipts. */
  async finish(summary: Summary): Promise<number> {
    if (!this.decisions || !this.spoolDir) throw new Error('report folder not open');
    await closeStream(this.decisions);
    let receipts = 0;
    for (const [i, stream] of this.partitions.entries()) {
      await closeStream(stream);
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
      for (const [owner, records] of byOwner) {
        const receipt = buildReceipt(this.exportId, owner, records);
        await writeFile(
          join(this.dir, 'receipts', `${safeIdSegment(owner)}.json`),
          `${JSON.stringify(receipt, null, 2)}\n`,
        );
        receipts++;
      }
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
    for (const s of [this.decisions, ...this.partitions]) s?.destroy();
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
  }
}
