import type { SQSEvent, SQSRecord } from 'aws-lambda';

/** An SQS record as Lambda's event source delivers it, for calling SQS-fed handlers directly. */
export const sqsRecord = (messageId: string, body: string): SQSRecord => ({
  messageId,
  body,
  receiptHandle: messageId,
  attributes: {} as SQSRecord['attributes'],
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:queue',
  awsRegion: 'eu-west-1',
});

export const sqsEvent = (...records: [messageId: string, body: string][]): SQSEvent => ({
  Records: records.map(([id, body]) => sqsRecord(id, body)),
});
