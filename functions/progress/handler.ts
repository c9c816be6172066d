import { dynamoStore } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import { pendingMessages } from '../adapters/sqs';
import { sfnStageTasks } from '../adapters/stage-tasks';
import { type Clients, lambdaEntry, QUEUE_ENV, queueUrlsFrom, readConfig } from '../adapters/wiring';
import { awaitStage, type StageStatus, stageStatus } from '../core/pipeline/progress';
import type { Run } from '../core/pipeline/run';
import type { PipelineStore, StageTasks } from '../core/ports';

export interface ProgressDeps {
  readonly store: PipelineStore;
  /** Messages still visible, in flight or delayed on the entity queues. */
  readonly pendingMessages: () => Promise<number>;
  readonly stageTasks: StageTasks;
}

/**
 * A stage's wait and its check. With a task token (the workflow's wait): records the token where the
 * stage's last chunk will find it, and answers at once when the stage is already done. Without (the
 * check after a wait timed out): sums the stage's chunk markers, and notices a stalled stage.
 */
export const makeHandler =
  (deps: ProgressDeps) =>
  async (event: {
    run: Run;
    stage: string;
    stalledChecks?: number;
    taskToken?: string;
  }): Promise<StageStatus> => {
    const status =
      event.taskToken === undefined
        ? await stageStatus(event.run, event.stage, deps, event.stalledChecks ?? 0)
        : await awaitStage(event.run, event.stage, event.taskToken, deps);
    logger.info(event.taskToken === undefined ? 'stage progress' : 'stage awaited', {
      exportId: event.run.exportId,
      stage: event.stage,
      ...status,
    });
    return status;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): ProgressDeps {
  const config = readConfig(['table', ...Object.values(QUEUE_ENV)], env);
  return {
    store: dynamoStore(clients.dynamo, config.table),
    pendingMessages: pendingMessages(clients.sqs, Object.values(queueUrlsFrom(config))),
    stageTasks: sfnStageTasks(clients.sfn),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
