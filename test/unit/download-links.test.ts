import { S3Client } from '@aws-sdk/client-s3';
import { presignedDownloads } from '../../functions/adapters/s3-objects';
import { receiptFiles } from '../../functions/core/report/receipts';
import { buildReceipt } from '../../functions/core/report/summary';
import { withDownloadLinks } from '../../functions/core/report/tally';
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

  test("a run's report part puts each link into the receipt, its JSON, text and page", async () => {
    const record: DecidedRecord = {
      kind: 'twinspace-items',
      id: 'i1',
      wave: 'sept-2022',
      decision: 'dropped',
      reason: 'CONTENT_BEFORE_CUTOFF',
      owners: ['acc-1'],
      file: { fileName: download.fileName, size: 10, sha256: download.sha256 },
    };
    // As report-parts.ts builds a receipt on AWS: the receipt, then a link on each of its files.
    const receipt = await withDownloadLinks(buildReceipt('exp-1', 'acc-1', [record]), async (d) => ({
      url: `https://example.test/${d.sha256}`,
      expiresAt: '2026-12-01T00:00:00.000Z',
    }));
    expect(receipt.downloads).toEqual([
      {
        ...download,
        url: `https://example.test/${download.sha256}`,
        urlExpiresAt: '2026-12-01T00:00:00.000Z',
      },
    ]);
    const files = new Map(receiptFiles(receipt).map((f) => [f.suffix, f.body]));
    expect(JSON.parse(files.get('.json') as string).downloads[0].url).toBe(
      `https://example.test/${download.sha256}`,
    );
    expect(files.get('.txt')).toContain(
      `Klimaat & wij.pdf (10 bytes): https://example.test/${download.sha256} (link valid until December 1, 2026 at 12:00:00 AM UTC)`,
    );
    expect(files.get('.html')).toContain(
      `<a href="https://example.test/${download.sha256}">Klimaat &amp; wij.pdf</a>`,
    );
  });
});
