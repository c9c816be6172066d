import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { upload } from '../../cli/commands/run';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { MANIFEST, PREFIXES } from '../../functions/core/keys';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { FAST, useTempFolder } from '../helpers/timeline';

/**
 * A start as the synthesized state machine runs it: every listed file checked at once (a Map, one
 * invocation a file), each cutting its pieces. An upload whose file is damaged (past `run`'s own check,
 * as an upload to S3 is) fails its execution naming the file, and leaves nothing of the start: no piece,
 * no index, the export's lock free for the corrected upload, which then runs.
 */
jest.setTimeout(120_000);

const folder = useTempFolder('esep-start-');

test("a damaged file fails the start's check of it; the start leaves no piece, no index and no lock, and the corrected upload runs", async () => {
  const exportDir = join(folder(), 'export');
  await cp(join(__dirname, '../../samples/export'), exportDir, { recursive: true });
  const { files } = JSON.parse(await readFile(join(exportDir, MANIFEST), 'utf8')) as {
    files: { path: string }[];
  };
  const paths = files.map((f) => f.path);
  const mailbox = join(exportDir, 'mailbox.ndjson');
  const good = await readFile(mailbox);
  await writeFile(mailbox, Buffer.concat([good, Buffer.from('{"id":"smuggled"}\n')]));
  const pipeline = await startLocalPipeline({ stateDir: join(folder(), 'state'), ...FAST });
  try {
    const bucket = pipeline.resources.buckets.exports;
    const input = { bucket, key: `exports/export/${MANIFEST}` };
    await upload(pipeline.clients, bucket, exportDir, 'export', paths);
    const failed = await pipeline.execute(input);
    expect(failed).toMatchObject({ ok: false, error: 'ExportRejectedError' });
    expect(failed.ok ? '' : failed.cause).toMatch(/mailbox\.ndjson: SHA-256 is/);
    // The other files were checked and cut beside it: their pieces, and the accounts file's index, are gone.
    expect(await s3Objects(pipeline.clients.s3).list(bucket, PREFIXES.work)).toEqual([]);
    // The corrected upload runs: the lock was given back.
    await writeFile(mailbox, good);
    await upload(pipeline.clients, bucket, exportDir, 'export', paths);
    expect(await pipeline.execute(input)).toMatchObject({ ok: true });
  } finally {
    await pipeline.stop();
  }
});
