import { entityWorker } from '../adapters/sqs';
import { entityDepsFrom, lambdaEntry } from '../adapters/wiring';
import type { ChunkDeps } from '../core/pipeline/chunk-work';

/** The twinspace worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: ChunkDeps) => entityWorker('twinspace', deps);
export const depsFrom = entityDepsFrom;
export const handler = lambdaEntry(makeHandler, depsFrom);
