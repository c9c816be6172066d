import { type Clock, pacer } from '../../functions/adapters/pacing';

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
