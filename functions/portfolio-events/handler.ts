import { lambdaEntry } from '../adapters/aws';
import { type EntityDeps, entityDepsFrom, makeEntityHandler } from '../shared/entity-worker';

/** The portfolio-events worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: EntityDeps) => makeEntityHandler('portfolio-events', deps);
export const depsFrom = entityDepsFrom;
export const handler = lambdaEntry(makeHandler, depsFrom);
