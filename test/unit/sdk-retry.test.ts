import { AsyncLocalStorage } from 'node:async_hooks';
import { workerRetry } from '../../functions/adapters/sdk-retry';
import { perWorker, setWorkers } from '../../functions/adapters/workers';

/**
 * Where many workers share one client (the local runtime's invocations), each has the SDK's retry of its
 * own, as each Lambda container has: one worker whose calls keep failing spends its own retry quota, not
 * the others', and outside any worker (on Lambda) the client's own is used.
 */
const running = new AsyncLocalStorage<object>();
beforeAll(() => setWorkers(() => running.getStore()));
afterAll(() => setWorkers(() => undefined));

test('one value per worker, made on first use; the own one outside any worker', () => {
  let made = 0;
  const of = perWorker(() => ({ n: ++made }));
  const [a, b] = [{}, {}];
  const own = of();
  expect(running.run(a, of)).toBe(running.run(a, of));
  expect(running.run(a, of)).not.toBe(running.run(b, of));
  expect(running.run(b, of)).not.toBe(own);
  expect(of()).toBe(own);
  expect(made).toBe(3);
});

test('a worker that spent its retry quota is refused retries; another worker sharing the client still retries', async () => {
  const retry = workerRetry(8);
  type Token = Parameters<typeof retry.refreshRetryTokenForRetry>[0];
  const timeout = { errorType: 'TRANSIENT' } as const;
  /** Retries one failed call (a timeout); false when the quota refuses it. */
  const retryOnce = async () => {
    const token = (await retry.acquireInitialRetryToken('dynamodb')) as Token;
    return retry.refreshRetryTokenForRetry(token, timeout).then(
      () => true,
      () => false,
    );
  };
  const [failing, other] = [{}, {}];
  let granted = 0;
  await running.run(failing, async () => {
    while (await retryOnce()) granted++;
  });
  expect(granted).toBeGreaterThan(10); // the SDK's quota: 500, less 14 a retried timeout
  expect(await running.run(failing, retryOnce)).toBe(false);
  expect(await running.run(other, retryOnce)).toBe(true);
}, 30_000);
