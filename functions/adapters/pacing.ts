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

export type Pace = (units: number) => Promise<void>;

export function pacer(perSecond: number, clock: Clock = realClock): Pace {
  if (!(perSecond > 0)) throw new RangeError(`a pace needs a positive rate, got ${perSecond}`);
  let available = perSecond;
  let last = clock.now();
  let queue: Promise<void> = Promise.resolve();
  return (units) => {
    const turn = queue.then(async () => {
      for (;;) {
        const now = clock.now();
        available = Math.min(perSecond, available + ((now - last) / 1000) * perSecond);
        last = now;
        if (available >= Math.min(units, perSecond)) {
          available -= units;
          return;
        }
        // Whole milliseconds: a wait of a fraction of one could round away and never refill the bucket.
        await clock.sleep(
          Math.max(1, Math.ceil(((Math.min(units, perSecond) - available) / perSecond) * 1000)),
        );
      }
    });
    queue = turn;
    return turn;
  };
}

const byClient = new WeakMap<object, Pace>();

/**
 * One pace per client, that is per Lambda container (each builds its clients once): the writers'
 * concurrency is sized at so many writes a second per container (core/pipeline/sizing).
 */
export function paceOf(client: object, perSecond: number): Pace {
  let pace = byClient.get(client);
  if (!pace) {
    pace = pacer(perSecond);
    byClient.set(client, pace);
  }
  return pace;
}
