import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Clients, lambdaEntry, queueUrlsFrom } from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { dynamoStore } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import { type Run, type StageStatus, stageStatus } from '../core/pipeline/steps';
import type { PipelineStore } from '../core/ports';
import { QUEUE_ENV } from '../env';

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

export function pendingMessages(sqs: SQSClient, urls: readonly string[]) {
  return async () => {
    let pending = 0;
    for (const QueueUrl of urls) {
      const r = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      for (const v of Object.values(r.Attributes ?? {})) pending += Number(v);
    }
    return pending;
  };
}

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): ProgressDeps {
  const config = readConfig(['table', ...Object.values(QUEUE_ENV)], env);
  return {
    store: dynamoStore(clients.dynamo, config.table),
    pendingMessages: pendingMessages(clients.sqs, Object.values(queueUrlsFrom(config))),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
