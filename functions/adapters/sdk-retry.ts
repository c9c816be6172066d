import { StandardRetryStrategy } from '@smithy/core/retry';
import { perWorker } from './workers';

type Standard = StandardRetryStrategy;

/**
 * The SDK's standard retry (exponential backoff with full jitter, and a retry quota that stops retrying
 * when most calls fail), one per worker (adapters/workers): on Lambda that is the container's client, as
 * with `retryMode: 'standard'`; in the local runtime, where every invocation shares the clients, each
 * invocation has a quota of its own, as a container does.
 *
 * Not the adaptive mode (issue 28): its client-side rate limit drops a client to 0.5 requests a second
 * at its first throttled call (it has measured no rate yet), and it is a second, unmodelled controller
 * beside the pacing that already holds each worker to its stage's budget (adapters/pacing). A 250-account
 * run under 20 % injected faults took 783 s with one adaptive limiter shared by every invocation, 162 s
 * with one per invocation floored at 50 requests a second, 89 s with this (25 s undisturbed).
 */
export function workerRetry(maxAttempts: number) {
  const strategy = perWorker(() => new StandardRetryStrategy(maxAttempts));
  return {
    mode: 'standard',
    acquireInitialRetryToken: (scope: Parameters<Standard['acquireInitialRetryToken']>[0]) =>
      strategy().acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: (...args: Parameters<Standard['refreshRetryTokenForRetry']>) =>
      strategy().refreshRetryTokenForRetry(...args),
    recordSuccess: (token: Parameters<Standard['recordSuccess']>[0]) => strategy().recordSuccess(token),
  };
}
