import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { StateBusyError } from '../../functions/core/errors';
import { localSecret, standInDynamo } from '../stand-ins/services';
import { serveTable, tableFolder } from '../stand-ins/services-host';
import { publishServing, servingOf, withdrawServing } from './serving';
import { lockState } from './state-lock';

/** The state table, for a command that only reads it. */
export interface StateReader {
  readonly dynamo: DynamoDBClient;
  readonly table: string;
  /** The identity index's HMAC key (erasures are kept under keyed ids); read when first asked. */
  readonly secret: () => Promise<string>;
  close(): Promise<void>;
}

/** Whether a state folder has a table to read (a command started its stand-ins there once). */
export const hasTable = (stateDir: string): boolean => existsSync(tableFolder(stateDir));

/**
 * Opens a state folder to read. While another command holds it (a `run` at work), through that command's
 * table, which it serves (serving.ts): a read-only command answers during a run, and shows it running.
 * When the folder is free, its table alone (dynalite in this process: no bucket, queue or template, so a
 * read answers at once), served in turn to other readers meanwhile; a folder with no table yet starts
 * the whole pipeline, which makes it. Commands that write are still refused while another holds it.
 */
export async function readState(stateDir: string, notice: (text: string) => void): Promise<StateReader> {
  await mkdir(stateDir, { recursive: true });
  const secret = () => localSecret(stateDir);
  let release: () => Promise<void>;
  try {
    release = await lockState(stateDir, notice);
  } catch (error) {
    if (!(error instanceof StateBusyError)) throw error;
    const serving = servingOf(stateDir);
    if (serving?.pid !== error.pid) throw error;
    notice(`read while esep-migrate (pid ${serving.pid}) works in ${stateDir}`);
    const dynamo = standInDynamo(serving.dynamodb);
    return {
      dynamo,
      table: serving.table,
      secret,
      close: async () => dynamo.destroy(),
    };
  }
  const table = hasTable(stateDir) ? await serveTable(stateDir) : undefined;
  const dynamo = table && standInDynamo(table.endpoint);
  const name = dynamo && (await dynamo.send(new ListTablesCommand({}))).TableNames?.[0];
  if (table && dynamo && name) {
    publishServing(stateDir, { pid: process.pid, dynamodb: table.endpoint, table: name });
    return {
      dynamo,
      table: name,
      secret,
      close: async () => {
        withdrawServing(stateDir);
        dynamo.destroy();
        await table.close();
        await release();
      },
    };
  }
  dynamo?.destroy();
  await table?.close();
  await release();
  // A new state folder: the pipeline makes its table (and takes the folder again).
  const { startLocalPipeline } = require('./pipeline') as typeof import('./pipeline');
  const pipeline = await startLocalPipeline({ stateDir, notice });
  return {
    dynamo: pipeline.clients.dynamo,
    table: pipeline.resources.table,
    secret,
    close: () => pipeline.stop(),
  };
}
