import { existsSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StateBusyError } from '../../functions/core/errors';
import { localSecret, standInDynamo } from '../stand-ins/services';
import { tableFolder } from '../stand-ins/services-host';
import { startLocalPipeline } from './pipeline';
import { servingOf } from './serving';

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
 * Opens a state folder to read: its own stand-ins when the folder is free, or, while another command
 * holds it (a `run` at work), that command's table, which it serves (serving.ts): a read-only command
 * answers during a run, and shows it running. Commands that write are still refused meanwhile.
 */
export async function readState(stateDir: string, notice: (text: string) => void): Promise<StateReader> {
  try {
    const pipeline = await startLocalPipeline({ stateDir, notice });
    return {
      dynamo: pipeline.clients.dynamo,
      table: pipeline.resources.table,
      secret: () => localSecret(stateDir),
      close: () => pipeline.stop(),
    };
  } catch (error) {
    if (!(error instanceof StateBusyError)) throw error;
    const serving = servingOf(stateDir);
    if (serving?.pid !== error.pid) throw error;
    notice(`read while esep-migrate (pid ${serving.pid}) works in ${stateDir}`);
    const dynamo = standInDynamo(serving.dynamodb);
    return {
      dynamo,
      table: serving.table,
      secret: () => localSecret(stateDir),
      close: async () => dynamo.destroy(),
    };
  }
}
