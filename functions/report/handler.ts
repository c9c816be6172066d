import { presignedDownloads } from '../adapters/s3-objects';
import { partWorker } from '../adapters/sqs';
import { type Clients, ENV, lambdaEntry, readConfig, WORKFLOW_ENV, workflowDeps } from '../adapters/wiring';
import { ConfigError } from '../core/errors';
import type { PartDeps } from '../core/pipeline/report-parts';

/**
 * The report's parts, fed by the report queue: a `map` part counts a run of result objects, writes its
 * part of decisions.ndjson and spools decisions to the receipts partitions; a `receipts` part puts one
 * partition's receipts into the reports bucket (core/pipeline/report-parts).
 */
export const makeHandler = (deps: PartDeps) => partWorker(['map', 'receipts'], deps);

/** The configuration of the report's functions (parts, summary): buckets, links and retention. */
export const REPORT_ENV = [
  ...WORKFLOW_ENV,
  'migratedBucket',
  'reportsBucket',
  'downloadUrlHours',
  'exportRetentionDays',
] as const;

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): PartDeps {
  const config = readConfig(REPORT_ENV, env);
  const hours = Number(config.downloadUrlHours);
  if (!Number.isFinite(hours) || hours < 0 || hours > 168)
    throw new ConfigError(`${ENV.downloadUrlHours}: expected 0 to 168 hours, got ${config.downloadUrlHours}`);
  const days = Number(config.exportRetentionDays);
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new ConfigError(
      `${ENV.exportRetentionDays}: expected 1 to 3650 days, got ${config.exportRetentionDays}`,
    );
  return {
    ...workflowDeps(clients, config),
    retentionDays: days,
    reportsBucket: config.reportsBucket,
    migratedBucket: config.migratedBucket,
    downloads: (exportId: string) => presignedDownloads(clients.s3, config.exportsBucket, exportId, hours),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
