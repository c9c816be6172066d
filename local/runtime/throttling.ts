import { CEILINGS } from '../../functions/core/ceilings';
import type { Capacity } from '../../functions/core/pipeline/sizing';
import { operationOf, type RequestCounts, unitsOf } from './limits';

/**
 * AWS's own limits, enforced by the local stand-ins (`run --aws-limits`): a new on-demand table's 4,000
 * writes and 12,000 reads a second, and a new bucket's one partition of 3,500 writes and 5,500 reads a
 * second, each times `scale` (the stand-ins take a small export in seconds: a scale below 1 makes the
 * same limits bind on it as on the full export). Above them a request is refused as AWS refuses it:
 * DynamoDB's `ProvisionedThroughputExceededException`, S3's `503 SlowDown`, with a second's burst at most.
 * The splits budget the workers from the same figures (CAPACITY), so the pacing meets the limits it
 * was sized for.
 */
export interface Throttling {
  /** Requests to the table and buckets, every attempt. */
  requests: number;
  /** Of them, refused as over a limit (and retried by the SDK). */
  throttled: number;
  /** Milliseconds the refused requests waited before their next attempt, summed. */
  waitedMs: number;
  /** Chunk and part messages left in a dead-letter queue when the run ended. */
  deadLettered: number;
}

/** The limits a second, at `scale`. */
export function awsLimits(
  scale: number,
): Pick<
  Capacity,
  'tableWritesPerSecond' | 'tableReadsPerSecond' | 'bucketWritesPerSecond' | 'bucketReadsPerSecond'
> {
  if (!(scale > 0 && scale <= 1))
    throw new RangeError(`--aws-limits: a scale above 0, at most 1, got ${scale}`);
  return {
    tableWritesPerSecond: CEILINGS.newTableWritesPerSecond * scale,
    tableReadsPerSecond: CEILINGS.newTableReadsPerSecond * scale,
    bucketWritesPerSecond: CEILINGS.s3PutsPerPrefix * scale,
    bucketReadsPerSecond: CEILINGS.s3GetsPerPrefix * scale,
  };
}

/** A rate with a second's burst: whether `units` may go now (a batch larger than a second's may, into debt). */
function bucketOf(perSecond: number, now: () => number) {
  let available = perSecond;
  let last = now();
  return (units: number) => {
    const t = now();
    available = Math.min(perSecond, available + ((t - last) / 1000) * perSecond);
    last = t;
    if (available < Math.min(units, perSecond)) return false;
    available -= units;
    return true;
  };
}

/** An error as the SDK reads one of AWS's throttling answers: retried, with its throttling backoff. */
function refusal(service: 'dynamodb' | 's3'): Error {
  const dynamo = service === 'dynamodb';
  const error = new Error(
    dynamo
      ? 'The level of configured provisioned throughput for the table was exceeded (local --aws-limits)'
      : 'Please reduce your request rate. (local --aws-limits)',
  );
  error.name = dynamo ? 'ProvisionedThroughputExceededException' : 'SlowDown';
  return Object.assign(error, {
    $fault: dynamo ? 'client' : 'server',
    $metadata: { httpStatusCode: dynamo ? 400 : 503 },
    $retryable: { throttling: true },
  });
}

const MEASURES: Record<keyof RequestCounts, keyof ReturnType<typeof awsLimits>> = {
  dynamoWriteUnits: 'tableWritesPerSecond',
  dynamoReadUnits: 'tableReadsPerSecond',
  s3Writes: 'bucketWritesPerSecond',
  s3Reads: 'bucketReadsPerSecond',
};

/**
 * Makes the functions' clients meet AWS's limits: an SDK middleware inside the retry loop, so that a
 * refused request is retried as the SDK retries AWS's (standard mode, backoff with jitter).
 */
export function enforceAwsLimits(
  clients: readonly { middlewareStack: { add: (...args: never[]) => void } }[],
  limits: ReturnType<typeof awsLimits>,
  counts: Throttling,
  now: () => number = () => performance.now(),
): void {
  const buckets = new Map<string, (units: number) => boolean>();
  const take = (key: string, perSecond: number, units: number) => {
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = bucketOf(perSecond, now);
      buckets.set(key, bucket);
    }
    return bucket(units);
  };
  const THROTTLED_AT = Symbol('throttledAt');
  const middleware =
    (handler: (args: unknown) => Promise<unknown>, context: Record<string | symbol, unknown>) =>
    async (args: unknown): Promise<unknown> => {
      const operation = operationOf(context as { clientName?: string; commandName?: string });
      const asked = unitsOf(operation, (args as { input?: unknown }).input);
      if (!asked) return handler(args);
      counts.requests++;
      const at = context[THROTTLED_AT];
      if (typeof at === 'number') counts.waitedMs += now() - at;
      delete context[THROTTLED_AT];
      const limit = limits[MEASURES[asked.measure]];
      // A table's limits are the table's; a bucket's are each bucket's own.
      if (!take(`${asked.measure}#${asked.bucket ?? ''}`, limit, asked.units)) {
        counts.throttled++;
        context[THROTTLED_AT] = now();
        throw refusal(operation.startsWith('dynamodb:') ? 'dynamodb' : 's3');
      }
      return handler(args);
    };
  for (const client of clients)
    client.middlewareStack.add(middleware as never, { step: 'deserialize', name: 'awsLimits' } as never);
}
