import { readFileSync } from 'node:fs';
import type { Node } from 'constructs';
import { DEFAULT_RETENTION_DAYS } from '../functions/adapters/dynamo-store';
import { DEFAULT_TARGET_BUCKETS } from '../functions/core/bucket-sets';
import { CEILINGS } from '../functions/core/ceilings';
import { type Partitioning, PartitioningSchema } from '../functions/core/pipeline/sizing';
import { type CompiledPolicy, compilePolicy, parsePolicyJson } from '../functions/core/rules/policy';

/**
 * The deployment's settings, from CDK context (`cdk deploy -c key=value` or cdk.json). Every one has a
 * default, so a plain `cdk synth` works offline.
 */
export interface Settings {
  /** Names the stacks and the metrics namespace: dev, test, prod. */
  readonly envName: string;
  /** The migration policy: the defaults of the rules, or a JSON file of changes (`-c policyFile=...`). */
  readonly policy: CompiledPolicy;
  /** Raw exports (and the run's working copies) are deleted this many days after upload. */
  readonly exportRetentionDays: number;
  /** Alarms are sent to this address when set (an SNS e-mail subscription). */
  readonly alarmEmail?: string;
  /** The most concurrent invocations of each entity worker (SQS event source maxConcurrency, 2-1000). */
  readonly workerConcurrency: number;
  /**
   * Seconds a stage waits for its last chunk's answer (a task token) before it checks its markers itself:
   * a stage ends on the answer; this bounds an answer that was lost, and paces the stall checks.
   */
  readonly pollSeconds: number;
  /** Hours that the download links in receipts stay valid (capped by the report function's session). */
  readonly downloadUrlHours: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Writes per second the state table is pre-warmed to (4000, a new on-demand table's, is no pre-warming). */
  readonly tableWarmWrites: number;
  /** Reads per second the state table is pre-warmed to (12000, a new on-demand table's, is no pre-warming). */
  readonly tableWarmReads: number;
  /**
   * Partitions each bucket has from the start (1: a new bucket's; more only when AWS Support has
   * partitioned the buckets ahead of the run). The workers are paced to 3,500 writes and 5,500 reads a
   * second per partition (CEILINGS): S3 adds partitions under sustained load, but AWS documents no time.
   */
  readonly bucketPartitions: number;
  /**
   * Buckets the migrated target and the reports are each spread over (core/bucket-sets): each new bucket
   * takes 3,500 writes and 5,500 reads a second from the first, so N buckets take N times that without
   * waiting for S3 to partition. Keys go to a bucket by their record's shard (docs/aws.md, "Migrated layout").
   */
  readonly targetBuckets: number;
  /**
   * The account's quotas the deployment must fit (defaults: AWS's, CEILINGS): request units a second per
   * table, and concurrent Lambda executions. Raise them only with the quota AWS granted.
   */
  readonly quotas: { readonly tableUnitsPerSecond: number; readonly lambdaConcurrency: number };
  /** How a run's work is cut into invocations (`-c partitioning='{"verifyKeys":2000}'`); the defaults fit a full export. */
  readonly partitioning: Partitioning;
}

/** The defaults of the numeric settings (also what `plan`'s AWS estimate assumes unless told). */
export const SETTING_DEFAULTS = {
  exportRetentionDays: DEFAULT_RETENTION_DAYS,
  workerConcurrency: 10,
  pollSeconds: 30,
  downloadUrlHours: 12,
  tableWarmWrites: CEILINGS.newTableWritesPerSecond,
  tableWarmReads: CEILINGS.newTableReadsPerSecond,
  bucketPartitions: 1,
  targetBuckets: DEFAULT_TARGET_BUCKETS,
  tableQuota: CEILINGS.tableWritesQuota,
  lambdaConcurrencyQuota: CEILINGS.lambdaConcurrencyQuota,
} as const;

function integer(node: Node, key: string, fallback: number, min: number, max: number): number {
  const raw = node.tryGetContext(key);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `context ${key}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

export function readSettings(node: Node): Settings {
  const policyFile = node.tryGetContext('policyFile') as string | undefined;
  const logLevel = String(node.tryGetContext('logLevel') ?? 'INFO').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel))
    throw new RangeError(`context logLevel: unknown level ${logLevel}`);
  const envName = String(node.tryGetContext('envName') ?? 'dev');
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(envName))
    throw new RangeError(`context envName: expected [a-z][a-z0-9-]{0,15}, got ${envName}`);
  const alarmEmail = node.tryGetContext('alarmEmail') as string | undefined;
  return {
    envName,
    policy: policyFile ? parsePolicyJson(readFileSync(policyFile, 'utf8'), policyFile) : compilePolicy(),
    exportRetentionDays: integer(node, 'exportRetentionDays', SETTING_DEFAULTS.exportRetentionDays, 1, 3650),
    ...(alarmEmail ? { alarmEmail } : {}),
    workerConcurrency: integer(node, 'workerConcurrency', SETTING_DEFAULTS.workerConcurrency, 2, 1000),
    pollSeconds: integer(node, 'pollSeconds', SETTING_DEFAULTS.pollSeconds, 1, 3600),
    downloadUrlHours: integer(node, 'downloadUrlHours', SETTING_DEFAULTS.downloadUrlHours, 0, 168),
    logLevel: logLevel as Settings['logLevel'],
    ...warmThroughput(node),
    bucketPartitions: integer(node, 'bucketPartitions', SETTING_DEFAULTS.bucketPartitions, 1, 1024),
    // Two sets of them, well within an account's buckets (CEILINGS.bucketsQuota).
    targetBuckets: integer(node, 'targetBuckets', SETTING_DEFAULTS.targetBuckets, 1, 64),
    partitioning: partitioningOf(node.tryGetContext('partitioning')),
  };
}

/**
 * The table's warm throughput, reads and writes apart, each within the per-table quota (warm throughput
 * above it is refused by the stack update): `-c tableQuota=<n>` names a quota AWS has raised.
 */
function warmThroughput(node: Node) {
  const tableQuota = integer(node, 'tableQuota', SETTING_DEFAULTS.tableQuota, 1, 10_000_000);
  const warm = (key: string, fallback: number) => {
    const value = integer(node, key, fallback, fallback, 10_000_000);
    if (value > tableQuota)
      throw new RangeError(
        `context ${key}: ${value} units a second is over the table's quota of ${tableQuota} (AWS's default per on-demand table is ${CEILINGS.tableWritesQuota}); ask AWS to raise it (Service Quotas, DynamoDB, "Table-level write/read throughput limit"), then deploy with -c tableQuota=<granted>`,
      );
    return value;
  };
  return {
    tableWarmWrites: warm('tableWarmWrites', SETTING_DEFAULTS.tableWarmWrites),
    tableWarmReads: warm('tableWarmReads', SETTING_DEFAULTS.tableWarmReads),
    quotas: {
      tableUnitsPerSecond: tableQuota,
      lambdaConcurrency: integer(
        node,
        'lambdaConcurrencyQuota',
        SETTING_DEFAULTS.lambdaConcurrencyQuota,
        CEILINGS.lambdaUnreservedMinimum + 1,
        10_000_000,
      ),
    },
  };
}

function partitioningOf(raw: unknown): Partitioning {
  const value = typeof raw === 'string' ? JSON.parse(raw) : (raw ?? {});
  const parsed = PartitioningSchema.safeParse(value);
  if (!parsed.success)
    throw new RangeError(
      `context partitioning: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}
