import { EventEmitter } from 'node:events';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type EventSourceMapping, pollQueue } from '../../local/runtime/event-sources';

/**
 * The local SQS event source against a scripted queue: an idle queue is received from again as soon as a
 * client tells of a message (local-aws-sqs ends a long poll early only with a full batch, so a stage's few
 * messages waited out the poll), and stopping ends a receive under way at once.
 */
const mapping: EventSourceMapping = {
  functionId: 'worker',
  queueUrl: 'http://127.0.0.1/000000000000/chunks',
  queueArn: 'arn:aws:sqs:eu-west-1:000000000000:chunks',
  batchSize: 10,
  maxConcurrency: 1,
  reportBatchItemFailures: true,
};

/** A queue in memory; a long poll on it (WaitTimeSeconds > 0) ends only when its signal aborts it. */
function scriptedQueue() {
  const queued: Message[] = [];
  const receives: { waitSeconds: number; found: number }[] = [];
  let received: () => void = () => undefined;
  const sqs = {
    send: (command: unknown, options?: { abortSignal?: AbortSignal }) => {
      if (command instanceof DeleteMessageBatchCommand) return Promise.resolve({});
      if (!(command instanceof ReceiveMessageCommand)) throw new Error('unexpected command');
      const waitSeconds = command.input.WaitTimeSeconds ?? 0;
      if (queued.length === 0 && waitSeconds > 0)
        return new Promise((_, reject) =>
          options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      const messages = queued.splice(0);
      receives.push({ waitSeconds, found: messages.length });
      received();
      return Promise.resolve({ Messages: messages });
    },
  } as unknown as SQSClient;
  const nextReceive = () =>
    new Promise<void>((resolve) => {
      received = resolve;
    });
  const put = (id: string) => queued.push({ MessageId: id, ReceiptHandle: id, Body: '{}' });
  return { sqs, receives, nextReceive, put };
}

afterEach(() => {
  jest.useRealTimers();
});

test("an idle queue is received from again when a client tells of a message, not after a poll's wait", async () => {
  // No timer fires in this test: what wakes the poller can only be the queue's activity.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  const q = scriptedQueue();
  const activity = new EventEmitter();
  const delivered: string[] = [];
  const firstReceive = q.nextReceive();
  const poller = pollQueue(
    q.sqs,
    mapping,
    async (event) => {
      delivered.push(...event.Records.map((r) => r.messageId));
      return { batchItemFailures: [] };
    },
    undefined,
    { activity },
  );
  await firstReceive;
  expect(q.receives).toEqual([{ waitSeconds: 0, found: 0 }]);
  q.put('m-1');
  const woken = q.nextReceive();
  activity.emit(mapping.queueUrl);
  await woken;
  expect(q.receives.slice(0, 2)).toEqual([
    { waitSeconds: 0, found: 0 },
    { waitSeconds: 0, found: 1 },
  ]);
  // Another queue's activity does not concern this one.
  activity.emit('http://127.0.0.1/000000000000/other');
  await poller.stop();
  expect(delivered).toEqual(['m-1']);
  expect(activity.listenerCount(mapping.queueUrl)).toBe(0);
});

test('stopping ends a long poll under way at once (without activity, pollers long-poll)', async () => {
  const q = scriptedQueue();
  const poller = pollQueue(q.sqs, mapping, async () => ({ batchItemFailures: [] }));
  // The scripted long poll never ends by itself: stop() returns only because it aborts it.
  await poller.stop();
  expect(q.receives).toEqual([]);
});
