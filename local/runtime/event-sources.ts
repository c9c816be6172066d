import { setMaxListeners } from 'node:events';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LocalResources } from '../cloudformation/resources';
import type { CfnTemplate } from '../cloudformation/synth';
import { LOCAL_REGION, RECEIVES_PER_FAILED_DELIVERY } from '../stand-ins/services';

/** An event-source mapping of the template: a queue feeding a function. */
export interface EventSourceMapping {
  readonly functionId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly reportBatchItemFailures: boolean;
}

export function mappingsOf(template: CfnTemplate, resources: LocalResources): EventSourceMapping[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')
    .map((r) => {
      const p = r.Properties as {
        EventSourceArn: { 'Fn::GetAtt': [string, string] };
        FunctionName: { Ref: string };
        BatchSize?: number;
        ScalingConfig?: { MaximumConcurrency?: number };
        FunctionResponseTypes?: string[];
      };
      const queueId = p.EventSourceArn['Fn::GetAtt'][0];
      const queueUrl = resources.queues.get(queueId);
      if (!queueUrl) throw new Error(`local runtime: no queue ${queueId}`);
      return {
        functionId: p.FunctionName.Ref,
        queueUrl,
        queueArn: resources.resolve(p.EventSourceArn),
        batchSize: p.BatchSize ?? 10,
        maxConcurrency: p.ScalingConfig?.MaximumConcurrency ?? 2,
        reportBatchItemFailures: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
      };
    });
}

export type SqsInvoke = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface DeliveryCounts {
  /** Messages handed to the function (each delivery counted). */
  messages: number;
  /** Of those, extra deliveries made on purpose (duplicateDelivery). */
  duplicates: number;
  /** Receive or delete calls that failed and were tried again, as Lambda's pollers do. */
  receiveErrors: number;
}

export interface PollOptions {
  /**
   * Seconds before the messages of an invocation that threw are visible again. Lambda leaves them to the
   * queue's visibility timeout (minutes, from the template); locally they come back this soon, while a
   * message being worked on stays hidden for the template's whole timeout, as deployed, however long it
   * takes. A record the function itself reports failed is the function's to bring back (sqsRedeliver).
   */
  readonly redeliverySeconds?: number;
  readonly counts?: DeliveryCounts;
  /**
   * At-least-once delivery, exaggerated: every batch is delivered twice, in reverse order the second
   * time: alternately both at once, and once more after the first delivery finished but before its
   * messages were deleted (as when a visibility timeout runs out just then).
   */
  readonly duplicate?: { readonly seed: number };
  /**
   * Emits this queue's URL when something may have made a message receivable (services queueActivity).
   * With it, an idle queue is polled without a wait, again on each activity and at least every
   * IDLE_POLL_MS: local-aws-sqs ends a long poll early only with a full batch, so a stage's few messages
   * sat out the whole wait. Without it, pollers long-poll.
   */
  readonly activity?: NodeJS.EventEmitter;
}

/** How often an idle queue is polled at the latest when its activity is told (visibility timeouts ending). */
const IDLE_POLL_MS = 250;

/**
 * Emulates Lambda's SQS event source: up to `maxConcurrency` pollers receive batches of `batchSize`,
 * invoke the function, and delete what succeeded. A failed record stays on the queue: a batch item
 * failure comes back when the function made it visible again (or after the visibility timeout), every
 * record of an invocation that threw after `redeliverySeconds`; the queue's redrive policy moves it to the
 * dead-letter queue after maxReceiveCount receives.
 */
export function pollQueue(
  sqs: SQSClient,
  mapping: EventSourceMapping,
  invoke: SqsInvoke,
  onBatch?: (n: number, failed: number) => void,
  options: PollOptions = {},
) {
  let running = true;
  // Stopping ends the pollers' long polls at once (an idle receive would otherwise hold stop() for its
  // whole wait, on each queue).
  const stopping = new AbortController();
  // Every receive under way listens on it until its request closes: more than Node's default of 10 at once
  // is no leak.
  setMaxListeners(0, stopping.signal);
  const counts = options.counts ?? { messages: 0, duplicates: 0, receiveErrors: 0 };
  let batches = options.duplicate?.seed ?? 0;
  const redeliverySeconds = options.redeliverySeconds ?? 5;
  const deliver = async (event: SQSEvent): Promise<SQSBatchResponse | undefined> => {
    counts.messages += event.Records.length;
    return invoke(event);
  };
  /** A duplicate delivery: what it answers does not matter, the original's answer decides. */
  const duplicate = (event: SQSEvent) => {
    counts.duplicates += event.Records.length;
    return deliver({ Records: [...event.Records].reverse() }).catch(() => undefined);
  };
  const toRecord = (m: Message) => ({
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ...m.Attributes,
      ApproximateReceiveCount: String(
        Math.ceil(Number(m.Attributes?.ApproximateReceiveCount ?? 1) / RECEIVES_PER_FAILED_DELIVERY),
      ),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: mapping.queueArn,
    awsRegion: LOCAL_REGION,
  });
  /**
   * Like Lambda's pollers, which scale with the queue: one poller polls an idle queue, and the others
   * wait until it finds messages (or a while passes) before they poll too. Eight queues with every poller
   * long-polling at once kept the stand-ins' thread busy answering empty receives.
   */
  let wake: () => void = () => undefined;
  let woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const signal = () => {
    const wakeAll = wake;
    woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    wakeAll();
  };
  const IDLE_WAIT_MS = 1_000;
  const idle = (since: Promise<void>, ms: number) =>
    Promise.race([since, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
  const { activity } = options;
  activity?.on(mapping.queueUrl, signal);
  const worker = async (index: number) => {
    while (running) {
      let messages: Message[];
      // A signal while this receive is under way ends the idle wait after it at once.
      const since = woken;
      try {
        const r = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: mapping.queueUrl,
            MaxNumberOfMessages: mapping.batchSize,
            WaitTimeSeconds: activity ? 0 : 1,
            AttributeNames: ['All'],
          }),
          { abortSignal: stopping.signal },
        );
        // The stand-in can hand out one message twice in a long poll; Lambda would not.
        messages = [...new Map((r.Messages ?? []).map((m) => [m.MessageId, m])).values()];
      } catch (error) {
        if (!running) return;
        // Lambda's pollers keep polling through a failed receive; a closed stand-in is the end.
        if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') throw error;
        counts.receiveErrors++;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (messages.length === 0) {
        if (index > 0) await idle(since, IDLE_WAIT_MS);
        else if (activity) await idle(since, IDLE_POLL_MS);
        continue;
      }
      signal();
      const event = { Records: messages.map(toRecord) } as SQSEvent;
      const twice = options.duplicate ? (batches++ % 2 === 0 ? 'at-once' : 'after') : undefined;
      const concurrent = twice === 'at-once' ? duplicate(event) : undefined;
      let failed: Set<string>;
      // What this event source brings back soon itself: only the messages of an invocation that threw. A
      // record the function reports failed is left to it, as Lambda leaves it (the queued functions make
      // it visible again within seconds: adapters/sqs sqsRedeliver).
      let thrown = false;
      try {
        const response = await deliver(event);
        failed = new Set(
          mapping.reportBatchItemFailures
            ? (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier)
            : [],
        );
      } catch {
        thrown = true;
        failed = new Set(messages.map((m) => m.MessageId ?? ''));
      }
      await concurrent;
      if (twice === 'after') await duplicate(event);
      const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
      const retry = messages.filter((m) => failed.has(m.MessageId ?? ''));
      const entries = (list: Message[]) =>
        list.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
      try {
        if (done.length > 0)
          await sqs.send(
            new DeleteMessageBatchCommand({ QueueUrl: mapping.queueUrl, Entries: entries(done) }),
          );
        if (retry.length > 0 && thrown)
          await sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: mapping.queueUrl,
              Entries: entries(retry).map((e) => ({ ...e, VisibilityTimeout: redeliverySeconds })),
            }),
          );
      } catch {
        if (!running) return;
        // Not deleted, or not made visible again: the messages come back after the queue's visibility
        // timeout (at-least-once).
        counts.receiveErrors++;
      }
      onBatch?.(messages.length, failed.size);
    }
  };
  const workers = Array.from({ length: mapping.maxConcurrency }, (_, i) => worker(i));
  const all = Promise.all(workers);
  return {
    /** Rejects when a poller fails (the stand-in went away while running). */
    done: all,
    async stop() {
      running = false;
      activity?.removeListener(mapping.queueUrl, signal);
      stopping.abort();
      signal();
      await all.catch(() => undefined);
    },
  };
}
