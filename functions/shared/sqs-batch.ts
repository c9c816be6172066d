import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * An SQS-fed handler with partial batch responses: one failed record never fails the rest. A processor
 * per invocation: it holds the batch's state, and the local runtime (unlike one Lambda container) runs
 * several invocations of a handler at once.
 */
export const sqsBatchHandler =
  (record: (r: SQSRecord) => Promise<void>) =>
  (event: SQSEvent, context?: unknown): Promise<SQSBatchResponse> =>
    processPartialResponse(
      event,
      record,
      new BatchProcessor(EventType.SQS),
      context ? { context: context as Context } : undefined,
    );
