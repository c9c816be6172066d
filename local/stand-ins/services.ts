import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Clients, clientRetry } from '../../functions/adapters/wiring';
import { type HostEndpoints, type HostMessage, LOCAL_REGION } from './services-host';
import { servicesThread } from './services-thread';
import { type LocalTaskTokens, localTaskTokens } from './task-tokens';

export { LOCAL_REGION };

/**
 * Receives a failed delivery counts against the queue's maxReceiveCount locally: its own, and the
 * stand-in's ChangeMessageVisibility, which wrongly counts as one more (local-aws-sqs 2.0.2). The local
 * queues get the template's maxReceiveCount times this, and the count handed to the function is divided
 * back, so a poison message still reaches the dead-letter queue after the template's number of tries.
 */
export const RECEIVES_PER_FAILED_DELIVERY = 2;

/**
 * The local stand-ins for the AWS services, all on 127.0.0.1 with ports chosen by the system:
 * dynalite (DynamoDB, data on disk under the state folder), s3rver (S3, files under the state folder)
 * and local-aws-sqs (SQS, in memory: a restarted run sends its messages again, idempotently); Step
 * Functions' task tokens in memory (task-tokens.ts).
 */
export interface LocalServices {
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly sqs: string };
  readonly clients: Clients;
  /** Another set of clients for the same stand-ins (closed by stop()). */
  newClients(): Clients;
  /** Step Functions' task tokens: the local state machine waits on them, the functions' clients answer. */
  readonly taskTokens: LocalTaskTokens;
  /** Emits `event` for S3 ObjectCreated (s3rver's own notification). */
  readonly s3Events: NodeJS.EventEmitter;
  /**
   * Emits a queue's URL when any of these clients sent to it or changed a message's visibility there:
   * the local event sources poll on it (local-aws-sqs answers a long poll only with a full batch or at
   * its end, where SQS answers as soon as a message is there).
   */
  readonly queueActivity: NodeJS.EventEmitter;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A DynamoDB client for the local table of stand-ins already started (by another process). */
export const standInDynamo = (endpoint: string) =>
  new DynamoDBClient({ region: LOCAL_REGION, credentials, ...clientRetry(), endpoint });

/** The identity key of a local state folder: generated once, kept in a file (Secrets Manager on AWS). */
export async function localSecret(stateDir: string): Promise<string> {
  const file = join(stateDir, 'email-key.secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64url');
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    return (await readFile(file, 'utf8')).trim();
  }
}

/** A Secrets Manager stand-in that answers GetSecretValue with the local key, for any secret id. */
const localSecrets = (key: string) =>
  ({
    send: async () => ({ SecretString: key }),
    destroy: () => undefined,
  }) as unknown as SecretsManagerClient;

/** The SQS calls after which a queue may hold a message to receive. */
const ACTIVITY = new Set([
  'SendMessageCommand',
  'SendMessageBatchCommand',
  'ChangeMessageVisibilityCommand',
  'ChangeMessageVisibilityBatchCommand',
]);

/** An SQS client that tells `activity` (by queue URL) when one of its calls may have made a message receivable. */
function withQueueActivity(client: SQSClient, activity: EventEmitter): SQSClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const queueUrl = (args.input as { QueueUrl?: unknown }).QueueUrl;
      if (ACTIVITY.has(context.commandName ?? '') && typeof queueUrl === 'string') activity.emit(queueUrl);
      return out;
    },
    { step: 'initialize', name: 'localQueueActivity' },
  );
  return client;
}

/**
 * Starts the stand-ins in a worker thread of their own (services-host.ts): they answer on one core while
 * the handlers, which call them, run on the other, where one thread for both left half the machine idle.
 */
export async function startServices(stateDir: string): Promise<LocalServices> {
  const worker = servicesThread(stateDir);
  const s3Events = new EventEmitter();
  let failure: Error | undefined;
  const stopped = new Promise<void>((resolve) => {
    worker.on('message', (m: HostMessage) => {
      if (m.type === 's3-event') s3Events.emit('event', m.event);
      if (m.type === 'stopped') resolve();
    });
    worker.on('exit', () => resolve());
  });
  const endpoints = await new Promise<HostEndpoints>((resolve, reject) => {
    worker.on('message', (m: HostMessage) => {
      if (m.type === 'ready') resolve(m.endpoints);
    });
    worker.on('error', (error) => {
      failure = error;
      reject(new Error(`the local stand-ins failed: ${error.message}`, { cause: error }));
    });
  });
  s3Events.on('newListener', (event) => {
    if (event === 'event' && s3Events.listenerCount('event') === 0) worker.postMessage({ type: 'watch-s3' });
  });
  const { dynamodb, s3, sqs } = endpoints;

  const common = { region: LOCAL_REGION, credentials };
  const secret = await localSecret(stateDir);
  const made: Clients[] = [];
  const taskTokens = localTaskTokens();
  const queueActivity = new EventEmitter().setMaxListeners(0);
  const newClients = (): Clients => {
    const c: Clients = {
      s3: new S3Client({
        ...common,
        ...clientRetry(),
        endpoint: s3,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      dynamo: new DynamoDBClient({ ...common, ...clientRetry(), endpoint: dynamodb }),
      sqs: withQueueActivity(new SQSClient({ ...common, ...clientRetry(), endpoint: sqs }), queueActivity),
      secrets: localSecrets(secret),
      sfn: taskTokens.client,
    };
    made.push(c);
    return c;
  };
  const clients = newClients();
  return {
    endpoints,
    clients,
    newClients,
    taskTokens,
    s3Events,
    queueActivity,
    async stop() {
      for (const c of made) {
        c.s3.destroy();
        c.dynamo.destroy();
        c.sqs.destroy();
      }
      if (!failure) {
        worker.postMessage({ type: 'stop' });
        await stopped;
      }
      await worker.terminate();
    },
  };
}
