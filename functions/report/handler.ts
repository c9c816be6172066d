import { partWorker, type Redelivery } from '../adapters/sqs';
import { lambdaEntry, partDepsFrom, withRedelivery } from '../adapters/wiring';
import { type PartDeps, workPart } from '../core/pipeline/report-parts';

/**
 * The report's parts, fed by the report queue: a `map` part counts a run of result objects, writes its
 * part of decisions.ndjson and spools decisions to the receipts partitions; a `receipts` part puts one
 * partition's receipts into the reports bucket (core/pipeline/report-parts).
 */
export const makeHandler = (deps: PartDeps & Redelivery) => partWorker(['map', 'receipts'], workPart, deps);
export const depsFrom = withRedelivery('report', partDepsFrom);
export const handler = lambdaEntry(makeHandler, depsFrom);
