import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { ExportSource } from '../../functions/core/ports';

/** An export folder on the local disk (the manifest's paths are checked to stay inside it). */
export function fsExportSource(dir: string): ExportSource {
  const root = resolve(dir);
  return {
    name: basename(root),
    async open(path) {
      const full = join(root, path);
      try {
        if (!(await stat(full)).isFile()) return undefined;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      return createReadStream(full, { highWaterMark: 256 * 1024 });
    },
  };
}
