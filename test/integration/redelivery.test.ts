import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { sqsBatchHandler, sqsRedeliver } from '../../functions/adapters/sqs';
import { redeliverySeconds } from '../../functions/core/pipeline/sizing';
import { pollQueue } from '../../local/runtime/event-sources';
import { LOCAL_REGION } from '../../local/stand-ins/services';

/**
 * A throttled chunk is tried again within seconds, not after its queue's visibility timeout (30 minutes
 * on the entity queues, as deployed): the function makes the failed message visible again itself, on the
 * SQS stand-in, through the event source as Lambda's works.
 */
let server: Server;
let sqs: SQSClient;
beforeAll(async () => {
  const { createSqsServer } = require('local-aws-sqs') as typeof import('local-aws-sqs');
  server = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region: LOCAL_REGION,
    accountId: '000000000000',
    emulateQueueCreationLifecycle: false,
  });
  sqs = new SQSClient({
    region: LOCAL_REGION,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
});
afterAll(async () => {
  sqs.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('the redelivery delay doubles with each receive, from a second, and never passes a minute', () => {
  expect([1, 2, 3, 4, 5, 9].map((n) => redeliverySeconds(n))).toEqual([1, 2, 4, 8, 16, 60]);
});

test('a chunk throttled on its first delivery is delivered again within seconds, under a 30-minute visibility timeout', async () => {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: 'chunks', Attributes: { VisibilityTimeout: '1800' } }),
  );
  const queueUrl = QueueUrl as string;
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"chunk":1}' }));
  const deliveries: number[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const handler = sqsBatchHandler(
    async (_r: SQSRecord) => {
      deliveries.push(Date.now());
      if (deliveries.length === 1)
        throw new ProvisionedThroughputExceededException({ message: 'throttled', $metadata: {} });
      done();
    },
    sqsRedeliver(sqs, queueUrl),
  );
  const poller = pollQueue(
    sqs,
    {
      functionId: 'worker',
      queueUrl,
      queueArn: 'arn:aws:sqs:eu-west-1:000000000000:chunks',
      batchSize: 5,
      maxConcurrency: 1,
      reportBatchItemFailures: true,
    },
    (event) => handler(event),
  );
  try {
    await Promise.race([
      finished,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not delivered again in 20 s')), 20_000)),
    ]);
  } finally {
    await poller.stop();
  }
  expect(deliveries).toHaveLength(2);
  const [first = 0, second = 0] = deliveries;
  // Its first redelivery after a second (and a poll): far from the queue's 1,800 s.
  expect(second - first).toBeGreaterThanOrEqual(900);
  expect(second - first).toBeLessThan(10_000);
}, 30_000);
