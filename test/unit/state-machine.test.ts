import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { localStateMachine } from '../../local/runtime/state-machine';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('localStateMachine', () => {
  it('keeps no state output once later states have moved past it (a long run does not hold its history)', async () => {
    // "Make" returns an object that the next state drops; "Check" then asks whether anything still holds it.
    let made: WeakRef<object> | undefined;
    let heldAfterwards: boolean | undefined;
    const definition = {
      StartAt: 'Make',
      States: {
        Make: { Type: 'Task', Resource: 'test:make', ResultPath: '$.made', Next: 'Drop' },
        Drop: { Type: 'Pass', Parameters: { step: 'dropped' }, Next: 'Check' },
        Check: { Type: 'Task', Resource: 'test:check', End: true },
      },
    };
    const machine = localStateMachine(
      definition,
      new Map(),
      { waitMs: 0, retryMs: 0 },
      {
        'test:make': async () => {
          const value = { payload: 'x'.repeat(1024) };
          made = new WeakRef(value);
          return value;
        },
        'test:check': async (input) => {
          await new Promise((resolve) => setImmediate(resolve));
          gc();
          heldAfterwards = made?.deref() !== undefined;
          return input;
        },
      },
    );

    const outcome = await machine.execute({ run: 'r' });

    expect(outcome).toMatchObject({ ok: true, output: { step: 'dropped' } });
    // Its history: the execution's start and end, each of the 3 states entered and exited, and for each of
    // the 2 Tasks three more (scheduled, started, succeeded): 2 + 6 + 6.
    expect(outcome.stats.historyEvents).toBe(14);
    // Its largest state payload: Make's output, {"payload":"x…x"} with 1,024 x's.
    expect(outcome.stats.maxStatePayloadBytes).toBe(JSON.stringify({ payload: 'x'.repeat(1024) }).length);
    expect(made).toBeDefined();
    expect(heldAfterwards).toBe(false);
  });
});
