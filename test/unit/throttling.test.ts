import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { clientRetry } from '../../functions/adapters/wiring';
import { awsLimits, enforceAwsLimits, type Throttling } from '../../local/runtime/throttling';

/** A DynamoDB client whose every request succeeds at once (no stand-in): only the limits refuse. */
function acceptingClient() {
  return new DynamoDBClient({
    ...clientRetry(),
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Buffer.from('{}'),
        },
      }),
    } as never,
  });
}

test("AWS's limits, scaled: a new table's and a new bucket's rates times the scale, refused outside (0, 1]", () => {
  expect(awsLimits(0.5)).toEqual({
    tableWritesPerSecond: 2000,
    tableReadsPerSecond: 6000,
    bucketWritesPerSecond: 1750,
    bucketReadsPerSecond: 2750,
  });
  expect(() => awsLimits(0)).toThrow(RangeError);
  expect(() => awsLimits(2)).toThrow(RangeError);
});

test('over the table write rate a request is refused as DynamoDB refuses it, and the SDK retries it to success', async () => {
  const client = acceptingClient();
  const counts: Throttling = { requests: 0, throttled: 0, waitedMs: 0, deadLettered: 0 };
  // 4,000 x 0.0025 = 10 writes a second, a second's burst: 15 at once, 5 over.
  enforceAwsLimits([client], awsLimits(0.0025), counts);
  const puts = Array.from({ length: 15 }, (_, i) =>
    client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: `k${i}` } } })),
  );
  const answers = await Promise.all(puts);
  expect(answers.map((a) => a.$metadata.httpStatusCode)).toEqual(Array(15).fill(200));
  expect(counts.throttled).toBeGreaterThanOrEqual(5);
  // Every refused attempt came back after a backoff; every attempt was counted.
  expect(counts.waitedMs).toBeGreaterThan(0);
  expect(counts.requests).toBe(15 + counts.throttled);
  client.destroy();
});
