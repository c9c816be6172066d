import { CEILINGS } from '../ceilings';
import { type Capacity, SIZING } from './sizing';
import { QUEUED, type Queued } from './workers';

/** The deployment's settings that size the workers (CDK context; `plan`'s estimate takes the same). */
export interface DeploymentSizing {
  /** The most concurrent invocations of each queued function (workerConcurrency). */
  readonly workerConcurrency: number;
  /** Writes and reads a second the state table takes from the start (its warm throughput). */
  readonly tableWarmWrites: number;
  readonly tableWarmReads: number;
  /** Partitions each bucket has from the start (1: a new bucket's; more when AWS Support made them). */
  readonly bucketPartitions: number;
}

/**
 * The most concurrent invocations of a queued function: the `workerConcurrency` setting (the link
 * function's own few). Workers that share the table and buckets are paced to their stage's share
 * (sizing.ts stageBudget), so more of them never offer more than the table and buckets take: a stage where
 * one entity works gives its workers the whole table, a stage where four work shares it four ways.
 */
export function queueConcurrency(queue: Queued | 'link', settings: DeploymentSizing): number {
  return queue === 'link' ? SIZING.linkConcurrency : settings.workerConcurrency;
}

/** What the deployment gives a run each second, and how many workers each queue runs (CAPACITY). */
export function capacityOf(settings: DeploymentSizing): Capacity {
  return {
    tableWritesPerSecond: settings.tableWarmWrites,
    tableReadsPerSecond: settings.tableWarmReads,
    bucketWritesPerSecond: settings.bucketPartitions * CEILINGS.s3PutsPerPrefix,
    bucketReadsPerSecond: settings.bucketPartitions * CEILINGS.s3GetsPerPrefix,
    workers: Object.fromEntries(QUEUED.map((q) => [q, queueConcurrency(q, settings)])) as Record<
      Queued,
      number
    >,
  };
}
