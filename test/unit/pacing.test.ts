import fc from 'fast-check';
import { type Clock, pacer } from '../../functions/adapters/pacing';
import { stageBudget } from '../../functions/core/pipeline/sizing';
import { ENTITIES } from '../../functions/core/pipeline/workers';

/** A clock that only moves when someone sleeps: the pace's waits, without waiting. */
function virtualClock(): Clock & { readonly slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

test('a writer offers no more than its rate: 6,000 items at 1,500 a second take three seconds after the first burst', async () => {
  const clock = virtualClock();
  const pace = pacer(1500, clock);
  const at: [number, number][] = [];
  for (let i = 0; i < 240; i++) {
    await pace(25);
    at.push([clock.now(), 25]);
  }
  // The first second's worth goes at once; the rest at the rate.
  expect(clock.now()).toBeGreaterThanOrEqual(3000 - 1);
  expect(clock.now()).toBeLessThanOrEqual(3000 + 20);
  // In any window of a second, no more than the rate and one burst.
  for (const [t] of at) {
    const inWindow = at.filter(([u]) => u >= t && u < t + 1000).reduce((n, [, k]) => n + k, 0);
    expect(inWindow).toBeLessThanOrEqual(1500 + 1500);
  }
});

test("concurrent callers wait their turn, in order, and a request over a second's worth still goes", async () => {
  const clock = virtualClock();
  const pace = pacer(100, clock);
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((n) => pace(100).then(() => order.push(n))));
  expect(order).toEqual([1, 2, 3]);
  expect(clock.now()).toBeCloseTo(2000, 0);
  await pace(250);
  expect(clock.now()).toBeGreaterThanOrEqual(3000 - 1);
  expect(() => pacer(0, clock)).toThrow(RangeError);
});

test("a new stage's budget changes the rate for what follows; an unbounded rate never waits", async () => {
  const clock = virtualClock();
  const pace = pacer(100, clock);
  await pace(100);
  pace.setRate(1000);
  // A second's worth at the new rate: the bucket refills at 1,000 a second from empty.
  for (let i = 0; i < 10; i++) await pace(100);
  expect(clock.now()).toBeGreaterThanOrEqual(1000 - 1);
  expect(clock.now()).toBeLessThanOrEqual(1000 + 20);
  pace.setRate(Number.POSITIVE_INFINITY);
  const before = clock.now();
  for (let i = 0; i < 100; i++) await pace(1_000_000);
  expect(clock.now()).toBe(before);
  expect(() => pace.setRate(0)).toThrow(RangeError);
});

describe('stage budgets', () => {
  const capacity = {
    tableWritesPerSecond: 40_000,
    tableReadsPerSecond: 40_000,
    bucketWritesPerSecond: 3_500,
    bucketReadsPerSecond: 5_500,
    workers: {
      profile: 26,
      twinspace: 26,
      group: 26,
      'portfolio-events': 26,
      identities: 26,
      report: 50,
      verify: 50,
    },
  };

  test('a stage where one entity works gives its workers the whole table; four share it; together never more than the capacity', () => {
    fc.assert(
      fc.property(fc.subarray([...ENTITIES], { minLength: 1 }), (entities) => {
        const budget = stageBudget(capacity, entities);
        const workers = entities.reduce((n, e) => n + capacity.workers[e], 0);
        expect(budget.tableWrites * workers).toBeCloseTo(capacity.tableWritesPerSecond, 6);
        expect(budget.bucketWrites * workers).toBeCloseTo(capacity.bucketWritesPerSecond, 6);
        expect(budget.bucketReads * workers).toBeCloseTo(capacity.bucketReadsPerSecond, 6);
      }),
    );
    expect(stageBudget(capacity, ['group']).tableWrites).toBeCloseTo(40_000 / 26, 6);
    expect(stageBudget(capacity, ['group', 'group']).tableWrites).toBeCloseTo(40_000 / 26, 6);
    expect(stageBudget(capacity, ENTITIES).tableWrites).toBeCloseTo(40_000 / 104, 6);
    // A stage of 3 group messages runs 3 workers, not 26: they share the whole table.
    expect(stageBudget(capacity, ['group'], { group: 3 }).tableWrites).toBeCloseTo(40_000 / 3, 6);
    expect(stageBudget(capacity, ['group', 'profile'], { group: 3 }).tableWrites).toBeCloseTo(40_000 / 29, 6);
    expect(() => stageBudget(capacity, [])).toThrow(RangeError);
  });
});
