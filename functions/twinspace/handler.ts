import { entityWorker, type Redelivery } from '../adapters/sqs';
import { entityDepsFrom, lambdaEntry, withRedelivery } from '../adapters/wiring';
import type { ChunkDeps } from '../core/pipeline/chunk-work';

/** The twinspace worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: ChunkDeps & Redelivery) => entityWorker('twinspace', deps);
export const depsFrom = withRedelivery('twinspace', entityDepsFrom);
export const handler = lambdaEntry(makeHandler, depsFrom);
