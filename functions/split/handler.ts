import { logger } from '../adapters/observability';
import { sqsChunkQueue } from '../adapters/sqs';
import {
  type Clients,
  lambdaEntry,
  QUEUE_ENV,
  queueUrlsFrom,
  readConfig,
  WORKFLOW_ENV,
  workflowDeps,
} from '../adapters/wiring';
import type { Run, WorkflowDeps } from '../core/pipeline/run';
import { splitStage } from '../core/pipeline/split';
import type { ChunkQueue } from '../core/ports';

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
