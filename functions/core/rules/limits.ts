/**
 * Every record costs bounded memory, time and storage, whatever it holds: each cap, in one place, with
 * the service limit or the resource it protects (docs/operators.md, "Caps"). A record over a cap is quarantined
 * (`INVALID_RECORD`, the detail names the cap), in `plan` and `run` alike; a file over a cap is rejected.
 */
export const LIMITS = {
  /** An id, or a reference to one (accountId, projectId, ...), in UTF-8 bytes. */
  idBytes: {
    value: 512,
    protects:
      "DynamoDB's 2,048-byte keys and 400 KB items (container decisions hold ids), S3's 1,024-byte keys",
  },
  /** One line of a kind file; a longer one is quarantined without being held in memory. */
  lineBytes: {
    value: 16 * 1024 * 1024,
    protects: 'the memory of plan and of a worker (a line is parsed whole)',
  },
  /** Owners of one record (a project's founders, a group's admins). */
  ownersPerRecord: {
    value: 100,
    protects: "a chunk's result object (a ledger row holds its owners) and the receipts' spool on disk",
  },
  /** Members or participants of one record (a group's members, an event's participants). */
  membersPerRecord: {
    value: 100_000,
    protects:
      "the receipts' spool on disk (each member's receipt names the space) and a record's size in the results",
  },
  /** A compressed kind file may inflate to at most this many times its compressed bytes (plus 1 MiB). */
  inflation: {
    value: 200,
    protects: 'the time and disk of every read of the file (a gzip bomb is rejected)',
  },
  /** A file's declared size. */
  fileBytes: {
    value: 5 * 1024 ** 3,
    protects: "S3's 5 GB single-request copy, and the sizes receipts offer",
  },
  /** A file's name, in UTF-8 bytes (DQ-6 makes a longer-than-255-byte name safe; this bounds what is kept). */
  fileNameBytes: {
    value: 1024,
    protects: "a chunk's result object and the receipts (a ledger row holds file names)",
  },
  /** A path in the manifest, in UTF-8 bytes. */
  pathBytes: {
    value: 512,
    protects:
      "S3's 1,024-byte keys (exports/<id>/<path>) and SQS's 256 KB messages (a chunk message names its file)",
  },
  /** One chunk object of the pipeline: chunks are cut at this many bytes as well as PARTITIONING.chunkLines lines. */
  chunkBytes: {
    value: 8 * 1024 * 1024,
    protects: "a worker's memory (a chunk is read whole) and its 15 minutes",
  },
} as const;

export type LimitName = keyof typeof LIMITS;

const bytes = (n: number) =>
  n >= 1024 ** 3
    ? `${n / 1024 ** 3} GiB`
    : n >= 1024 ** 2
      ? `${n / 1024 ** 2} MiB`
      : `${n.toLocaleString('en-US')} bytes`;

/** How a decision's detail names a cap: `over the cap of 512 bytes (idBytes)`. */
export function overCap(name: LimitName): string {
  const { value } = LIMITS[name];
  const amount =
    name === 'ownersPerRecord'
      ? `${value} owners`
      : name === 'membersPerRecord'
        ? `${value.toLocaleString('en-US')} members`
        : name === 'inflation'
          ? `${value} times its size`
          : bytes(value);
  return `over the cap of ${amount} (${name})`;
}

export const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A string that UTF-8 cannot carry as it is (a lone surrogate): two such ids would look alike. */
export const isWellFormed = (text: string) => !LONE_SURROGATE.test(text);

/** Why a string cannot be an id, or undefined when it can. */
export function idProblem(value: string): string | undefined {
  if (!isWellFormed(value)) return 'contains a lone surrogate (not valid Unicode)';
  // An id is keyed, named in reports and carried into the target: it may never be an e-mail (ID-5).
  if (value.includes('@'))
    return 'looks like an e-mail address, which no key, report or target may carry (ID-5)';
  const n = utf8Bytes(value);
  if (n > LIMITS.idBytes.value) return `${n.toLocaleString('en-US')} bytes, ${overCap('idBytes')}`;
  return undefined;
}
