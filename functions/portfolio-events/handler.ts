import { entityHandler, makeEntityHandler } from '../shared/entity-worker';

/** The portfolio-events worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: Parameters<typeof makeEntityHandler>[1]) =>
  makeEntityHandler('portfolio-events', deps);
export const handler = entityHandler('portfolio-events');
