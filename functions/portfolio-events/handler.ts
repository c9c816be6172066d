import { entityWorker, type Redelivery } from '../adapters/sqs';
import { entityDepsFrom, lambdaEntry, withRedelivery } from '../adapters/wiring';
import type { ChunkDeps } from '../core/pipeline/chunk-work';

/** The portfolio-events worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: ChunkDeps & Redelivery) => entityWorker('portfolio-events', deps);
export const depsFrom = withRedelivery('portfolio-events', entityDepsFrom);
export const handler = lambdaEntry(makeHandler, depsFrom);
