import { dynamoStore } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import { pendingMessages } from '../adapters/sqs';
import { type Clients, lambdaEntry, QUEUE_ENV, queueUrlsFrom, readConfig } from '../adapters/wiring';
import { type StageStatus, stageStatus } from '../core/pipeline/progress';
import type { Run } from '../core/pipeline/run';
import type { PipelineStore } from '../core/ports';

export interface ProgressDeps {
  readonly store: PipelineStore;
  /** Messages still visible, in flight or delayed on the entity queues. */
  readonly pendingMessages: () => Promise<number>;
}

/** The progress check of the Wait loop: sums the stage's chunk markers, and notices a stalled stage. */
export const makeHandler =
  (deps: ProgressDeps) =>
  async (event: { run: Run; stage: string; stalledChecks?: number }): Promise<StageStatus> => {
    const status = await stageStatus(event.run, event.stage, deps, event.stalledChecks ?? 0);
    logger.info('stage progress', { exportId: event.run.exportId, stage: event.stage, ...status });
    return status;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): ProgressDeps {
  const config = readConfig(['table', ...Object.values(QUEUE_ENV)], env);
  return {
    store: dynamoStore(clients.dynamo, config.table),
    pendingMessages: pendingMessages(clients.sqs, Object.values(queueUrlsFrom(config))),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
