import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { eachLimited } from '../core/concurrency';
import type { Estimate } from '../core/estimate/estimate';
import type { ObjectStore } from '../core/ports';
import { receiptFiles } from '../core/report/receipts';
import { QUARANTINE_SHOWN, type ReportView, reportHtml } from '../core/report/report-html';
import {
  buildReceipt,
  type DecisionCounts,
  type Receipt,
  type ReceiptContext,
  type Summary,
} from '../core/report/summary';
import type { DecidedRecord } from '../core/rules/decide';
import { safeIdSegment } from '../core/rules/safe-name';

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
/** Partitions of the receipts spool for an export: about 50,000 decisions each when read back. */
export const partitionsFor = (records: number) => Math.min(512, Math.max(1, Math.ceil(records / 50_000)));

export interface ReportFolderOptions extends ReceiptContext {
  /** More partitions for larger exports keep each one small when read back. */
  readonly partitions?: number;
  /** On AWS: a pre-signed download link for a dropped record's file (TS-5). */
  readonly downloadUrl?: (
    download: Receipt['downloads'][number],
  ) => Promise<{ url: string; expiresAt: string }>;
}

const count = (into: Record<string, DecisionCounts>, key: string, decision: keyof DecisionCounts) => {
  into[key] ??= { migrated: 0, dropped: 0, quarantined: 0 };
  into[key][decision]++;
};

export class ReportFolder {
  private decisions?: BatchedWriter;
  private spoolDir?: string;
  private partitions: BatchedWriter[] = [];
  private readonly partitionCount: number;
  /** Keyed by wave id: a map with no prototype, so no key can reach Object.prototype. */
  private readonly byWave: Record<string, DecisionCounts> = Object.create(null);
  /** Accounts by country, for the national support services (a map with no prototype, as above). */
  private readonly byCountry: Record<string, DecisionCounts> = Object.create(null);
  private readonly quarantine: ReportView['quarantine'][number][] = [];
  private quarantineTotal = 0;

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
    count(this.byWave, record.wave, record.decision);
    if (record.kind === 'accounts') count(this.byCountry, record.country ?? '(unknown)', record.decision);
    if (record.decision === 'quarantined' && this.quarantineTotal++ < QUARANTINE_SHOWN) {
      const { kind, id, reason, detail } = record;
      this.quarantine.push({
        kind,
        id,
        reason,
        wave: record.wave,
        ...(detail === undefined ? {} : { detail }),
      });
    }
    const queued = this.decisions.write(`${decisionLine(record)}\n`);
    if (queued) waits.push(queued);
    const spool = (account: string, entry: unknown) => {
      const p = fnv1a(account) % this.partitionCount;
      const spooled = (this.partitions[p] as BatchedWriter).write(`${JSON.stringify(entry)}\n`);
      if (spooled) waits.push(spooled);
    };
    for (const owner of new Set(record.owners)) spool(owner, [owner, record]);
    // Members and participants get the space on their receipts: a small entry each, not the record.
    if (record.members?.length) {
      const { kind, id, decision, reason, wave, title, date } = record;
      const space = {
        kind,
        id,
        decision,
        reason,
        wave,
        owners: [],
        ...(title ? { title } : {}),
        ...(date ? { date } : {}),
      };
      for (const member of record.members) spool(member, [member, space, 'member']);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  /** Writes the receipts (JSON, HTML, text), report.html and summary.json last; returns the receipts. */
  async finish(summary: Summary, estimate?: (receipts: number) => Estimate): Promise<number> {
    if (!this.decisions || !this.spoolDir) throw new Error('report folder not open');
    await this.decisions.close();
    let receipts = 0;
    for (const [i, partition] of this.partitions.entries()) {
      await partition.close();
      const byAccount = new Map<string, { owned: DecidedRecord[]; partOf: DecidedRecord[] }>();
      const path = join(this.spoolDir, `${i}.ndjson`);
      for await (const line of createInterface({
        input: createReadStream(path),
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        const [account, record, role] = JSON.parse(line) as [string, DecidedRecord, 'member'?];
        const entry = byAccount.get(account) ?? { owned: [], partOf: [] };
        byAccount.set(account, entry);
        (role === 'member' ? entry.partOf : entry.owned).push(record);
      }
      await eachLimited(byAccount, 16, async ([owner, { owned, partOf }]) => {
        const receipt = await this.withLinks(buildReceipt(this.exportId, owner, owned, this.options, partOf));
        const base = join(this.dir, 'receipts', safeIdSegment(owner));
        // Synchronous: a receipt's small files cost a quarter less CPU than through promises.
        for (const file of receiptFiles(receipt)) writeFileSync(`${base}${file.suffix}`, file.body);
        receipts++;
      });
      await rm(path);
    }
    await rm(this.spoolDir, { recursive: true, force: true });
    const view: ReportView = {
      summary,
      byWave: this.byWave,
      byCountry: this.byCountry,
      quarantine: this.quarantine,
      quarantineTotal: this.quarantineTotal,
      receipts,
      ...(estimate ? { estimate: estimate(receipts) } : {}),
    };
    await writeFile(join(this.dir, 'report.html'), reportHtml(view));
    const tmp = join(this.dir, '.summary.json.tmp');
    await writeFile(tmp, `${JSON.stringify(summary, null, 2)}\n`);
    await rename(tmp, join(this.dir, 'summary.json'));
    return receipts;
  }

  private async withLinks(receipt: Receipt): Promise<Receipt> {
    const link = this.options.downloadUrl;
    if (!link || receipt.downloads.length === 0) return receipt;
    const downloads = [];
    for (const d of receipt.downloads) {
      const { url, expiresAt } = await link(d);
      downloads.push({ ...d, url, urlExpiresAt: expiresAt });
    }
    return { ...receipt, downloads };
  }

  /** Removes the spool after a failure; the folder holds no summary.json, so it is not a report. */
  async abandon(): Promise<void> {
    for (const w of [this.decisions, ...this.partitions]) w?.stream.destroy();
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
  }
}

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  html: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

/** Puts every file of a report folder under `prefix` of a bucket, 16 at a time. */
export async function uploadFolder(dir: string, objects: ObjectStore, bucket: string, prefix: string) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  await eachLimited(files, 16, async (file) => {
    const key = prefix + relative(dir, file).split('\\').join('/');
    const type = CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    await objects.put(bucket, key, await readFile(file), type);
  });
}
