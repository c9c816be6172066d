import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CLIENT_RETRY, type Clients } from '../functions/adapters/aws';
import { fixS3rver } from './s3rver-fixes';

/**
 * The local stand-ins for the AWS services, all on 127.0.0.1 with ports chosen by the system:
 * dynalite (DynamoDB, data on disk under the state folder), s3rver (S3, files under the state folder)
 * and local-aws-sqs (SQS, in memory: a restarted run sends its messages again, idempotently).
 */
export interface LocalServices {
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly sqs: string };
  readonly clients: Clients;
  /** Another set of clients for the same stand-ins (closed by stop()). */
  newClients(): Clients;
  /** Emits `event` for S3 ObjectCreated (s3rver's own notification). */
  readonly s3Events: NodeJS.EventEmitter;
  stop(): Promise<void>;
}

export const LOCAL_REGION = 'eu-west-1';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The identity key of a local state folder: generated once, kept in a file (Secrets Manager on AWS). */
async function localSecret(stateDir: string): Promise<string> {
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

function listen(server: {
  listen: (port: number, host: string, cb: () => void) => unknown;
  address: () => unknown;
}): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

export async function startServices(stateDir: string): Promise<LocalServices> {
  // s3rver pages ListObjectsV2 with a cipher that needs OpenSSL's legacy provider (bin/esep-migrate.cjs sets it).
  await mkdir(join(stateDir, 's3'), { recursive: true });
  await mkdir(join(stateDir, 'dynamodb'), { recursive: true });
  const dynalite = require('dynalite')({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    path: join(stateDir, 'dynamodb'),
  });
  const dynamodb = await listen(dynalite);

  fixS3rver();
  const S3rver = require('s3rver');
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(stateDir, 's3') });
  const s3Address = (await s3rver.run()) as AddressInfo;
  const s3 = `http://127.0.0.1:${s3Address.port}`;

  const { createSqsServer } = require('local-aws-sqs') as typeof import('local-aws-sqs');
  const sqsServer = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region: LOCAL_REGION,
    accountId: '000000000000',
    emulateQueueCreationLifecycle: false,
  } as never);
  const sqs = `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`;

  const common = { region: LOCAL_REGION, credentials, ...CLIENT_RETRY };
  const secret = await localSecret(stateDir);
  const made: Clients[] = [];
  const newClients = (): Clients => {
    const c: Clients = {
      s3: new S3Client({
        ...common,
        endpoint: s3,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      dynamo: new DynamoDBClient({ ...common, endpoint: dynamodb }),
      sqs: new SQSClient({ ...common, endpoint: sqs }),
      secrets: localSecrets(secret),
    };
    made.push(c);
    return c;
  };
  const clients = newClients();
  return {
    endpoints: { dynamodb, s3, sqs },
    clients,
    newClients,
    s3Events: s3rver,
    async stop() {
      for (const c of made) {
        c.s3.destroy();
        c.dynamo.destroy();
        c.sqs.destroy();
      }
      await new Promise<void>((resolve) => sqsServer.close(() => resolve()));
      await s3rver.close();
      await new Promise<void>((resolve) => dynalite.close(() => resolve()));
    },
  };
}
