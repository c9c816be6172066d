/** Typed errors of the core; callers branch on them with `instanceof`. */

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
