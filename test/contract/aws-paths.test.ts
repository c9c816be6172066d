import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  HeadObjectCommand,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { sqsChunkQueue } from '../../functions/adapters/sqs';
import { clientRetry } from '../../functions/adapters/wiring';
import type { ChunkMessage } from '../../functions/core/pipeline/chunks';
import { SIZING } from '../../functions/core/pipeline/sizing';

/**
 * The paths only AWS takes (the stand-ins never answer so): with aws-sdk-client-mock for what the
 * adapters do with an answer, and with a real client over a scripted HTTP handler for what the SDK's
 * retry (clientRetry(), as the functions are built) does with throttling.
 */

const SHA = 'a'.repeat(64);
const b64 = Buffer.from(SHA, 'hex').toString('base64');

describe('S3: checksums on copy and HEAD', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());
  const objects = () => s3Objects(new S3Client({ region: 'eu-west-1' }));

  test('a copy asks S3 to keep its SHA-256, with the source key escaped', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await objects().copy('exports', 'exports/e1/blobs/x y', 'migrated', 'e1/a/b');
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toMatchObject({
      CopySource: 'exports/exports/e1/blobs/x%20y',
      Bucket: 'migrated',
      Key: 'e1/a/b',
      ChecksumAlgorithm: 'SHA256',
    });
  });

  test.each([
    [
      'a full-object SHA-256',
      { ChecksumSHA256: b64, ChecksumType: 'FULL_OBJECT' },
      { exists: true, sha256: SHA },
    ],
    [
      'a multipart composite (-N)',
      { ChecksumSHA256: `${b64}-3`, ChecksumType: 'COMPOSITE' },
      { exists: true },
    ],
    ['no checksum kept', {}, { exists: true }],
  ] as const)('HEAD with %s', async (_, answer, expected) => {
    s3.on(HeadObjectCommand).resolves(answer);
    expect(await objects().storedSha256('migrated', 'k')).toEqual(expected);
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input.ChecksumMode).toBe('ENABLED');
  });

  test('HEAD of a missing object says so; any other error is thrown', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'nf', $metadata: { httpStatusCode: 404 } }));
    expect(await objects().storedSha256('migrated', 'k')).toEqual({ exists: false });
    s3.on(HeadObjectCommand).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }),
    );
    await expect(objects().storedSha256('migrated', 'k')).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('DynamoDB: what the store does with an answer', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());
  afterAll(() => ddb.restore());
  const store = () => dynamoStore(new DynamoDBClient({ region: 'eu-west-1' }), 'state');

  test('items DynamoDB left unprocessed are written again until none is left', async () => {
    const items = Array.from({ length: 3 }, (_, i) => ({ pk: `p${i}`, sk: '#' }));
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { state: [{ PutRequest: { Item: items[2] } }] } })
      .resolves({});
    await store().putItems(items);
    const calls = ddb.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.state?.length);
    expect(calls).toEqual([3, 1]);
  });

  test('a batch that stays unprocessed gives up with an error naming how many, after its attempts', async () => {
    ddb
      .on(BatchWriteCommand)
      .callsFake((input) => ({ UnprocessedItems: { state: input.RequestItems.state } }));
    // Every backoff at its shortest (full jitter from 0): the count of attempts is what is under test.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      await expect(store().putItems([{ pk: 'p', sk: '#' }])).rejects.toThrow(
        'BatchWriteItem left 1 items unprocessed',
      );
    } finally {
      random.mockRestore();
    }
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(11);
  }, 30_000);

  test('throttling that outlasts the SDK retries reaches the caller as the typed error', async () => {
    ddb
      .on(BatchWriteCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store().putItems([{ pk: 'p', sk: '#' }])).rejects.toBeInstanceOf(
      ProvisionedThroughputExceededException,
    );
  });

  test("a stage's count that the SDK sent twice (a retry after a lost reply) is marked uncertain", async () => {
    const item = { chunks: { 'projects.decide': 2 }, done: 2, lines: 4 };
    ddb
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: item, $metadata: { attempts: 2 } })
      .resolves({ Attributes: { ...item, uncertain: true }, $metadata: { attempts: 1 } });
    const counts = { lines: 2, migrated: 2, dropped: 0, quarantined: 0 };
    expect(await store().countChunk('scope', 's/decide-1', counts)).toEqual({
      done: 2,
      expected: 2,
      lines: 4,
      uncertain: true,
    });
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.UpdateExpression);
    expect(updates).toEqual(['ADD #done :one, #lines :lines', 'SET #uncertain = :true']);
    // Sent once: certain, and nothing more is written.
    ddb.reset();
    ddb.on(UpdateCommand).resolves({ Attributes: item, $metadata: { attempts: 1 } });
    expect(await store().countChunk('scope', 's/decide-1', counts)).toEqual({
      done: 2,
      expected: 2,
      lines: 4,
    });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  test("the run lock: a held lock's ConditionalCheckFailedException answers who holds it", async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: { pk: 'LOCKS', sk: 'e1', executionId: 'other', at: '2026-12-01' } });
    expect(await store().lockRun('e1', { executionId: 'me', at: '2026-12-04' }, '2026-12-03')).toEqual({
      executionId: 'other',
      at: '2026-12-01',
    });
    ddb.reset();
    ddb.on(PutCommand).resolves({});
    expect(await store().lockRun('e1', { executionId: 'me', at: '2026-12-04' }, '2026-12-03')).toBe(true);
  });
});

describe('SQS: partial SendMessageBatch failures', () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());
  afterAll(() => sqs.restore());
  const message = (chunk: number) => ({ chunk }) as unknown as ChunkMessage;

  test('only the entries SQS refused are sent again, after a backoff', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });
    const send = sqsChunkQueue(new SQSClient({ region: 'eu-west-1' }), { profile: 'q' } as never);
    await send('profile', [message(0), message(1), message(2)]);
    const entries = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((c) => c.args[0].input.Entries?.map((e) => e.Id));
    expect(entries).toEqual([['0', '1', '2'], ['1']]);
  });

  test('a batch SQS keeps refusing fails the send, naming how many', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const send = sqsChunkQueue(new SQSClient({ region: 'eu-west-1' }), { profile: 'q' } as never);
      await expect(send('profile', [message(0)])).rejects.toThrow('SQS refused 1 messages');
    } finally {
      random.mockRestore();
    }
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(9);
  }, 30_000);
});

/**
 * A real client as the functions build it (CLIENT_RETRY), against a server on 127.0.0.1 that answers
 * from a script: what the SDK's retry does with throttling, which no mock of `send` can show.
 */
interface Answer {
  readonly status: number;
  readonly body: string;
  readonly type?: string;
}
let server: Server;
let endpoint: string;
let script: Answer[] = [];
let seen = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = script[Math.min(seen, script.length - 1)] ?? { status: 200, body: '{}' };
      seen++;
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/x-amz-json-1.0', etag: '"x"' });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
const answering = (answers: Answer[]) => {
  script = answers;
  seen = 0;
};
const local = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKID', secretAccessKey: 's' },
  ...clientRetry(),
};
const throttled: Answer = {
  status: 400,
  body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException' }),
};

describe('the SDK retry the functions are built with', () => {
  test('DynamoDB throttling is retried through to success', async () => {
    answering([throttled, throttled, { status: 200, body: '{}' }]);
    await dynamoStore(new DynamoDBClient({ ...local, endpoint }), 'state').putItems([{ pk: 'p', sk: '#' }]);
    expect(seen).toBe(3);
  }, 30_000);

  test('S3 SlowDown (503) is retried through to success', async () => {
    answering([
      {
        status: 503,
        type: 'application/xml',
        body: '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
      },
      { status: 200, body: '' },
    ]);
    const client = new S3Client({ ...local, endpoint, forcePathStyle: true });
    await s3Objects(client).put('b', 'k', 'x', 'text/plain');
    expect(seen).toBe(2);
  }, 30_000);

  test('it is the standard mode (backoff with jitter, a retry quota) with the attempts sizing.ts names', async () => {
    const client = new DynamoDBClient({ ...local, endpoint });
    expect(await client.config.maxAttempts()).toBe(SIZING.sdkRetry.maxAttempts);
    // The SDK's StandardRetryStrategy, one per worker (test/unit/sdk-retry.test.ts).
    expect((await client.config.retryStrategy()) as { mode?: string }).toMatchObject({ mode: 'standard' });
    // Giving up after the last attempt is the typed error's path above (it reaches the caller as is).
  });
});
