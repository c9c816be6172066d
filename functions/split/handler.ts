import {
  type Clients,
  lambdaEntry,
  queueUrlsFrom,
  sqsChunkQueue,
  WORKFLOW_ENV,
  workflowDeps,
} from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { logger } from '../adapters/observability';
import { type ChunkQueue, type Run, splitStage, type WorkflowDeps } from '../core/pipeline/steps';
import { QUEUE_ENV } from '../env';

/** Cuts a stage's kind files into chunks (claim check in S3) and sends one message per chunk. */
export const makeHandler =
  (deps: { workflow: WorkflowDeps; queue: ChunkQueue }) =>
  async (event: { run: Run; stage: string }): Promise<{ chunks: number; sent: number }> => {
    const result = await splitStage(event.run, event.stage, { ...deps.workflow, queue: deps.queue });
    logger.info('stage split', { exportId: event.run.exportId, stage: event.stage, ...result });
    return result;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, ...Object.values(QUEUE_ENV)], env);
  return {
    workflow: workflowDeps(clients, config),
    queue: sqsChunkQueue(clients.sqs, queueUrlsFrom(config)),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
