import { entityHandler, makeEntityHandler } from '../shared/entity-worker';

/** The twinspace worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: Parameters<typeof makeEntityHandler>[1]) =>
  makeEntityHandler('twinspace', deps);
export const handler = entityHandler('twinspace');
