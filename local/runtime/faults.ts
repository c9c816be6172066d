import type { Clients } from '../../functions/adapters/wiring';
import { prng } from '../../tools/generate';

/**
 * Fault injection for the local stand-ins: an SDK middleware, inside each client's retry loop, that
 * answers a set share of S3, DynamoDB and SQS calls the way those services fail — throttling, a 500, a
 * timeout before the request, or a timeout after it was applied (its answer lost). The SDK's own
 * retries (bounded, with backoff and jitter) and the pipeline's (Step Functions retries, SQS redelivery)
 * must absorb them. Deterministic for a seed.
 */
export type FaultKind = 'throttle' | 'server' | 'timeout-before' | 'timeout-after';
export type FaultService = 's3' | 'dynamo' | 'sqs';

export interface FaultPlan {
  /** Share of calls that fail (0 to 1). */
  readonly share: number;
  readonly seed?: number;
  readonly kinds?: readonly FaultKind[];
  readonly services?: readonly FaultService[];
}

export interface FaultCounts {
  calls: number;
  injected: number;
  byKind: Record<FaultKind, number>;
  byService: Record<FaultService, number>;
}

const ALL_KINDS: readonly FaultKind[] = ['throttle', 'server', 'timeout-before', 'timeout-after'];

/** The error names each service answers with (what the SDK and Step Functions classify as retryable). */
const NAMES: Record<FaultService, { throttle: string; server: string }> = {
  s3: { throttle: 'SlowDown', server: 'InternalError' },
  dynamo: { throttle: 'ProvisionedThroughputExceededException', server: 'InternalServerError' },
  sqs: { throttle: 'ThrottlingException', server: 'InternalError' },
};

function serviceError(service: FaultService, kind: FaultKind): Error {
  const timeout = kind === 'timeout-before' || kind === 'timeout-after';
  const name = timeout ? 'TimeoutError' : NAMES[service][kind as 'throttle' | 'server'];
  const error = new Error(`injected ${kind} (${service})`) as Error & Record<string, unknown>;
  error.name = name;
  if (kind === 'throttle') {
    error.$metadata = { httpStatusCode: service === 's3' ? 503 : 400 };
    error.$retryable = { throttling: true };
    error.$fault = 'client';
  } else if (kind === 'server') {
    error.$metadata = { httpStatusCode: 500 };
    error.$fault = 'server';
  } else {
    error.$metadata = {};
  }
  return error;
}

export const emptyCounts = (): FaultCounts => ({
  calls: 0,
  injected: 0,
  byKind: { throttle: 0, server: 0, 'timeout-before': 0, 'timeout-after': 0 },
  byService: { s3: 0, dynamo: 0, sqs: 0 },
});

/** Adds the fault middleware to the S3, DynamoDB and SQS clients; returns the live counts. */
export function injectFaults(clients: Clients, plan: FaultPlan, counts = emptyCounts()): FaultCounts {
  const next = prng(plan.seed ?? 1);
  const kinds = plan.kinds ?? ALL_KINDS;
  const services = new Set(plan.services ?? ['s3', 'dynamo', 'sqs']);
  const targets: [FaultService, { middlewareStack: { add: (...args: never[]) => void } }][] = [
    ['s3', clients.s3],
    ['dynamo', clients.dynamo],
    ['sqs', clients.sqs],
  ];
  for (const [service, client] of targets) {
    if (!services.has(service)) continue;
    const middleware =
      (handler: (args: unknown) => Promise<unknown>) =>
      async (args: unknown): Promise<unknown> => {
        counts.calls++;
        if (next() >= plan.share) return handler(args);
        const kind = kinds[Math.floor(next() * kinds.length)] as FaultKind;
        counts.injected++;
        counts.byKind[kind]++;
        counts.byService[service]++;
        if (kind === 'timeout-after') {
          await handler(args);
          throw serviceError(service, kind);
        }
        if (kind === 'timeout-before') await new Promise((r) => setTimeout(r, 20));
        throw serviceError(service, kind);
      };
    // finalizeRequest, low priority: inside the SDK's retry middleware (which is high priority there).
    client.middlewareStack.add(
      middleware as never,
      {
        step: 'finalizeRequest',
        priority: 'low',
        name: 'esepFaultInjection',
      } as never,
    );
  }
  return counts;
}
