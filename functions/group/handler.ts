import { entityHandler, makeEntityHandler } from '../shared/entity-worker';

/** The group worker: decides the chunks of its kinds, fed by its own SQS queue. */
export const makeHandler = (deps: Parameters<typeof makeEntityHandler>[1]) =>
  makeEntityHandler('group', deps);
export const handler = entityHandler('group');
