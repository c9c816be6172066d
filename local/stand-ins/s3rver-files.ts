import { opendir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where the S3 stand-in keeps a state folder's buckets, and an object's bytes: s3rver 3.7's file store, a
 * folder a bucket and a file `<key>._S3rver_object` for each object (keys as they are, on Linux and macOS),
 * each written aside and renamed into place (s3rver-fixes). What the command line copies out of the
 * local buckets after a run (the report folder) it reads here, not through the S3 API: one file copy an
 * object rather than a signed request and its answer on both sides.
 */
export const bucketsFolder = (stateDir: string) => join(stateDir, 's3');

const OBJECT_FILE = '._S3rver_object';

/** The file that holds an object's bytes. */
export const objectFile = (stateDir: string, bucket: string, key: string) =>
  join(bucketsFolder(stateDir), bucket, `${key}${OBJECT_FILE}`);

/**
 * The objects of a bucket whose keys start with `prefix`, as keys and the files of their bytes, folder by
 * folder (read a folder at a time: a report's receipts are one folder of many files). No order.
 */
export async function* objectFilesUnder(
  stateDir: string,
  bucket: string,
  prefix: string,
): AsyncGenerator<{ readonly key: string; readonly file: string }> {
  const root = join(bucketsFolder(stateDir), bucket);
  const folders = [prefix.slice(0, prefix.lastIndexOf('/') + 1)];
  for (let under = folders.pop(); under !== undefined; under = folders.pop()) {
    let dir: AsyncIterable<{ name: string; isFile(): boolean; isDirectory(): boolean }>;
    try {
      dir = await opendir(join(root, under));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for await (const entry of dir) {
      if (entry.isDirectory()) {
        const folder = `${under}${entry.name}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) folders.push(folder);
      } else if (entry.isFile() && entry.name.endsWith(OBJECT_FILE)) {
        const key = `${under}${entry.name.slice(0, -OBJECT_FILE.length)}`;
        if (key.startsWith(prefix)) yield { key, file: join(root, key + OBJECT_FILE) };
      }
    }
  }
}
