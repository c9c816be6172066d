import { dynamoStore } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import { type Clients, lambdaEntry, readConfig } from '../adapters/wiring';
import { exportKeys } from '../core/keys';
import { recordRunStatus } from '../core/pipeline/run';
import type { PipelineStore } from '../core/ports';

/** The failure path of the state machine: records why the run failed (the error, never record content). */
export interface FailureInput {
  readonly exportId?: string;
  /** The upload's key, `exports/<exportId>/manifest.json`, when the run failed before it opened. */
  readonly key?: string;
  readonly run?: { exportId: string; scope: string; waves: string[]; executionId?: string };
  readonly error?: { Error?: string; Cause?: string };
}

/** The message of a Catch's Cause: JSON `{errorType, errorMessage}` on AWS, the plain message locally. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return 'unknown error';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

export const makeHandler =
  (deps: { store: PipelineStore; now?: () => Date }) =>
  async (event: FailureInput): Promise<{ state: 'failed'; error: string }> => {
    const error = `${event.error?.Error ?? 'Error'}: ${causeMessage(event.error?.Cause)}`;
    const exportId =
      event.run?.exportId ?? event.exportId ?? exportKeys.exportIdOf(event.key ?? '') ?? 'unknown';
    await recordRunStatus(deps.store, exportId, {
      scope: event.run?.scope ?? exportId,
      waves: event.run?.waves ?? [],
      state: 'failed',
      at: (deps.now?.() ?? new Date()).toISOString(),
      error,
    });
    // The run has ended: its execution gives the export's run lock back (a refused start holds none).
    if (event.run?.executionId) await deps.store.unlockRun(exportId, event.run.executionId);
    logger.error('run failed', { exportId, errorType: event.error?.Error });
    return { state: 'failed', error };
  };

export const depsFrom = (clients: Clients, env: NodeJS.ProcessEnv) => ({
  store: dynamoStore(clients.dynamo, readConfig(['table'], env).table),
});
export const handler = lambdaEntry(makeHandler, depsFrom);
