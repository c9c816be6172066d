import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bucketsFolder, objectFile, objectFilesUnder } from '../../local/stand-ins/s3rver-files';

/** The S3 stand-in's files, as the command line reads a report folder out of them (s3rver-files). */
let state: string;
beforeEach(async () => {
  state = await mkdtemp(join(tmpdir(), 'esep-s3rver-files-'));
});
afterEach(() => rm(state, { recursive: true, force: true }));

/** An object as s3rver keeps it: its bytes, its MD5 and its metadata, each a file. */
async function put(bucket: string, key: string, body: string) {
  const file = objectFile(state, bucket, key);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, body);
  await writeFile(`${file}.md5`, 'x');
  await writeFile(file.replace(/_object$/, '_metadata.json'), '{}');
}

const keysUnder = async (bucket: string, prefix: string) => {
  const found: string[] = [];
  for await (const { key, file } of objectFilesUnder(state, bucket, prefix)) {
    expect(file).toBe(objectFile(state, bucket, key));
    found.push(key);
  }
  return found.sort();
};

test('the objects under a prefix: nested folders, each object once, never its MD5 or metadata files', async () => {
  await put('reports', 'export/all/summary.json', '{}');
  await put('reports', 'export/all/receipts/acc-1.json', 'a');
  await put('reports', 'export/all/receipts/acc-1.html', 'a');
  await put('reports', 'export/all/receipts/deep/er/acc-2.txt', 'b');
  expect(await keysUnder('reports', 'export/all/')).toEqual([
    'export/all/receipts/acc-1.html',
    'export/all/receipts/acc-1.json',
    'export/all/receipts/deep/er/acc-2.txt',
    'export/all/summary.json',
  ]);
  expect(objectFile(state, 'reports', 'k')).toBe(join(bucketsFolder(state), 'reports', 'k._S3rver_object'));
});

test('only keys that start with the prefix: not a folder whose name only begins the same, nor another bucket', async () => {
  await put('reports', 'export/sept-2022/summary.json', '{}');
  await put('reports', 'export/sept-2022+nov-2022/summary.json', '{}');
  await put('reports', 'export/sept.json', '{}');
  await put('reports', 'other/sept-2022/summary.json', '{}');
  await put('reports-2', 'export/sept-2022/receipts/acc-9.json', '{}');
  expect(await keysUnder('reports', 'export/sept-2022/')).toEqual(['export/sept-2022/summary.json']);
  // A prefix that ends inside a name takes every key it begins, in any folder.
  expect(await keysUnder('reports', 'export/sept')).toEqual([
    'export/sept-2022+nov-2022/summary.json',
    'export/sept-2022/summary.json',
    'export/sept.json',
  ]);
  expect(await keysUnder('reports-2', 'export/sept-2022/')).toEqual(['export/sept-2022/receipts/acc-9.json']);
});

test('a prefix or a bucket with nothing under it gives nothing, not an error', async () => {
  expect(await keysUnder('reports', 'export/none/')).toEqual([]);
  await put('reports', 'export/a/summary.json', '{}');
  expect(await keysUnder('reports', 'export/none/')).toEqual([]);
  expect(await keysUnder('no-such-bucket', '')).toEqual([]);
});
