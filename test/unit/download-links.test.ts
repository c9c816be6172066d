import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { ReportFolder } from '../../functions/adapters/report-folder';
import { presignedDownloads } from '../../functions/adapters/s3-objects';
import { Tally } from '../../functions/core/report/summary';
import type { DecidedRecord } from '../../functions/core/rules/decide';

const s3 = new S3Client({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
});
const download = {
  kind: 'twinspace-items' as const,
  id: 'i1',
  fileName: 'Klimaat & wij.pdf',
  size: 10,
  sha256: 'c'.repeat(64),
};

describe('download links in receipts (TS-5)', () => {
  test('a pre-signed GET of the blob in the export, named as the teacher knew it, valid for the configured hours', async () => {
    const link = presignedDownloads(s3, 'exports-bucket', 'exp-1', 12);
    if (!link) throw new Error('expected a link maker');
    const before = Date.now();
    const { url, expiresAt } = await link(download);
    const u = new URL(url);
    expect(u.hostname).toBe('exports-bucket.s3.eu-west-1.amazonaws.com');
    expect(u.pathname).toBe(`/exports/exp-1/blobs/${'c'.repeat(64)}`);
    expect(u.searchParams.get('X-Amz-Expires')).toBe(String(12 * 3600));
    expect(u.searchParams.get('response-content-disposition')).toBe(
      "attachment; filename*=UTF-8''Klimaat%20%26%20wij.pdf",
    );
    const expires = Date.parse(expiresAt);
    expect(expires - before).toBeGreaterThanOrEqual(12 * 3600 * 1000);
    expect(expires - Date.now()).toBeLessThanOrEqual(12 * 3600 * 1000);
  });

  test('no links when the hours are 0 (the local runtime)', () => {
    expect(presignedDownloads(s3, 'b', 'e', 0)).toBeUndefined();
  });

  test('the report folder puts each link into the receipt, its JSON, text and page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'esep-links-'));
    try {
      const folder = new ReportFolder(dir, 'exp-1', {
        downloadUrl: async (d) => ({
          url: `https://example.test/${d.sha256}`,
          expiresAt: '2026-12-01T00:00:00.000Z',
        }),
      });
      await folder.open();
      const record: DecidedRecord = {
        kind: 'twinspace-items',
        id: 'i1',
        wave: 'sept-2022',
        decision: 'dropped',
        reason: 'CONTENT_BEFORE_CUTOFF',
        owners: ['acc-1'],
        file: { fileName: download.fileName, size: 10, sha256: download.sha256 },
      };
      await folder.add(record);
      const tally = new Tally(['twinspace-items']);
      tally.add(record);
      await folder.finish(tally.summary('exp-1', ['sept-2022'], new Date(), new Date()));
      const receipt = JSON.parse(await readFile(join(dir, 'receipts', 'acc-1.json'), 'utf8'));
      expect(receipt.downloads).toEqual([
        {
          ...download,
          url: `https://example.test/${download.sha256}`,
          urlExpiresAt: '2026-12-01T00:00:00.000Z',
        },
      ]);
      expect(await readFile(join(dir, 'receipts', 'acc-1.txt'), 'utf8')).toContain(
        `Klimaat & wij.pdf (10 bytes): https://example.test/${download.sha256} (link valid until December 1, 2026 at 12:00:00 AM UTC)`,
      );
      expect(await readFile(join(dir, 'receipts', 'acc-1.html'), 'utf8')).toContain(
        `<a href="https://example.test/${download.sha256}">Klimaat &amp; wij.pdf</a>`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
