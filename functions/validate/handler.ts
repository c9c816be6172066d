import { logger } from '../adapters/observability';
import { type Clients, lambdaEntry, validateDepsFrom } from '../adapters/wiring';
import {
  beginRun,
  type CheckedFile,
  checkRunFile,
  discardStart,
  type Opening,
  openCheckedRun,
  type Run,
  type StartInput,
} from '../core/pipeline/run';
import { type RollbackDeps, withdrawReplaced } from '../core/pipeline/withdraw';
import type { ManifestFile } from '../core/rules/schemas';

/** The steps of a start, as the state machine invokes them (core/pipeline/run). */
export type ValidateEvent =
  /** The manifest checked, the export's run lock taken. */
  | { readonly start: StartInput; readonly executionId?: string }
  /** One listed file checked and cut into pieces (all at once, one invocation each). */
  | { readonly opening: Opening; readonly file: ManifestFile }
  /** Every file checked: the run opened (a changed export refused, or replacing the earlier run). */
  | { readonly opening: Opening; readonly checked: readonly CheckedFile[] }
  /** A file's check failed: nothing of the start stays. */
  | { readonly opening: Opening; readonly discard: true };

/** What a start keeps of the execution's input. */
const startOf = ({ key, exportId, wave, replace, rerun }: StartInput): StartInput => ({
  ...(key !== undefined ? { key } : {}),
  ...(exportId !== undefined ? { exportId } : {}),
  ...(wave !== undefined ? { wave } : {}),
  ...(replace !== undefined ? { replace } : {}),
  ...(rerun !== undefined ? { rerun } : {}),
});

/**
 * Validates the uploaded export a step at a time (a rejected one fails the execution:
 * ExportRejectedError) and opens the run; a corrected export under a finished id is rejected, or
 * replaces the earlier run (withdrawn first).
 */
export const makeHandler =
  (deps: RollbackDeps) =>
  async (event: ValidateEvent): Promise<Opening | CheckedFile | Run | { discarded: true }> => {
    if ('start' in event) {
      const input = {
        ...startOf(event.start),
        ...(event.executionId ? { executionId: event.executionId } : {}),
      };
      const opening = await beginRun(input, deps.workflow);
      logger.info('start begun', {
        exportId: opening.exportId,
        scope: opening.scope,
        files: opening.files.length,
      });
      return opening;
    }
    if ('file' in event) {
      const checked = await checkRunFile(event.opening, event.file, deps.workflow);
      logger.info('file checked', {
        exportId: event.opening.exportId,
        kind: checked.kind,
        pieces: checked.pieces,
      });
      return checked;
    }
    if ('checked' in event) {
      const run = await openCheckedRun(event.opening, event.checked, deps.workflow, (exportId, files) =>
        withdrawReplaced(exportId, files, deps),
      );
      logger.info('run started', { exportId: run.exportId, scope: run.scope, waves: run.waves });
      return run;
    }
    await discardStart(event.opening, deps.workflow);
    return { discarded: true };
  };

export const depsFrom = (clients: Clients, env: NodeJS.ProcessEnv) => validateDepsFrom(clients, env);
export const handler = lambdaEntry(makeHandler, depsFrom);
