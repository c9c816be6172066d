import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
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

/** The file at `path` inside `root` (each part of it checked), or undefined when there is none. */
async function insideFile(root: string, path: string): Promise<string | undefined> {
  let full = root;
  let isFile = false;
  for (const part of path.split('/')) {
    full = join(full, part);
    const entry = await lstat(full).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!entry) return undefined;
    if (entry.isSymbolicLink())
      throw new ExportRejectedError(
        `${path}: is a symbolic link; an export is read only from its own folder`,
        path,
      );
    isFile = entry.isFile();
  }
  return isFile ? full : undefined;
}

export function fsExportSource(root: string): ExportSource {
  return {
    name: basename(root),
    async open(path) {
      const full = await insideFile(root, path);
      return full ? createReadStream(full, { highWaterMark: 256 * 1024 }) : undefined;
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
  for (const path of candidates) if (await insideFile(root, path)) files.push(path);
  return files;
}
