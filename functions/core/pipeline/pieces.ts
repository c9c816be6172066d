import { eachLimited } from '../concurrency';
import { PiecesMissingError } from '../errors';
import { IdTable } from '../id-table';
import { workKeys } from '../keys';
import type { ObjectStore } from '../ports';
import { fileOf, parseLine } from '../rules/decide';
import type { Kind } from '../rules/kinds';
import { LIMITS } from '../rules/limits';
import type { FileReader } from '../rules/manifest';
import type { Line } from '../rules/ndjson';
import { type AnyRecord, withoutCredentials } from '../rules/schemas';
import { encodeChunkLine } from './chunks';
import { PARTITIONING, type Partitioning } from './sizing';

/**
 * A run's kind files cut once, in the start's one read of each (validate, a file an invocation): pieces
 * of the working area
 * (`work/<scope>/pieces/<kind>/<n>.ndjson`), each the lines of one chunk, as every stage that works the
 * kind copies them (pipeline/split: a stage's split copies pieces, it reads no export file). A piece keeps
 * each line's physical line number; lines whose id an earlier line of the file had are marked (DQ-2: the
 * first stands, as a reader of the whole file decides); an account's password hash and login are left
 * out (ID-1). Cut by lines, by bytes (a piece of long lines stays one bounded object), and by the files
 * its lines carry (a worker reads each file whole and copies it: a piece of items with large files stays
 * within its time). Safe to repeat: the same export gives the same pieces under the same keys.
 */

/** Pieces stored at once while a file is cut. */
export const CUT_CONCURRENCY = 16;

/** The size of the file a line declares (not yet checked against its schema: an unreadable size counts as none). */
function declaredFileSize(kind: Kind, raw: Record<string, unknown> | undefined): number | undefined {
  if (!raw) return undefined;
  const ref = fileOf(kind, raw as unknown as AnyRecord) as unknown;
  if (typeof ref !== 'object' || ref === null) return undefined;
  const size = (ref as { size?: unknown }).size;
  return typeof size === 'number' && Number.isFinite(size) && size > 0 ? size : 0;
}

/** A kind file as cut: its path in the export (a line's id is `<path>:<line>`) and its pieces. */
export interface CutFile {
  readonly path: string;
  readonly pieces: number;
}

/** The kind files a run's stages work, as validate cut them. */
export type RunPieces = Readonly<Partial<Record<Kind, CutFile>>>;

/** The pieces a run's stages work, as validate cut them; PiecesMissingError for a run opened without them. */
export function piecesOfRun(run: { readonly exportId: string; readonly pieces?: RunPieces }): RunPieces {
  if (!run.pieces)
    throw new PiecesMissingError(
      `the run of ${run.exportId} has no pieces (opened by an earlier version): run the export again`,
    );
  return run.pieces;
}

export interface PieceDeps {
  readonly objects: ObjectStore;
  readonly exportsBucket: string;
  readonly partitioning?: Partitioning;
}

/**
 * Cuts a run's kind files as a start's checks read them: `reader(kind, path)` for each file to cut;
 * `finish()` waits for every piece and gives each kind's count; `discard()` deletes the pieces it stored
 * (a file that failed its check: nothing of it stays).
 */
export class PieceCutter {
  private readonly cut: Partial<Record<Kind, CutFile>> = {};
  private readonly stored: string[] = [];
  private readonly inFlight: Promise<void>[] = [];
  private failure: unknown;

  constructor(
    private readonly scope: string,
    private readonly deps: PieceDeps,
  ) {}

  /** What reads one kind file in order and cuts it. */
  reader(kind: Kind, path: string): FileReader {
    const p = this.deps.partitioning ?? PARTITIONING;
    const seen = new IdTable();
    let rows: string[] = [];
    let bytes = 0;
    let files = 0;
    let fileBytes = 0;
    let piece = 0;
    const flush = () => {
      const key = workKeys.piece(this.scope, kind, piece++);
      const body = `${rows.join('\n')}\n`;
      rows = [];
      bytes = 0;
      files = 0;
      fileBytes = 0;
      this.cut[kind] = { path, pieces: piece };
      return this.store(key, body);
    };
    return {
      line: (line: Line) => {
        const parsed = 'unreadable' in line ? undefined : parseLine(line.text);
        const duplicate = parsed?.ok === true && !seen.add(parsed.id);
        const staged =
          kind === 'accounts' && 'text' in line && parsed?.raw
            ? { ...line, text: withoutCredentials(line.text, parsed.raw) }
            : line;
        const row = encodeChunkLine(duplicate ? { ...staged, duplicate } : staged);
        const size = declaredFileSize(kind, parsed?.raw);
        let waiting: Promise<void> | undefined;
        if (
          rows.length > 0 &&
          (bytes + row.length > LIMITS.chunkBytes.value ||
            (size !== undefined && (files + 1 > p.chunkFiles || fileBytes + size > p.chunkFileBytes)))
        )
          waiting = flush();
        rows.push(row);
        bytes += row.length + 1;
        if (size !== undefined) {
          files++;
          fileBytes += size;
        }
        if (rows.length >= p.chunkLines) {
          const next = flush();
          waiting = waiting ? waiting.then(() => next) : next;
        }
        return waiting;
      },
      end: async () => {
        if (rows.length > 0) await flush();
      },
    };
  }

  /** Stores a piece, up to CUT_CONCURRENCY at once; what it returns settles when there is room for the next. */
  private async store(key: string, body: string): Promise<void> {
    this.stored.push(key);
    const task = this.deps.objects
      .put(this.deps.exportsBucket, key, body, 'application/x-ndjson')
      .catch((error: unknown) => {
        this.failure ??= error;
      });
    this.inFlight.push(task);
    if (this.inFlight.length >= CUT_CONCURRENCY) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  /** Waits for every piece stored; each kind's file and its number of pieces. */
  async finish(): Promise<RunPieces> {
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure;
    return { ...this.cut };
  }

  /** Deletes every piece this cutter stored (after the ones in flight have settled). */
  async discard(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    await eachLimited(this.stored.splice(0), CUT_CONCURRENCY, (key) =>
      this.deps.objects.delete(this.deps.exportsBucket, key),
    );
  }
}
