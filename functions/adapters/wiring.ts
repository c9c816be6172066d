import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type * as z from 'zod';
import { ConfigError } from '../core/errors';
import type { ChunkDeps } from '../core/pipeline/chunk-work';
import type { ForgetDeps } from '../core/pipeline/erase';
import type { PartDeps } from '../core/pipeline/report-parts';
import { bucketExportSource, type WorkflowDeps } from '../core/pipeline/run';
import {
  type Capacity,
  CapacitySchema,
  type Partitioning,
  PartitioningSchema,
  SIZING,
} from '../core/pipeline/sizing';
import type { RollbackDeps } from '../core/pipeline/withdraw';
import type { Queued } from '../core/pipeline/workers';
import { erasedNow, type IsErased } from '../core/rules/erasure';
import { type CompiledPolicy, parsePolicyJson } from '../core/rules/policy';
import { dynamoIdentities, dynamoStore } from './dynamo-store';
import { applyBudget } from './pacing';
import { presignedDownloads, s3Objects } from './s3-objects';
import { workerRetry } from './sdk-retry';
import { type Redelivery, sqsRedeliver } from './sqs';
import { sfnStageTasks } from './stage-tasks';

/**
 * How every function is set up, in one place: the names of its environment variables (shared with the
 * CDK construct that sets them), reading them once at the cold start, its AWS SDK clients, and the
 * dependencies each kind of handler is built from. The local runtime calls the same `depsFrom` with local
 * clients and the environment of the synthesized template.
 */
export const ENV = {
  exportsBucket: 'EXPORTS_BUCKET',
  migratedBucket: 'MIGRATED_BUCKET',
  reportsBucket: 'REPORTS_BUCKET',
  table: 'STATE_TABLE',
  /** The migration policy as JSON (validated at start-up). */
  policy: 'MIGRATION_POLICY',
  /** The Secrets Manager secret holding the identity index's HMAC key. */
  emailKeySecret: 'EMAIL_KEY_SECRET_ARN',
  /** Hours that a receipt's pre-signed download links stay valid; 0 for none (the local runtime). */
  downloadUrlHours: 'DOWNLOAD_URL_HOURS',
  /** Days an uploaded export is kept (its files can be downloaded until then): the receipts' deadline. */
  exportRetentionDays: 'EXPORT_RETENTION_DAYS',
  queueProfile: 'QUEUE_URL_PROFILE',
  queueTwinspace: 'QUEUE_URL_TWINSPACE',
  queueGroup: 'QUEUE_URL_GROUP',
  queuePortfolioEvents: 'QUEUE_URL_PORTFOLIO_EVENTS',
  queueIdentities: 'QUEUE_URL_IDENTITIES',
  queueReport: 'QUEUE_URL_REPORT',
  queueVerify: 'QUEUE_URL_VERIFY',
  /** How a run's work is cut into invocations (core/pipeline/sizing PartitioningSchema), as JSON. */
  partitioning: 'PARTITIONING',
  /** What the deployment gives a run each second (core/pipeline/sizing CapacitySchema), as JSON: the splits budget each stage from it. */
  capacity: 'CAPACITY',
} as const;

export type EnvKey = keyof typeof ENV;

/**
 * The pipeline stack's outputs that an operator command reads to work on a deployed stack (`--stack`,
 * cli/stack.ts), named here for the CDK and the command alike: the state machine, each function's name
 * (a command is configured as the function is: from its configuration), and each queue's redrive pair.
 */
export const STACK_OUTPUTS = {
  stateMachine: 'StateMachineArn',
  /** A function's name, by its folder under functions/ (`FunctionAccountLink`). */
  function: (name: string) => `Function${pascalCase(name)}`,
  /** A dead-letter queue's URL and the URL of the queue it serves, joined by a space (`RedriveProfile`). */
  redrive: (queue: string) => `Redrive${pascalCase(queue)}`,
} as const;

/** `portfolio-events` as `PortfolioEvents`: a name as a CloudFormation logical id. */
export const pascalCase = (s: string) => s.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

export const QUEUE_ENV: Readonly<Record<Queued, EnvKey>> = {
  profile: 'queueProfile',
  twinspace: 'queueTwinspace',
  group: 'queueGroup',
  'portfolio-events': 'queuePortfolioEvents',
  identities: 'queueIdentities',
  report: 'queueReport',
  verify: 'queueVerify',
};

/**
 * What the workflow steps read: the exports bucket, the table, the policy, the partitioning, and the
 * export's retention (when a run's working area and per-run items expire).
 */
export const WORKFLOW_ENV = [
  'exportsBucket',
  'table',
  'policy',
  'partitioning',
  'exportRetentionDays',
] as const satisfies readonly EnvKey[];

/** Reads the named variables once; throws ConfigError naming every one that is missing. */
export function readConfig<K extends EnvKey>(keys: readonly K[], env: NodeJS.ProcessEnv): Record<K, string> {
  const missing = keys.filter((k) => !env[ENV[k]]).map((k) => ENV[k]);
  if (missing.length > 0) throw new ConfigError(`missing environment variables: ${missing.join(', ')}`);
  return Object.fromEntries(keys.map((k) => [k, env[ENV[k]] as string])) as Record<K, string>;
}

/**
 * How the functions' clients retry: the SDK's standard mode (exponential backoff with full jitter, and a
 * retry quota), with more attempts than its default 3, because one invocation makes thousands of calls
 * and a single call that runs out of attempts fails the whole invocation. The rate each worker offers is
 * held to its stage's budget by the pacing (adapters/pacing), not by the SDK (adapters/sdk-retry says
 * why not the adaptive mode). A new one for each client, per worker.
 */
export const clientRetry = () =>
  ({
    maxAttempts: SIZING.sdkRetry.maxAttempts,
    retryMode: 'standard',
    retryStrategy: workerRetry(SIZING.sdkRetry.maxAttempts),
  }) as const;

/** AWS SDK v3 clients of a function, made once per container with the defaults of the Lambda runtime. */
export const awsClients = () => ({
  s3: new S3Client(clientRetry()),
  dynamo: new DynamoDBClient(clientRetry()),
  sqs: new SQSClient(clientRetry()),
  secrets: new SecretsManagerClient(clientRetry()),
  /** Answers the workflow's wait for a stage (task tokens). */
  sfn: new SFNClient(clientRetry()),
});
export type Clients = ReturnType<typeof awsClients>;

/**
 * The Lambda entry of a handler module: `makeHandler(depsFrom(clients, environment))`, built on the first
 * invocation (the cold start), so that importing a handler module (tests, the local runtime) reads no
 * environment.
 */
export function lambdaEntry<D, E, R>(
  makeHandler: (deps: D) => (event: E, context?: unknown) => Promise<R>,
  depsFrom: (clients: Clients, env: NodeJS.ProcessEnv) => D,
) {
  let handler: ((event: E, context?: unknown) => Promise<R>) | undefined;
  return (event: E, context?: unknown): Promise<R> => {
    handler ??= makeHandler(depsFrom(awsClients(), process.env));
    return handler(event, context);
  };
}

export const policyFrom = (json: string): CompiledPolicy => parsePolicyJson(json, ENV.policy);

/** A setting given as JSON in a variable, validated at the cold start; ConfigError names the variable. */
function jsonSetting<T>(key: EnvKey, schema: z.ZodType<T>, json: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`${ENV[key]}: not JSON`, { cause });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${ENV[key]}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The deployment's capacity (CAPACITY). */
export const capacityFrom = (json: string): Capacity => jsonSetting('capacity', CapacitySchema, json);

export const partitioningFrom = (json: string): Partitioning =>
  jsonSetting('partitioning', PartitioningSchema, json);

/** The workflow's dependencies from clients and configuration (AWS, or the local stand-ins). */
export function workflowDeps(
  clients: Pick<Clients, 's3' | 'dynamo' | 'sfn'>,
  config: Record<(typeof WORKFLOW_ENV)[number], string> & { readonly capacity?: string },
): WorkflowDeps {
  const objects = s3Objects(clients.s3);
  return {
    policy: policyFrom(config.policy),
    partitioning: partitioningFrom(config.partitioning),
    ...(config.capacity === undefined ? {} : { capacity: capacityFrom(config.capacity) }),
    applyBudget: (budget) => applyBudget(clients, budget),
    stageTasks: sfnStageTasks(clients.sfn),
    store: dynamoStore(clients.dynamo, config.table, { retentionDays: retentionDaysFrom(config) }),
    objects,
    exportsBucket: config.exportsBucket,
    source: (exportId) => bucketExportSource(objects, config.exportsBucket, exportId),
  };
}

/** The queue URL of each entity worker, from a function's configuration. */
export const queueUrlsFrom = (config: Partial<Record<EnvKey, string>>): Record<Queued, string> =>
  Object.fromEntries(Object.entries(QUEUE_ENV).map(([entity, key]) => [entity, config[key] ?? ''])) as Record<
    Queued,
    string
  >;

/** The identity index's HMAC key, read from Secrets Manager on first use and kept for the container. */
export function emailSecret(secrets: SecretsManagerClient, arn: string): () => Promise<string> {
  let secret: Promise<string> | undefined;
  return () => {
    secret ??= secrets.send(new GetSecretValueCommand({ SecretId: arn })).then((r) => {
      if (!r.SecretString) throw new ConfigError('the e-mail key secret has no string value');
      return r.SecretString;
    });
    return secret;
  };
}

/** What a withdrawal from the target needs (rollback, replaced export): the target, links and receipts. */
export const ROLLBACK_ENV = [
  ...WORKFLOW_ENV,
  'migratedBucket',
  'reportsBucket',
] as const satisfies readonly EnvKey[];

export function rollbackDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): RollbackDeps {
  const config = readConfig(ROLLBACK_ENV, env);
  const workflow = workflowDeps(clients, config);
  return {
    workflow,
    store: workflow.store,
    objects: workflow.objects,
    migratedBucket: config.migratedBucket,
    reportsBucket: config.reportsBucket,
    identities: dynamoIdentities(clients.dynamo, config.table),
  };
}

/** Verify's: the target, and the keyed ids of erased accounts (ER-1). */
export const VERIFY_ENV = [
  ...WORKFLOW_ENV,
  'migratedBucket',
  'emailKeySecret',
] as const satisfies readonly EnvKey[];

/** The rollback function's: a withdrawal, and an erasure (ER-1), which keys the account id with the HMAC key. */
export const FORGET_ENV = [...ROLLBACK_ENV, 'emailKeySecret'] as const satisfies readonly EnvKey[];

/**
 * Validate's: a withdrawal (an export replaced), and the e-mail key, with which it keys the export's
 * credentials and addresses for verify (core/forbidden).
 */
export function validateDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): RollbackDeps {
  const { secret, ...deps } = forgetDepsFrom(clients, env);
  return { ...deps, workflow: { ...deps.workflow, emailSecret: secret } };
}

export function forgetDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): ForgetDeps {
  const config = readConfig(FORGET_ENV, env);
  return { ...rollbackDepsFrom(clients, env), secret: emailSecret(clients.secrets, config.emailKeySecret) };
}

/** An entity worker's dependencies from clients and its environment (AWS, or the local stand-ins). */
export function entityDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): ChunkDeps {
  const config = readConfig(
    [
      'exportsBucket',
      'migratedBucket',
      'reportsBucket',
      'table',
      'policy',
      'emailKeySecret',
      'exportRetentionDays',
    ],
    env,
  );
  return {
    store: dynamoStore(clients.dynamo, config.table, { retentionDays: retentionDaysFrom(config) }),
    objects: s3Objects(clients.s3),
    policy: policyFrom(config.policy),
    exportsBucket: config.exportsBucket,
    migratedBucket: config.migratedBucket,
    reportsBucket: config.reportsBucket,
    emailSecret: emailSecret(clients.secrets, config.emailKeySecret),
    identities: dynamoIdentities(clients.dynamo, config.table),
    applyBudget: (budget) => applyBudget(clients, budget),
    stageTasks: sfnStageTasks(clients.sfn),
  };
}

/** The configuration of the report's functions (its parts, verify's, the summary): buckets, links, retention. */
export const REPORT_ENV = [
  ...WORKFLOW_ENV,
  'migratedBucket',
  'reportsBucket',
  'downloadUrlHours',
  'emailKeySecret',
] as const satisfies readonly EnvKey[];

/** The report parts' and the summary's dependencies from clients and their environment. */
export function partDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): PartDeps {
  const config = readConfig(REPORT_ENV, env);
  const hours = Number(config.downloadUrlHours);
  if (!Number.isFinite(hours) || hours < 0 || hours > 168)
    throw new ConfigError(`${ENV.downloadUrlHours}: expected 0 to 168 hours, got ${config.downloadUrlHours}`);
  return {
    ...workflowDeps(clients, config),
    retentionDays: retentionDaysFrom(config),
    reportsBucket: config.reportsBucket,
    migratedBucket: config.migratedBucket,
    downloads: (exportId: string) => presignedDownloads(clients.s3, config.exportsBucket, exportId, hours),
    erasures: erasuresFrom(clients, config),
  };
}

/**
 * ER-1: the erasures recorded now, as a check of account ids (the identity index's table and HMAC key;
 * `secret`: a reader of that key the caller shares, so that a container reads it once).
 */
export function erasuresFrom(
  clients: Clients,
  config: { readonly table: string; readonly emailKeySecret: string },
  secret = emailSecret(clients.secrets, config.emailKeySecret),
): () => Promise<IsErased> {
  const identities = dynamoIdentities(clients.dynamo, config.table);
  return () => erasedNow(identities, secret);
}

/** The export's retention in days (1 to 3650), validated at the cold start. */
export function retentionDaysFrom(config: { readonly exportRetentionDays: string }): number {
  const days = Number(config.exportRetentionDays);
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new ConfigError(
      `${ENV.exportRetentionDays}: expected 1 to 3650 days, got ${config.exportRetentionDays}`,
    );
  return days;
}

/**
 * A queued function's dependencies with its redelivery: a failed message comes back in seconds on its own
 * queue (`sqsRedeliver`), whose URL the function's environment names.
 */
export const withRedelivery =
  <D>(queue: Queued, depsFrom: (clients: Clients, env: NodeJS.ProcessEnv) => D) =>
  (clients: Clients, env: NodeJS.ProcessEnv): D & Redelivery => {
    const key = QUEUE_ENV[queue];
    const url = readConfig([key], env)[key];
    return { ...depsFrom(clients, env), redeliver: sqsRedeliver(clients.sqs, url) };
  };
