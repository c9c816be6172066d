/**
 * How the deployed functions are sized and fed: read by the function table of the stack (what is
 * deployed) and by the AWS estimate (what it would cost), so that the two cannot drift apart.
 */
export const SIZING = {
  /** Memory and timeout of each function, by its folder under functions/ (`worker`: every entity worker). */
  functions: {
    validate: { memoryMb: 1769, timeoutSeconds: 900 },
    'index-identities': { memoryMb: 1024, timeoutSeconds: 900 },
    split: { memoryMb: 1769, timeoutSeconds: 900 },
    progress: { memoryMb: 512, timeoutSeconds: 30 },
    verify: { memoryMb: 1769, timeoutSeconds: 900 },
    report: { memoryMb: 3008, timeoutSeconds: 900 },
    'run-status': { memoryMb: 256, timeoutSeconds: 30 },
    rollback: { memoryMb: 1024, timeoutSeconds: 900 },
    worker: { memoryMb: 1024, timeoutSeconds: 300 },
    'account-link': { memoryMb: 512, timeoutSeconds: 30 },
  },
  /** Timeout of the workflow's long steps (validate, index identities, split, verify, report): Lambda's most. */
  longTaskSeconds: 900,
  /** Chunk messages per invocation of an entity worker (SQS event source batch size). */
  workerBatchSize: 5,
  /** Chunk messages per SendMessageBatch. */
  sendBatchSize: 10,
  /** Registrations per invocation of the account-link function, and its most concurrent invocations. */
  linkBatchSize: 10,
  linkConcurrency: 2,
} as const;

export type SizedFunction = keyof typeof SIZING.functions;
