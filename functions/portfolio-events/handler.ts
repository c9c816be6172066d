import { entityWorker } from '../adapters/sqs';
import { entityDepsFrom, lambdaEntry } from '../adapters/wiring';
import type { ChunkDeps } from '../core/pipeline/chunk-work';

/** The portfolio-events worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: ChunkDeps) => entityWorker('portfolio-events', deps);
export const depsFrom = entityDepsFrom;
export const handler = lambdaEntry(makeHandler, depsFrom);
