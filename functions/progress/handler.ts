import { awsClients } from '../adapters/aws';
import { onColdStart, readConfig } from '../adapters/config';
import { dynamoStore } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import type { PipelineStore } from '../core/ports';
import { type Run, type StageStatus, stageStatus } from '../core/workflow';

/** The progress check of the Wait loop: sums the stage's chunk markers. */
export const makeHandler =
  (deps: { store: PipelineStore }) =>
  async (event: { run: Run; stage: string }): Promise<StageStatus> => {
    const status = await stageStatus(event.run, event.stage, deps);
    logger.info('stage progress', { exportId: event.run.exportId, stage: event.stage, ...status });
    return status;
  };

export const handler = onColdStart(() => {
  const config = readConfig(['table']);
  return makeHandler({ store: dynamoStore(awsClients().dynamo, config.table) });
});
