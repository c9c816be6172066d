import { bytesOf } from '../bytes';
import { ExportRejectedError } from '../errors';
import { MANIFEST } from '../keys';
import type { ExportSource } from '../ports';
import { isKind, type Kind } from './kinds';
import { hashing, type Line, readLines } from './ndjson';
import { type Manifest, type ManifestFile, ManifestSchema } from './schemas';

/** An export whose manifest and files were checked: safe to decide. */
export interface ValidatedExport {
  readonly manifest: Manifest;
  readonly files: ReadonlyMap<Kind, ManifestFile>;
}

/** The manifest's text, without the byte-order mark that Windows editors write (as kind files are read). */
async function readAll(bytes: AsyncIterable<Uint8Array>): Promise<string> {
  return (await bytesOf(bytes)).toString('utf8').replace(/^\uFEFF/, '');
}

const reject = (message: string, file: string, cause?: unknown): never => {
  throw new ExportRejectedError(message, file, cause === undefined ? undefined : { cause });
};

/** A path that names a plain file inside the export: relative, no `.` or `..`, no control characters. */
const isInsideExport = (path: string) =>
  !path.startsWith('/') &&
  !path.includes('\\') &&
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL or a newline in a path is refused
  !/[\u0000-\u001f\u007f]/.test(path) &&
  path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');

/** Parses and checks manifest.json against the schema and the folder name; reads no kind file. */
export async function readManifest(
  source: ExportSource,
): Promise<{ manifest: Manifest; files: Map<Kind, ManifestFile> }> {
  const bytes = await source.open(MANIFEST);
  if (!bytes) return reject(`${MANIFEST} is missing: the export is not complete`, MANIFEST);
  let json: unknown;
  try {
    json = JSON.parse(await readAll(bytes));
  } catch (cause) {
    return reject(`${MANIFEST} is not valid JSON`, MANIFEST, cause);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return reject(`${MANIFEST}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, MANIFEST);
  }
  const manifest = parsed.data;
  if (manifest.exportId !== source.name) {
    reject(
      `${MANIFEST}: exportId "${manifest.exportId}" does not equal the export's name "${source.name}"`,
      MANIFEST,
    );
  }
  const files = new Map<Kind, ManifestFile>();
  for (const [i, file] of manifest.files.entries()) {
    if (!isKind(file.kind)) reject(`${MANIFEST}: files[${i}].kind: unknown kind "${file.kind}"`, MANIFEST);
    const kind = file.kind as Kind;
    if (files.has(kind)) reject(`${MANIFEST}: files[${i}].kind: kind "${kind}" is listed twice`, MANIFEST);
    if (!isInsideExport(file.path))
      reject(`${MANIFEST}: files[${i}].path: "${file.path}" leaves the export`, MANIFEST);
    files.set(kind, { ...file, kind });
  }
  return { manifest, files };
}

/**
 * What reads a listed file's lines as validate checks it (its one pass over the file): each non-blank line
 * in order, readable or not; a promise returned holds the read back until it settles. `end` after the
 * last line.
 */
export interface FileReader {
  line(line: Line): Promise<void> | undefined;
  end?(): Promise<void>;
}

/**
 * Reads one listed file whole: its SHA-256 and its number of non-blank lines must match the manifest.
 * `reader` sees each line as it is read. A failure of the file is a rejection; one of the reader is not.
 */
export async function checkFile(
  source: ExportSource,
  file: ManifestFile,
  reader?: FileReader,
): Promise<void> {
  const bytes = await source.open(file.path);
  if (!bytes) return reject(`${file.path}: listed in ${MANIFEST} but missing`, file.path);
  const hashed = hashing(bytes);
  const lines = readLines(hashed.bytes)[Symbol.asyncIterator]();
  let count = 0;
  for (;;) {
    let next: IteratorResult<Line>;
    try {
      next = await lines.next();
    } catch (cause) {
      return reject(`${file.path}: cannot be read (${(cause as Error).message})`, file.path, cause);
    }
    if (next.done) break;
    count++;
    const waiting = reader?.line(next.value);
    if (waiting) await waiting;
  }
  await reader?.end?.();
  const sha256 = hashed.digest();
  if (sha256 !== file.sha256) {
    reject(`${file.path}: SHA-256 is ${sha256}, the manifest says ${file.sha256}`, file.path);
  }
  if (count !== file.records) {
    reject(`${file.path}: has ${count} non-blank lines, the manifest says ${file.records}`, file.path);
  }
}

/**
 * Rejects a damaged export before anything is decided (legacy-export.md): every listed file present,
 * with the manifest's SHA-256 and line count; known kinds; schemaVersion 1. Throws ExportRejectedError.
 */
export async function validateExport(source: ExportSource): Promise<ValidatedExport> {
  const { manifest, files } = await readManifest(source);
  for (const file of files.values()) await checkFile(source, file);
  return { manifest, files };
}
