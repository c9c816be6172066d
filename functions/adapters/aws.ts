import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ChunkMessage } from '../core/pipeline/chunks';
import { SIZING } from '../core/pipeline/sizing';
import type { WorkflowDeps } from '../core/pipeline/steps';
import type { Entity } from '../core/pipeline/workers';
import { type CompiledPolicy, parsePolicyJson } from '../core/rules/policy';
import { ENV, type EnvKey, QUEUE_ENV } from '../env';
import { onColdStart, readConfig } from './config';
import { dynamoStore } from './dynamo-store';
import { chunked } from './retry';
import { bucketExportSource, s3Objects } from './s3-objects';

/**
 * How the functions' clients retry: the SDK's standard mode (exponential backoff with full jitter, and a
 * retry quota), with more attempts than its default 3, because one invocation makes thousands of calls
 * and a single call that runs out of attempts fails the whole invocation.
 */
export const CLIENT_RETRY = { maxAttempts: 8, retryMode: 'standard' } as const;

/** AWS SDK v3 clients of a function, made once per container with the defaults of the Lambda runtime. */
export const awsClients = () => ({
  s3: new S3Client({ ...CLIENT_RETRY }),
  dynamo: new DynamoDBClient({ ...CLIENT_RETRY }),
  sqs: new SQSClient({ ...CLIENT_RETRY }),
  secrets: new SecretsManagerClient({ ...CLIENT_RETRY }),
});
export type Clients = ReturnType<typeof awsClients>;

/**
 * The Lambda entry of a handler module: `makeHandler(depsFrom(clients, environment))`, built at the cold
 * start. The local runtime calls the same `depsFrom` with local clients and the environment of the
 * synthesized template, so configuration is read the same way in both places.
 */
export function lambdaEntry<D, E, R>(
  makeHandler: (deps: D) => (event: E, context?: unknown) => Promise<R>,
  depsFrom: (clients: Clients, env: NodeJS.ProcessEnv) => D,
) {
  return onColdStart(() => makeHandler(depsFrom(awsClients(), process.env)));
}

export const policyFrom = (json: string): CompiledPolicy => parsePolicyJson(json, ENV.policy);

/** The workflow's dependencies from clients and configuration (AWS, or the local stand-ins). */
export function workflowDeps(
  clients: Pick<Clients, 's3' | 'dynamo'>,
  config: Record<'exportsBucket' | 'table' | 'policy', string>,
): WorkflowDeps {
  const objects = s3Objects(clients.s3);
  return {
    policy: policyFrom(config.policy),
    store: dynamoStore(clients.dynamo, config.table),
    objects,
    exportsBucket: config.exportsBucket,
    source: (exportId) => bucketExportSource(objects, config.exportsBucket, exportId),
  };
}

export const WORKFLOW_ENV = ['exportsBucket', 'table', 'policy'] as const satisfies readonly EnvKey[];

/** Sends chunk messages in batches of ten, resending the entries SQS did not take. */
export function sqsChunkQueue(sqs: SQSClient, urls: Readonly<Record<Entity, string>>) {
  return async (entity: Entity, messages: readonly ChunkMessage[]) => {
    for (const batch of chunked(messages, SIZING.sendBatchSize)) {
      let entries = batch.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m) }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`SQS refused ${entries.length} messages`);
        const r = await sqs.send(new SendMessageBatchCommand({ QueueUrl: urls[entity], Entries: entries }));
        const failed = new Set((r.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
  };
}

export const queueUrlsFrom = (config: Partial<Record<EnvKey, string>>): Record<Entity, string> =>
  Object.fromEntries(Object.entries(QUEUE_ENV).map(([entity, key]) => [entity, config[key] ?? ''])) as Record<
    Entity,
    string
  >;

/** The identity index's HMAC key, read once from Secrets Manager. */
export async function secretString(secrets: SecretsManagerClient, arn: string): Promise<string> {
  const r = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!r.SecretString) throw new Error('the e-mail key secret has no string value');
  return r.SecretString;
}

export { readConfig };
