/** The typed errors of the project, in one place; callers branch on them with `instanceof`. */

/** The export is rejected as a whole (legacy-export.md): nothing is decided, exit status 2. */
export class ExportRejectedError extends Error {
  override name = 'ExportRejectedError';
  constructor(
    message: string,
    readonly file?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A policy file that does not validate. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** Conservation does not hold: a record was lost or counted twice. A bug, never the export's fault. */
export class ConservationError extends Error {
  override name = 'ConservationError';
}

/** A required setting (a Lambda environment variable) is missing or invalid: the function cannot start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A queue message that cannot be processed as it stands; it will reach the dead-letter queue. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/** The command line was wrong: the message names the argument; exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failed execution of the state machine, with the error name and cause of its Fail state. */
export class ExecutionFailedError extends Error {
  override name = 'ExecutionFailedError';
  constructor(
    readonly error: string,
    readonly causeText: string,
  ) {
    super(`the run failed: ${error}: ${causeText}`);
  }
}

/** An export that the local state has no finished run of: exit 2, like any argument that names nothing. */
export class NoRunError extends UsageError {
  override name = 'NoRunError';
}

/** The estimate's walk of the state machine met a state or a condition its model does not know. */
export class UnknownWorkflowError extends Error {
  override name = 'UnknownWorkflowError';
}

/** The machine, not the export, stopped the work: a full disk, a read-only folder (exit 1, the path named). */
export class FileSystemError extends Error {
  override name = 'FileSystemError';
}

/** Another process holds the local state folder (exit 1, naming its pid and the folder). */
export class StateBusyError extends Error {
  override name = 'StateBusyError';
  /** The process that holds the state folder. */
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
  }
}

/** The support desk's link by hand is refused (ID-8): the message says why; exit status 2. */
export class LinkRefusedError extends Error {
  override name = 'LinkRefusedError';
}

/** Another execution is running the same export (a repeated upload event): this one is refused. */
export class RunInProgressError extends Error {
  override name = 'RunInProgressError';
}

/** A run opened without the pieces its stages copy (pipeline/pieces): it must be started again. */
export class PiecesMissingError extends Error {
  override name = 'PiecesMissingError';
}

/**
 * A queue message's body, parsed and checked against its schema; a message that can never be worked
 * throws PoisonMessageError (it goes to the dead-letter queue), naming what is wrong but none of its content.
 */
export function parseMessage<T>(
  body: string,
  schema: {
    safeParse(
      raw: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[] }[] } };
  },
  what: string,
): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (cause) {
    throw new PoisonMessageError('message body is not JSON', { cause });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new PoisonMessageError(`not ${what}: ${parsed.error.issues[0]?.path.map(String).join('.')}`);
  return parsed.data;
}

/**
 * A later export took a TwinSpace or group while this chunk decided it (two exports at once): the chunk
 * fails before it writes anything and, delivered again, decides the record as the later export holds it.
 */
export class HolderChangedError extends Error {
  override name = 'HolderChangedError';
}

/**
 * The owner account of a record this chunk holds as ORPHAN_RECORD was indexed while the chunk decided it:
 * the chunk fails before its marker and, delivered again, decides the record with its owner.
 */
export class OwnerArrivedError extends Error {
  override name = 'OwnerArrivedError';
}

/**
 * A run's index of the values that must never reach the target (core/forbidden) is missing or not one
 * this version writes: verify cannot check for credentials until the export is run again.
 */
export class ForbiddenIndexError extends Error {
  override name = 'ForbiddenIndexError';
}
