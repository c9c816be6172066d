import * as z from 'zod';
import { QUEUED, type Queued } from './workers';

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
    // The short functions' timeouts leave room for one call's every SDK retry (sdkRetryCeilingSeconds).
    progress: { memoryMb: 512, timeoutSeconds: 120, tmpMb: 512 },
    // Verify and report work one partition per invocation (PARTITIONING): nothing grows with the export.
    verify: { memoryMb: 1769, timeoutSeconds: 900, tmpMb: 512 },
    report: { memoryMb: 1769, timeoutSeconds: 900, tmpMb: 512 },
    summary: { memoryMb: 1024, timeoutSeconds: 900, tmpMb: 512 },
    'run-status': { memoryMb: 256, timeoutSeconds: 120, tmpMb: 512 },
    rollback: { memoryMb: 1024, timeoutSeconds: 900, tmpMb: 512 },
    worker: { memoryMb: 1024, timeoutSeconds: 300, tmpMb: 512 },
    'account-link': { memoryMb: 512, timeoutSeconds: 120, tmpMb: 512 },
  },
  /**
   * How the functions' AWS SDK clients retry (adapters/wiring clientRetry): standard mode, this many
   * attempts a call. Before its n-th retry (n from 0) after throttling the SDK waits up to
   * `throttlingDelayBaseMs × 2^n`, with full jitter, never more than `maxDelayMs` (@smithy/core 3.41
   * util-retry: retries-2026-config `Retry.throttlingDelay`, DefaultRetryBackoffStrategy,
   * MAXIMUM_RETRY_DELAY).
   */
  sdkRetry: { maxAttempts: 8, throttlingDelayBaseMs: 1_000, maxDelayMs: 20_000 },
  /** Every function's timeout is at least this many times one call's longest run of SDK retries. */
  retryHeadroom: 1.5,
  /**
   * A message whose work failed (a throttled chunk, a passing fault) comes back after these seconds,
   * doubling with each receive, not after the queue's visibility timeout (minutes: as long as a worker
   * may run). Five receives, then the dead-letter queue: 1 + 2 + 4 + 8 s.
   */
  redelivery: { firstSeconds: 1, maxSeconds: 60 },
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

/**
 * How a run's work is cut into invocations of bounded size, whatever the export's size: lines per chunk
 * (the entity workers), result objects per report part, decisions per receipts partition, target keys per
 * verify invocation, parts' tallies per summary invocation. Deployed from CDK context (`-c partitioning='{...}'`), so a test can make a small
 * export take many partitions and show that no invocation's work grows with the export.
 */
export const PartitioningSchema = z
  .object({
    chunkLines: z.number().int().min(1).max(100_000).default(1000),
    /**
     * Files per chunk of a decide step, and their declared bytes: a worker reads each file whole (its
     * SHA-256) and copies it, so a chunk of items that carry large files is cut sooner (a single file
     * over the bytes is a chunk of its own). 2 GiB a chunk, 5 chunks a batch: at most 10 GiB read in one
     * invocation (134 s at the estimate's 80 MB/s), inside the worker's timeout. The count is no tighter
     * than the lines by default (a small file costs a read and a copy, as a line costs a write).
     */
    chunkFiles: z.number().int().min(1).max(100_000).default(1000),
    chunkFileBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 ** 3)
      .default(2 * 1024 ** 3),
    /**
     * Chunks that one invocation of a stage's split copies from their pieces and sends before it hands
     * the rest on (a loop of the state machine): about 19,000 chunks in the full-size export's largest
     * stage, so a page a few seconds of copies.
     */
    splitChunks: z.number().int().min(1).max(100_000).default(1000),
    /** Result objects (decided chunks) that one report part reads. */
    reportResults: z.number().int().min(1).max(1000).default(50),
    /**
     * Spool objects (one for each receipts or verify partition its decisions reach) that one invocation
     * of a report part puts before it hands the rest on: above the partitions of the full-size export
     * (about 380 receipts and 240 verify partitions), so that a part reads its results once there.
     */
    spoolPuts: z.number().int().min(1).max(10_000).default(1000),
    /** Decisions per receipts partition (their accounts are spread over the partitions by a hash of their id). */
    partitionRecords: z.number().int().min(10).max(1_000_000).default(50_000),
    /**
     * Accounts whose receipts one invocation of a receipts partition builds and puts (3 to 5 files each)
     * before it hands the rest on: however the accounts fall into partitions, and however many there are.
     */
    receiptsPerStep: z.number().int().min(1).max(100_000).default(1000),
    /** Keys of the target that one verify invocation checks before it hands on the rest. */
    verifyKeys: z.number().int().min(10).max(100_000).default(5_000),
    /** Keys of the target per verify partition (a chain of pages); an area's 256 shards are cut to match. */
    verifyPartitionKeys: z.number().int().min(10).max(10_000_000).default(100_000),
    /** Spool objects (one a report part) that one verify invocation joins before it hands the rest on. */
    joinObjects: z.number().int().min(2).max(1000).default(500),
    /** Parts' tallies that one summary invocation merges before it hands the rest on (a loop). */
    summaryTallies: z.number().int().min(2).max(1000).default(500),
  })
  .strict();
export type Partitioning = z.infer<typeof PartitioningSchema>;
export const PARTITIONING: Partitioning = PartitioningSchema.parse({});

/** Receipts partitions of an export of `records` lines: about `partitionRecords` decisions each. */
export const receiptPartitions = (records: number, p: Partitioning) =>
  Math.min(10_000, Math.max(1, Math.ceil(records / p.partitionRecords)));

/** Ranges of each area of the target that verify checks apart, for an export of `records` lines. */
export const verifyRanges = (records: number, p: Partitioning) =>
  Math.min(256, Math.max(1, Math.ceil(records / 4 / p.verifyPartitionKeys)));

/**
 * The longest one SDK call can spend waiting between its attempts (every backoff at its ceiling): a
 * function whose timeout is shorter can time out on one throttled call however little work it has.
 */
export const sdkRetryCeilingSeconds = (retry = SIZING.sdkRetry) => {
  let ms = 0;
  for (let n = 0; n < retry.maxAttempts - 1; n++)
    ms += Math.min(retry.maxDelayMs, retry.throttlingDelayBaseMs * 2 ** n);
  return ms / 1000;
};

/** Seconds before a failed message is visible again, after its `receiveCount`-th receive. */
export const redeliverySeconds = (receiveCount: number, r = SIZING.redelivery) =>
  Math.min(r.maxSeconds, r.firstSeconds * 2 ** Math.max(0, Math.floor(receiveCount) - 1));

/**
 * What the deployment gives a run each second (CDK settings, lib/functions.ts `capacityOf`; the split
 * functions read it from their environment): the table's warm throughput, each bucket's writes and reads
 * (the S3 partitions the model assumes, at 3,500 PUT and 5,500 GET a second each), and how many workers
 * each queue runs at once.
 */
export const CapacitySchema = z
  .object({
    tableWritesPerSecond: z.number().positive(),
    tableReadsPerSecond: z.number().positive(),
    bucketWritesPerSecond: z.number().positive(),
    bucketReadsPerSecond: z.number().positive(),
    workers: z.record(z.enum(QUEUED), z.number().int().positive()),
  })
  .strict();
export type Capacity = z.infer<typeof CapacitySchema>;

/** One worker's share of the capacity in one stage, a second: what its clients are paced to. */
export const BudgetSchema = z
  .object({
    tableWrites: z.number().positive(),
    tableReads: z.number().positive(),
    bucketWrites: z.number().positive(),
    bucketReads: z.number().positive(),
  })
  .strict();
export type Budget = z.infer<typeof BudgetSchema>;

/**
 * A stage's budget per worker: the capacity shared by every worker that can run in it (the queues its
 * steps feed, each at its concurrency, but no more workers than it has messages: `messages`, when known,
 * is at least how many each queue gets). A stage where one entity works gives that entity's workers the
 * whole table and buckets; one where four work shares them four ways. Offered together, the workers never
 * exceed what the table and the buckets take.
 */
export function stageBudget(
  capacity: Capacity,
  queues: Iterable<Queued>,
  messages: Partial<Record<Queued, number>> = {},
): Budget {
  const workers = [...new Set(queues)].reduce(
    (n, q) => n + Math.min(capacity.workers[q] ?? 0, messages[q] ?? Number.POSITIVE_INFINITY),
    0,
  );
  if (workers === 0) throw new RangeError('a stage budget needs at least one queue with workers');
  return {
    tableWrites: capacity.tableWritesPerSecond / workers,
    tableReads: capacity.tableReadsPerSecond / workers,
    bucketWrites: capacity.bucketWritesPerSecond / workers,
    bucketReads: capacity.bucketReadsPerSecond / workers,
  };
}
