import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../functions/core/errors';
import { fileSystemError } from './messages';

/**
 * No command deletes what it did not write: a folder that a command writes into (a report folder, a
 * generated export) is claimed first. A new or empty folder is marked as ours; a marked folder of the same
 * kind may be written again; a folder that holds anything else is refused (exit 2), unless the operator
 * says `--force`, and even then only the files the command writes are replaced, nothing else removed.
 */
export const MARKER = '.esep-migrate.json';

export type FolderKind = 'report' | 'export';

export interface Claim {
  /** The folder was marked by an earlier write of this kind: its own files may be replaced or removed. */
  readonly ours: boolean;
}

async function claimFolder(
  dir: string,
  kind: FolderKind,
  option: string,
  options: { readonly force?: boolean; readonly ours?: boolean } = {},
): Promise<Claim> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw fileSystemError(error, dir);
  });
  const marker = entries?.includes(MARKER)
    ? await readFile(join(dir, MARKER), 'utf8')
        .then((text) => (JSON.parse(text) as { kind?: unknown }).kind)
        .catch(() => undefined)
    : undefined;
  const empty = entries === undefined || entries.length === 0;
  if (marker !== undefined && marker !== kind)
    throw new UsageError(
      `${option} ${dir}: this folder holds an esep-migrate ${String(marker)}, not a ${kind}`,
    );
  const ours = marker === kind || options.ours === true;
  if (!empty && !ours && !options.force) {
    const some = (entries ?? []).slice(0, 3).join(', ');
    throw new UsageError(
      `${option} ${dir}: the folder holds files that esep-migrate did not write (${some}${(entries?.length ?? 0) > 3 ? ', ...' : ''}); ` +
        `choose a new or empty folder${kind === 'export' ? ', or add --force to write into it (nothing else in it is removed)' : ''}`,
    );
  }
  return { ours: ours || empty };
}

/** Claims a folder (see claimFolder), then creates it and marks it as written by esep-migrate. */
export async function takeFolder(
  dir: string,
  kind: FolderKind,
  option: string,
  options: { readonly force?: boolean; readonly ours?: boolean } = {},
): Promise<Claim> {
  const claim = await claimFolder(dir, kind, option, options);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, MARKER), `${JSON.stringify({ writtenBy: 'esep-migrate', kind })}\n`);
  } catch (error) {
    throw fileSystemError(error as NodeJS.ErrnoException, dir);
  }
  return claim;
}

/**
 * The report folder of a plan or run: `--out` when given (claimed: refused when it holds files
 * esep-migrate did not write), else the default under the state folder (always ours).
 */
export async function reportFolder(out: string | undefined, fallback: string): Promise<string> {
  const dir = resolve(out ?? fallback);
  await takeFolder(dir, 'report', '--out', { ours: out === undefined });
  return dir;
}

/**
 * The `--out` of a run, claimed (refused when it holds files esep-migrate did not write); undefined
 * without it: the run's own folder under the state folder is chosen once the run has started.
 */
export const outFolder = async (out: string | undefined): Promise<string | undefined> =>
  out === undefined ? undefined : reportFolder(out, out);

/** Where each run's report went on this machine (`--out`, or the default), by its reports-bucket prefix. */
const REPORT_INDEX = 'report-folders.json';

export async function recordReportFolder(stateDir: string, prefix: string, dir: string): Promise<void> {
  const index = await reportFolders(stateDir);
  index.set(prefix, dir);
  const file = join(stateDir, REPORT_INDEX);
  await writeFile(`${file}.tmp`, `${JSON.stringify(Object.fromEntries(index), null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function reportFolders(stateDir: string): Promise<Map<string, string>> {
  const text = await readFile(join(stateDir, REPORT_INDEX), 'utf8').catch(() => '{}');
  return new Map(Object.entries(JSON.parse(text) as Record<string, string>));
}
