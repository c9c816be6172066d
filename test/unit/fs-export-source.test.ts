import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportRejectedError } from '../../functions/core/errors';
import { fsExportSource } from '../../local/runtime/fs-export-source';

// The export folder as plan reads it: each path checked, a file's bytes read a slice at a time.
describe('an export folder on the local disk', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'esep-fs-source-'));
    await mkdir(join(root, 'blobs'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const read = async (iterable: AsyncIterable<Uint8Array>) => {
    const parts: Buffer[] = [];
    for await (const part of iterable) parts.push(Buffer.from(part));
    return Buffer.concat(parts);
  };

  test('gives a file its bytes, whatever its size, and none for a path it does not hold', async () => {
    const big = Buffer.alloc(1024 * 1024 + 17, 7);
    big.write('start', 0);
    big.write('end', big.length - 3);
    await writeFile(join(root, 'blobs', 'big'), big);
    await writeFile(join(root, 'blobs', 'small'), 'abc');
    await writeFile(join(root, 'blobs', 'empty'), '');
    const source = fsExportSource(root);
    expect((await read((await source.open('blobs/big')) as AsyncIterable<Uint8Array>)).equals(big)).toBe(
      true,
    );
    expect((await read((await source.open('blobs/small')) as AsyncIterable<Uint8Array>)).toString()).toBe(
      'abc',
    );
    expect((await read((await source.open('blobs/empty')) as AsyncIterable<Uint8Array>)).length).toBe(0);
    expect(await source.open('blobs/none')).toBeUndefined();
    expect(await source.open('blobs/small/below')).toBeUndefined();
    expect(await source.open('blobs')).toBeUndefined();
  });

  test('refuses a path through a symbolic link, so nothing outside the folder is read', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'esep-outside-'));
    await writeFile(join(outside, 'secret'), 'not the export');
    await symlink(outside, join(root, 'linked'));
    await symlink(join(outside, 'secret'), join(root, 'blobs', 'linked'));
    const source = fsExportSource(root);
    await expect(source.open('linked/secret')).rejects.toBeInstanceOf(ExportRejectedError);
    await expect(source.open('blobs/linked')).rejects.toThrow(/symbolic link/);
    await rm(outside, { recursive: true, force: true });
  });

  test('gives the event loop a turn while it reads a large file (timers, progress)', async () => {
    await writeFile(join(root, 'blobs', 'large'), Buffer.alloc(40 * 1024 * 1024, 1));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let read = 0;
    let ticksAtHalf = 0;
    try {
      for await (const part of (await fsExportSource(root).open(
        'blobs/large',
      )) as AsyncIterable<Uint8Array>) {
        read += part.length;
        if (read >= 20 * 1024 * 1024 && ticksAtHalf === 0) ticksAtHalf = ticks;
      }
    } finally {
      clearInterval(timer);
    }
    expect(read).toBe(40 * 1024 * 1024);
    expect(ticksAtHalf).toBeGreaterThan(0);
  });
});
