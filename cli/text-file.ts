import { readFile } from 'node:fs/promises';

/**
 * A file's text (UTF-8), or undefined when there is no such file (or a part of its path is not a folder);
 * any other failure is thrown.
 */
export async function textIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}
