/**
 * Service ceilings and AWS's default quotas that the model holds a run to and the stacks are checked
 * against at synth, each with its source:
 * - DynamoDB developer guide, "Understanding DynamoDB warm throughput in different scenarios": a new
 *   on-demand table starts at 12,000 read and 4,000 write units a second.
 * - DynamoDB developer guide, "Quotas in Amazon DynamoDB", throughput default quotas: an on-demand table
 *   takes at most 40,000 read and 40,000 write request units a second (per table, adjustable on request);
 *   warm throughput above that is refused.
 * - Lambda developer guide, "Lambda quotas" and "Configuring reserved concurrency": 1,000 concurrent
 *   executions per Region by default, of which reserved concurrency may take all but 100.
 * - S3 user guide, "General purpose bucket quotas, limitations, and restrictions": 10,000 general purpose
 *   buckets per account by default (the target and the reports are each spread over `targetBuckets`).
 */
export const CEILINGS = {
  newTableWritesPerSecond: 4_000,
  newTableReadsPerSecond: 12_000,
  tableWritesQuota: 40_000,
  tableReadsQuota: 40_000,
  lambdaConcurrencyQuota: 1_000,
  lambdaUnreservedMinimum: 100,
  /**
   * PUT/COPY/DELETE and GET/HEAD per second per partitioned prefix of a bucket (S3 user guide, "Best
   * practices design patterns: optimizing Amazon S3 performance"). S3 partitions a bucket further under
   * sustained load, answering 503 SlowDown meanwhile, but AWS documents no time for it (a comment on the
   * AWS Knowledge Center article "s3-object-key-naming-pattern" gives 30 to 60 minutes, and says AWS
   * Support can partition a bucket ahead): the model and the workers' pacing count on the partitions a
   * bucket has from the start (`bucketPartitions`, 1 unless AWS Support made more), never on growth.
   */
  s3PutsPerPrefix: 3_500,
  s3GetsPerPrefix: 5_500,
  bucketsQuota: 10_000,
  historyEvents: 25_000,
  executionSeconds: 24 * 3600,
} as const;
