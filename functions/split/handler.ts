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
import { splitReport } from '../core/pipeline/report-parts';
import type { Run, WorkflowDeps } from '../core/pipeline/run';
import { splitStage } from '../core/pipeline/split';
import { isReportStage } from '../core/pipeline/stages';
import type { ChunkQueue } from '../core/ports';

/**
 * Puts a page of a stage's chunks in place (copies of the pieces validate cut: claim check in S3) and
 * sends one message per chunk; `next` when more pages follow (the state machine invokes it again).
 */
export const makeHandler =
  (deps: { workflow: WorkflowDeps; queue: ChunkQueue }) =>
  async (event: {
    run: Run;
    stage: string;
    from?: number;
  }): Promise<{ chunks: number; sent: number; next?: number }> => {
    const all = { ...deps.workflow, queue: deps.queue };
    // The report's stages are split into parts of the run's results and target, the waves' into chunks.
    const result = isReportStage(event.stage)
      ? await splitReport(event.run, event.stage, all, event.from ?? 0)
      : await splitStage(event.run, event.stage, all, event.from ?? 0);
    logger.info('stage split', { exportId: event.run.exportId, stage: event.stage, ...result });
    return result;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, 'capacity', ...Object.values(QUEUE_ENV)], env);
  return {
    workflow: workflowDeps(clients, config),
    queue: sqsChunkQueue(clients.sqs, queueUrlsFrom(config)),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
