/**
 * How the deployed functions are sized and fed: read by the pipeline stack (what is deployed) and by the
 * AWS estimate (what it would cost), so that the two cannot drift apart.
 */
export const SIZING = {
  memoryMb: {
    validate: 1769,
    indexIdentities: 1024,
    split: 1769,
    progress: 512,
    report: 3008,
    verify: 1769,
    runStatus: 256,
    worker: 1024,
  },
  /** Timeout of the workflow's long steps (validate, index identities, split, verify, report): Lambda's most. */
  longTaskSeconds: 900,
  /** Chunk messages per invocation of an entity worker (SQS event source batch size). */
  workerBatchSize: 5,
  /** Chunk messages per SendMessageBatch. */
  sendBatchSize: 10,
} as const;
