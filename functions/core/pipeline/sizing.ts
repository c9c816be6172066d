/**
 * How the deployed functions are sized and fed: read by the function table of the stack (what is
 * deployed) and by the AWS estimate (what it would cost), so that the two cannot drift apart.
 */
export const SIZING = {
  /**
   * Memory, timeout and ephemeral storage (/tmp) of each function, by its folder under functions/
   * (`worker`: every entity worker).
   */
  functions: {
    validate: { memoryMb: 1769, timeoutSeconds: 900, tmpMb: 512 },
    'index-identities': { memoryMb: 1024, timeoutSeconds: 900, tmpMb: 512 },
    split: { memoryMb: 1769, timeoutSeconds: 900, tmpMb: 512 },
    progress: { memoryMb: 512, timeoutSeconds: 30, tmpMb: 512 },
    verify: { memoryMb: 1769, timeoutSeconds: 900, tmpMb: 512 },
    // The report builds every receipt in /tmp before it uploads them (21.5 KB per account): Lambda's most.
    report: { memoryMb: 3008, timeoutSeconds: 900, tmpMb: 10_240 },
    'run-status': { memoryMb: 256, timeoutSeconds: 30, tmpMb: 512 },
    rollback: { memoryMb: 1024, timeoutSeconds: 900, tmpMb: 512 },
    worker: { memoryMb: 1024, timeoutSeconds: 300, tmpMb: 512 },
    'account-link': { memoryMb: 512, timeoutSeconds: 30, tmpMb: 512 },
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
