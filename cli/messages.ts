import { FileSystemError } from '../functions/core/errors';
import { neutralise } from '../functions/core/report/neutralise';

/**
 * What the command line says when the machine, not the export, is the problem: a full disk, a folder it
 * may not write, a path that is not there. One sentence that names the path and the fix; never a stack.
 */
export function fileSystemError(error: NodeJS.ErrnoException, path?: string): FileSystemError {
  const where = neutralise(path ?? error.path ?? 'a file');
  const fix = new Map<string, string>(
    Object.entries({
      ENOSPC: `the disk is full (writing ${where}): free some space, then run the same command again; a run resumes where it stopped`,
      EDQUOT: `the disk quota is used up (writing ${where}): free some space, then run the same command again`,
      EROFS: `${where} is on a read-only file system: choose a folder that can be written (--out, --state)`,
      EACCES: `${where} may not be written or read by this user: choose another folder (--out, --state) or fix its permissions`,
      EPERM: `${where} may not be written or read by this user: choose another folder (--out, --state) or fix its permissions`,
      ENOTDIR: `${where}: a part of this path is a file, not a folder`,
      EISDIR: `${where} is a folder, not a file`,
      EMFILE: 'too many open files: raise the limit (ulimit -n) and run the same command again',
    }),
  );
  return new FileSystemError(fix.get(error.code ?? '') ?? `${where}: ${error.code ?? error.message}`, {
    cause: error,
  });
}

/** Whether an error is one of the file system's (an errno error of Node). */
export const isFileSystemError = (error: unknown): error is NodeJS.ErrnoException =>
  error instanceof Error &&
  typeof (error as NodeJS.ErrnoException).code === 'string' &&
  typeof (error as NodeJS.ErrnoException).syscall === 'string';

/** What the local pipeline tells the operator on the way (never an error): written to stderr. */
export const notice = (text: string) => process.stderr.write(`esep-migrate: ${neutralise(text)}\n`);
