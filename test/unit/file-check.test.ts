import { blobChecker } from '../../functions/core/pipeline/decide-export';
import type { ExportSource } from '../../functions/core/ports';
import { receiptText } from '../../functions/core/report/receipts';
import { buildReceipt } from '../../functions/core/report/summary';
import { checksFile } from '../../functions/core/rules/decide';
import { blob, decideAll } from '../helpers/memory-export';

/**
 * Step 7 for dropped records (issue 26): a file a receipt offers for download must be in the export and
 * sound; one that is missing or damaged is named as such, with whom to ask, and never linked.
 */
const item = (id: string, file: object) => ({
  id,
  projectId: 'p-old',
  kind: 'material',
  title: `slides ${id}`,
  authorId: 'a1',
  createdAt: '2017-03-01T00:00:00Z',
  file,
});

test('a deleted TwinSpace offers only the files the export holds intact; the others are named, with whom to ask', async () => {
  const sound = blob('sound bytes', 'sound.pdf');
  const gone = blob('bytes nobody uploaded', 'gone.pdf');
  const damaged = blob('the original bytes', 'damaged.pdf');
  const { records, byId } = await decideAll({
    kinds: {
      projects: [
        {
          id: 'p-old',
          title: 'Before the cut-off',
          registeredAt: '2017-01-01T00:00:00Z',
          members: [{ accountId: 'a1', role: 'founder' }],
        },
      ],
      'twinspace-items': [
        item('i-sound', sound.ref),
        item('i-gone', gone.ref),
        item('i-damaged', damaged.ref),
      ],
    },
    // The damaged blob's bytes are not the ones its SHA-256 names; the gone one is not uploaded at all.
    blobs: { ...sound.blobs, [damaged.ref.sha256]: 'other bytes' },
  });
  // The decisions stand (deleted with their TwinSpace); only the files' state is recorded.
  for (const id of ['i-sound', 'i-gone', 'i-damaged'])
    expect(byId.get(`twinspace-items/${id}`)).toMatchObject({
      decision: 'dropped',
      reason: 'PARENT_NOT_MIGRATED',
    });
  expect(byId.get('twinspace-items/i-sound')?.file?.unavailable).toBeUndefined();
  expect(byId.get('twinspace-items/i-gone')?.file?.unavailable).toBe('missing');
  expect(byId.get('twinspace-items/i-damaged')?.file?.unavailable).toBe('damaged');
  // Step 7 read all three (the AWS estimate counts these reads).
  expect(
    records
      .filter(checksFile)
      .map((r) => r.id)
      .sort(),
  ).toEqual(['i-damaged', 'i-gone', 'i-sound']);

  const receipt = buildReceipt(
    'test-export',
    'a1',
    records.filter((r) => r.owners.includes('a1')),
  );
  expect(receipt.downloads.map((d) => d.fileName)).toEqual(['sound.pdf']);
  expect(receipt.unavailable).toEqual([
    {
      kind: 'twinspace-items',
      id: 'i-damaged',
      fileName: 'damaged.pdf',
      size: damaged.ref.size,
      why: 'damaged',
    },
    { kind: 'twinspace-items', id: 'i-gone', fileName: 'gone.pdf', size: gone.ref.size, why: 'missing' },
  ]);
  const text = receiptText(receipt, ['en']);
  // One file to ask for (no links locally), before it is deleted.
  expect(text).toContain('Ask your national support service for a copy of the file listed under');
  expect(text).toContain(
    [
      'Files of your deleted items that cannot be downloaded',
      '  - damaged.pdf (18 bytes): arrived damaged; ask your national support service whether a copy exists',
      '  - gone.pdf (21 bytes): not in the export as delivered; ask your national support service whether a copy exists',
      // Where else it can still be read (FAQ eTwinning 11, 21).
      `  ${'Until a TwinSpace is migrated, it stays readable (read-only) at twinspace.etwinning.net with the login of the old platform.'}`,
    ].join('\n'),
  );
  expect(text.match(/gone\.pdf/g)).toHaveLength(1);
});

test('a blob of another length than its reference declares is damaged too, and is read no further than the declared size (DQ-5)', async () => {
  const declared = blob('the declared bytes', 'report.pdf');
  const chunk = new Uint8Array(1024);
  let read = 0;
  // A hostile blob under the declared name: a thousand chunks where its line declares 18 bytes.
  const larger: ExportSource = {
    name: 'x',
    open: async () =>
      (async function* () {
        for (let i = 0; i < 1000; i++) {
          read++;
          yield chunk;
        }
      })(),
  };
  const check = blobChecker(larger);
  await expect(check(declared.ref)).resolves.toBe('size');
  expect(read).toBe(1);
  // Shorter than declared: the same answer; of the declared length and hash: sound.
  const bytes = (text: string): ExportSource => ({
    name: 'x',
    open: async () =>
      (async function* () {
        yield new TextEncoder().encode(text);
      })(),
  });
  await expect(blobChecker(bytes('the declared'))(declared.ref)).resolves.toBe('size');
  await expect(blobChecker(bytes('the declared bytes'))(declared.ref)).resolves.toBe('ok');
  await expect(blobChecker(bytes('the declared BYTES'))(declared.ref)).resolves.toBe('mismatch');

  // Decided: an item that would migrate is quarantined, saying why; its receipt names the file as damaged.
  const { byId } = await decideAll({
    kinds: {
      projects: [
        {
          id: 'p-new',
          title: 'After the cut-off',
          registeredAt: '2023-01-01T00:00:00Z',
          members: [{ accountId: 'a1', role: 'founder' }],
        },
      ],
      'twinspace-items': [
        { ...item('i-long', declared.ref), projectId: 'p-new', createdAt: '2023-03-01T00:00:00Z' },
      ],
    },
    blobs: { [declared.ref.sha256]: 'the declared bytes, and a great deal more than its line declares' },
  });
  expect(byId.get('twinspace-items/i-long')).toMatchObject({
    decision: 'quarantined',
    reason: 'BLOB_CHECKSUM_MISMATCH',
    detail: 'file is not of its declared size',
  });
});
