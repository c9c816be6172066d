import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { fixDynalite } from './dynalite-fixes';
import { bucketsFolder } from './s3rver-files';
import { fixS3rver } from './s3rver-fixes';

/**
 * The stand-ins' own thread (started by services.ts): dynalite, s3rver and local-aws-sqs answer here, on
 * the machine's second core, while the pipeline's handlers and the state machine run on the main thread.
 * Messages: to the main thread `ready` (the endpoints), `s3-event` (once watched), `stopped`; from it
 * `watch-s3` and `stop`.
 */
export interface HostEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly sqs: string;
}

export const LOCAL_REGION = 'eu-west-1';

/** Where dynalite keeps a state folder's table: there once its stand-ins have run there. */
export const tableFolder = (stateDir: string) => join(stateDir, 'dynamodb');

export type HostMessage =
  | { readonly type: 'ready'; readonly endpoints: HostEndpoints }
  | { readonly type: 's3-event'; readonly event: unknown }
  | { readonly type: 'stopped' };

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

/**
 * dynalite over a state folder's table, on 127.0.0.1: in the stand-ins' thread, or alone in a command that
 * only reads the state (read-state.ts), which needs no bucket, queue or synthesized template.
 */
export async function serveTable(stateDir: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  await mkdir(tableFolder(stateDir), { recursive: true });
  fixDynalite();
  const dynalite = require('dynalite')({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    path: tableFolder(stateDir),
  });
  const endpoint = await listen(dynalite);
  return { endpoint, close: () => new Promise<void>((resolve) => dynalite.close(() => resolve())) };
}

/**
 * Loads the stand-ins' packages, with their fixes, before a state folder is known (services-worker.cjs,
 * while the main thread loads its own modules); `host` needs them loaded, and loads them if not.
 */
export function load(): void {
  fixDynalite();
  fixS3rver();
  require('dynalite');
  require('s3rver');
  require('local-aws-sqs');
}

/** Runs the stand-ins over a state folder and answers the main thread (called by services-worker.cjs). */
export async function host(stateDir: string): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('services-host runs in a worker thread');
  const post = (m: HostMessage) => port.postMessage(m);
  load();
  await mkdir(bucketsFolder(stateDir), { recursive: true });
  const table = await serveTable(stateDir);
  const dynamodb = table.endpoint;

  const S3rver = require('s3rver');
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: bucketsFolder(stateDir),
  });
  const s3 = `http://127.0.0.1:${((await s3rver.run()) as AddressInfo).port}`;

  const { createSqsServer } = require('local-aws-sqs') as typeof import('local-aws-sqs');
  const sqsServer = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region: LOCAL_REGION,
    accountId: '000000000000',
    emulateQueueCreationLifecycle: false,
  } as never);
  const sqs = `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`;

  port.on('message', async (m: { type: string }) => {
    if (m.type === 'watch-s3')
      s3rver.on('event', (event: unknown) =>
        post({ type: 's3-event', event: JSON.parse(JSON.stringify(event)) }),
      );
    if (m.type === 'stop') {
      await new Promise<void>((resolve) => sqsServer.close(() => resolve()));
      await s3rver.close();
      await table.close();
      post({ type: 'stopped' });
      port.close();
    }
  });
  post({ type: 'ready', endpoints: { dynamodb, s3, sqs } });
}
