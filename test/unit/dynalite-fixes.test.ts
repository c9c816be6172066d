import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { fixDynalite } from '../../local/stand-ins/dynalite-fixes';

/**
 * The local DynamoDB stand-in must close the LevelDB iterator of every Query: an open iterator pins the
 * memtable and table files of its moment, and the run's native memory grew with every query (2.5 GB at
 * 20,000 accounts) until fixDynalite gave the iterators the `return()` dynalite's streams call.
 */
test('dynalite closes the LevelDB iterator of every query', async () => {
  fixDynalite();
  const { AbstractLevel } = require('abstract-level') as {
    AbstractLevel: { prototype: Record<string, (this: unknown, r: unknown) => unknown> };
  };
  const proto = AbstractLevel.prototype;
  const original = { attach: proto.attachResource, detach: proto.detachResource };
  const openIterators = new Set<unknown>();
  const isIterator = (r: unknown) => typeof (r as { next?: unknown }).next === 'function';
  proto.attachResource = function (this: unknown, r: unknown) {
    if (isIterator(r)) openIterators.add(r);
    return original.attach?.call(this, r);
  };
  proto.detachResource = function (this: unknown, r: unknown) {
    openIterators.delete(r);
    return original.detach?.call(this, r);
  };
  const dir = await mkdtemp(join(tmpdir(), 'esep-dynalite-'));
  const server = require('dynalite')({ createTableMs: 0, path: dir });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: 'ledger',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // dynalite makes a table ACTIVE on a timer after CreateTable answers: a put before it is refused.
    await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: 'ledger' });
    const doc = DynamoDBDocumentClient.from(client);
    await doc.send(new PutCommand({ TableName: 'ledger', Item: { pk: 'a', sk: '1', decision: 'migrated' } }));
    for (let i = 0; i < 40; i++) {
      const r = await doc.send(
        new QueryCommand({
          TableName: 'ledger',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'a' },
          ...(i % 2 === 0 ? { Limit: 1 } : {}),
        }),
      );
      expect(r.Items).toHaveLength(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openIterators.size).toBe(0);
  } finally {
    proto.attachResource = original.attach as (r: unknown) => unknown;
    proto.detachResource = original.detach as (r: unknown) => unknown;
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
