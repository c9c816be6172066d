import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ChunkDeps, processChunk } from '../core/pipeline/chunk-work';
import { type PartDeps, type PartMessage, type PartResult, parsePart } from '../core/pipeline/report-parts';
import { redeliverySeconds, SIZING } from '../core/pipeline/sizing';
import type { Entity, Queued } from '../core/pipeline/workers';
import type { ChunkQueue } from '../core/ports';
import { countDecisions, logger } from './observability';
import { backoff, chunked } from './retry';

/** Sends messages in batches of ten, resending the entries SQS did not take after a backoff. */
export function sqsChunkQueue(sqs: SQSClient, urls: Readonly<Record<Queued, string>>): ChunkQueue {
  return async (entity, messages) => {
    for (const batch of chunked(messages, SIZING.sendBatchSize)) {
      let entries = batch.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m) }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`SQS refused ${entries.length} messages`);
        if (attempt > 0) await backoff(attempt);
        const r = await sqs.send(new SendMessageBatchCommand({ QueueUrl: urls[entity], Entries: entries }));
        const failed = new Set((r.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
  };
}

/** Messages still visible, in flight or delayed on the given queues. */
export function pendingMessages(sqs: SQSClient, urls: readonly string[]) {
  return async () => {
    let pending = 0;
    for (const QueueUrl of urls) {
      const r = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      for (const v of Object.values(r.Attributes ?? {})) pending += Number(v);
    }
    return pending;
  };
}

/** How an SQS-fed function brings a failed message back soon (its own queue's URL and client). */
export interface Redelivery {
  readonly redeliver?: (record: SQSRecord) => Promise<void>;
}

/**
 * Makes a failed message visible again after `redeliverySeconds` of its receive count: seconds, not the
 * queue's visibility timeout (Lambda leaves a failed record to it). If the change itself fails, the
 * message still comes back, only later.
 */
export function sqsRedeliver(sqs: SQSClient, queueUrl: string): NonNullable<Redelivery['redeliver']> {
  return async (r) => {
    const seconds = redeliverySeconds(Number(r.attributes?.ApproximateReceiveCount ?? 1));
    await sqs
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: r.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      )
      .catch((error: Error) =>
        logger.warn('redelivery not scheduled', { messageId: r.messageId, errorType: error.name }),
      );
  };
}

/**
 * An SQS-fed handler with partial batch responses: one failed record never fails the rest, and comes
 * back within seconds (`redeliver`). A processor per invocation: it holds the batch's state, and the
 * local runtime (unlike one Lambda container) runs several invocations of a handler at once.
 */
export const sqsBatchHandler =
  (record: (r: SQSRecord) => Promise<void>, redeliver?: Redelivery['redeliver']) =>
  (event: SQSEvent, context?: unknown): Promise<SQSBatchResponse> =>
    processPartialResponse(
      event,
      redeliver
        ? async (r: SQSRecord) => {
            try {
              await record(r);
            } catch (error) {
              await redeliver(r);
              throw error;
            }
          }
        : record,
      new BatchProcessor(EventType.SQS),
      context ? { context: context as Context } : undefined,
    );

/**
 * The SQS-fed handler of the report's parts or verify's partitions: each message through the core,
 * logged by ids and counts.
 */
export function partWorker(
  ops: readonly PartMessage['op'][],
  work: (msg: PartMessage, deps: PartDeps) => Promise<PartResult>,
  deps: PartDeps & Redelivery,
) {
  return sqsBatchHandler(async (r: SQSRecord) => {
    try {
      const result = await work(parsePart(r.body, ops), deps);
      const { run, op, part } = result.msg;
      logger.info('report part', {
        exportId: run.exportId,
        op,
        part,
        done: result.done,
        ...(result.done === 'now' ? { lines: result.counts.lines } : {}),
      });
    } catch (error) {
      const e = error as Error;
      logger.error('report part failed', { messageId: r.messageId, errorType: e.name, error: e.message });
      throw error;
    }
  }, deps.redeliver);
}

/** The SQS-fed handler of an entity worker: each chunk message through the core, logged by ids and counts. */
export function entityWorker(entity: Entity, deps: ChunkDeps & Redelivery) {
  return sqsBatchHandler(async (r: SQSRecord) => {
    try {
      const result = await processChunk(entity, r.body, deps);
      const { msg } = result;
      const ids = { exportId: msg.exportId, stage: msg.stage, kind: msg.kind, chunk: msg.chunk };
      if (result.done === 'before') {
        logger.info('chunk already done', ids);
        return;
      }
      if (result.first && msg.op === 'decide') countDecisions(msg.kind, result.counts);
      logger.info('chunk done', { ...ids, op: msg.op, first: result.first, ...result.counts });
    } catch (error) {
      // Ids and the error only: a chunk's content never goes to the logs.
      const e = error as Error;
      logger.error('chunk failed', {
        entity,
        messageId: r.messageId,
        receiveCount: r.attributes?.ApproximateReceiveCount,
        errorType: e.name,
        error: e.message,
      });
      throw error;
    }
  }, deps.redeliver);
}
