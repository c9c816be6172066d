import { partWorker, type Redelivery, sqsChunkQueue } from '../adapters/sqs';
import {
  type Clients,
  lambdaEntry,
  partDepsFrom,
  QUEUE_ENV,
  queueUrlsFrom,
  readConfig,
  withRedelivery,
} from '../adapters/wiring';
import { type PartDeps, workPart } from '../core/pipeline/report-parts';

/**
 * The report's parts, fed by the report queue: a `map` part counts a run of result objects, writes its
 * part of decisions.ndjson and spools decisions to the receipts partitions; a `receipts` part puts one
 * partition's receipts into the reports bucket, once it has joined what the map parts spooled for it, a page
 * of their objects an invocation (core/pipeline/report-parts).
 */
export const makeHandler = (deps: PartDeps & Redelivery) => partWorker(['map', 'receipts'], workPart, deps);
/** A receipts partition hands the rest of its spool's join on to its own queue. */
const reportDepsFrom = (clients: Clients, env: NodeJS.ProcessEnv): PartDeps => ({
  ...partDepsFrom(clients, env),
  queue: sqsChunkQueue(clients.sqs, queueUrlsFrom(readConfig([QUEUE_ENV.report], env))),
});
export const depsFrom = withRedelivery('report', reportDepsFrom);
export const handler = lambdaEntry(makeHandler, depsFrom);
