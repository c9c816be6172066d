import type { Budget } from '../core/pipeline/sizing';
import { workerOf } from './workers';

/**
 * Paces a writer to the rate the deployment sized it for (a token bucket): at most `perSecond` units a
 * second on average, in bursts of at most one second's worth. Callers wait their turn in order. A
 * request of more units than a second's worth goes when the bucket is full, and the next ones wait
 * longer for it.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Waits until `units` may go; `setRate` changes the rate for the next ones (a new stage's budget). */
export interface Pace {
  (units: number): Promise<void>;
  setRate(perSecond: number): void;
}

const positive = (perSecond: number) => {
  if (!(perSecond > 0)) throw new RangeError(`a pace needs a positive rate, got ${perSecond}`);
  return perSecond;
};

export function pacer(perSecond: number, clock: Clock = realClock): Pace {
  let rate = positive(perSecond);
  let available = Number.isFinite(rate) ? rate : 0;
  let last = clock.now();
  let queue: Promise<void> = Promise.resolve();
  const pace = (units: number) => {
    const turn = queue.then(async () => {
      for (;;) {
        if (!Number.isFinite(rate)) return;
        const now = clock.now();
        available = Math.min(rate, available + ((now - last) / 1000) * rate);
        last = now;
        if (available >= Math.min(units, rate)) {
          available -= units;
          return;
        }
        // Whole milliseconds: a wait of a fraction of one could round away and never refill the bucket.
        await clock.sleep(Math.max(1, Math.ceil(((Math.min(units, rate) - available) / rate) * 1000)));
      }
    });
    queue = turn;
    return turn;
  };
  return Object.assign(pace, {
    setRate(perSecond: number) {
      rate = positive(perSecond);
      available = Math.min(available, Number.isFinite(rate) ? rate : 0);
    },
  });
}

/** What a container's clients are paced on: the table's writes and reads, the buckets' writes and reads. */
export type Paced = keyof Budget;

/**
 * Until a message brings its stage's budget, nothing is paced (a deployed split always gives one; the
 * SDK's retry backs off a call that is throttled).
 */
const UNBUDGETED = Number.POSITIVE_INFINITY;

/** A worker's budget and its paces, one per resource and (for the buckets) per bucket. */
interface WorkerPaces {
  budget?: Budget;
  readonly paces: Map<string, { readonly resource: Paced; readonly pace: Pace }>;
}

const byWorker = new WeakMap<object, WorkerPaces>();

const pacesOf = (worker: object): WorkerPaces => {
  let paces = byWorker.get(worker);
  if (!paces) {
    paces = { paces: new Map() };
    byWorker.set(worker, paces);
  }
  return paces;
};

/**
 * One pace per worker and resource: on Lambda per client, that is per container (each builds its clients
 * once, and runs one invocation at a time). A stage's budget is one worker's share (core/pipeline/sizing
 * stageBudget). Look it up on every use: the worker may change from one call to the next. A bucket's
 * writes and reads are paced per bucket (`on`): each bucket of a set (core/bucket-sets) takes its own
 * 3,500 writes and 5,500 reads a second.
 */
export function paceOf(client: object, resource: Paced, on = ''): Pace {
  const worker = pacesOf(workerOf() ?? client);
  const id = `${resource}@${on}`;
  let entry = worker.paces.get(id);
  if (!entry) {
    entry = { resource, pace: pacer(worker.budget?.[resource] ?? UNBUDGETED) };
    worker.paces.set(id, entry);
  }
  return entry.pace;
}

/** Paces a container's clients to a stage's budget (the table on `dynamo`, the buckets on `s3`). */
export function applyBudget(clients: { readonly dynamo: object; readonly s3: object }, budget: Budget): void {
  for (const client of [clients.dynamo, clients.s3]) {
    const worker = pacesOf(workerOf() ?? client);
    worker.budget = budget;
    for (const { resource, pace } of worker.paces.values()) pace.setRate(budget[resource]);
  }
}
