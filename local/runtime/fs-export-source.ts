import { closeSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ExportRejectedError } from '../../functions/core/errors';
import { MANIFEST } from '../../functions/core/keys';
import type { ExportSource } from '../../functions/core/ports';

/**
 * An export folder on the local disk, read only through itself: a path of the export that is, or passes
 * through, a symbolic link is rejected (exit 2, naming the path), so nothing outside the folder is ever
 * read, hashed or uploaded. The manifest's paths are checked to stay inside it (rules/manifest.ts).
 */
export async function exportFolder(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    throw new ExportRejectedError(`${dir}: no such export folder`, dir);
  }
}

/** The file at `path` inside `root` (each part of it checked), and its size; undefined when there is none. */
function insideFile(root: string, path: string): { full: string; size: number } | undefined {
  let full = root;
  let entry: Stats | undefined;
  for (const part of path.split('/')) {
    full = join(full, part);
    try {
      entry = lstatSync(full, { throwIfNoEntry: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
    if (!entry) return undefined;
    if (entry.isSymbolicLink())
      throw new ExportRejectedError(
        `${path}: is a symbolic link; an export is read only from its own folder`,
        path,
      );
  }
  return entry?.isFile() ? { full, size: entry.size } : undefined;
}

/** Bytes read at most at once, and read between two turns of the event loop (timers, progress). */
const SLICE = 256 * 1024;
const TURN = 16 * 1024 * 1024;

/**
 * A file's bytes, read synchronously a slice at a time: a plan checks the files of its records one after
 * another, and for a small file the round trips of asynchronous reads through the thread pool (two checks
 * of the path, open, read, close) cost several times the read itself. A large file gives the event loop a
 * turn every 16 MB.
 */
async function* slicesOf(full: string, size: number): AsyncGenerator<Uint8Array> {
  const fd = openSync(full, 'r');
  try {
    let sinceTurn = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(SLICE, Math.max(size, 1024)));
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return;
      yield buffer.subarray(0, n);
      sinceTurn += n;
      if (sinceTurn >= TURN) {
        sinceTurn = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    closeSync(fd);
  }
}

export function fsExportSource(root: string): ExportSource {
  return {
    name: basename(root),
    async open(path) {
      const file = insideFile(root, path);
      return file ? slicesOf(file.full, file.size) : undefined;
    },
  };
}

const BLOB = /^[0-9a-f]{64}$/;

/**
 * What an upload of the export carries: the manifest, the files it lists and the blobs (`blobs/<sha256>`),
 * each a plain file of the folder; nothing else in the folder (a `.env`, notes) leaves it.
 */
export async function exportFiles(root: string, listed: readonly string[]): Promise<string[]> {
  const blobs = await readdir(join(root, 'blobs'), { withFileTypes: true }).catch(() => []);
  const candidates = [
    ...listed,
    ...blobs.filter((e) => BLOB.test(e.name)).map((e) => `blobs/${e.name}`),
    MANIFEST,
  ];
  const files: string[] = [];
  for (const path of candidates) if (insideFile(root, path)) files.push(path);
  return files;
}
