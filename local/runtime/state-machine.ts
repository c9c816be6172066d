import { randomUUID } from 'node:crypto';
import { taskFunction, taskStates, waitsForToken } from '../cloudformation/definition';
import type { LocalTaskTokens } from '../stand-ins/task-tokens';

// aws-local-stepfunctions 3 declares Node 22 and uses Promise.withResolvers; Node 20 lacks it.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export type TaskHandler = (input: unknown) => Promise<unknown>;

/** `$$.Task.Token` in the emulator's context: each waiting task's input gets a token of its own for it. */
const TOKEN_PLACEHOLDER = 'local-task-token-placeholder';

export interface LocalExecutionOptions {
  /**
   * Milliseconds for every Wait state, and for every task waiting for a token before it times out (the
   * deployed machine waits pollSeconds).
   */
  readonly waitMs: number;
  /** Where tasks that wait for a token wait (the functions' SFN client answers them). */
  readonly taskTokens?: LocalTaskTokens;
  /** Milliseconds between retries of a Task (the deployed machine backs off from 2 s). */
  readonly retryMs: number;
  /** Called after each Task, with its state name and output (for progress). */
  readonly onTask?: (state: string, input: unknown, output: unknown) => void;
  /** The state machine's ARN as the template gives it (`$$.StateMachine.Id`: a run starts it again). */
  readonly stateMachineArn?: string;
}

/** What an execution asked of Step Functions' quotas, as far as the emulator shows it. */
export interface ExecutionStats {
  /**
   * Its history events: the emulator's events (execution, state entered and exited, Map iterations,
   * retries, catches) and, for each Task, the three AWS adds (scheduled, started, succeeded or failed).
   */
  historyEvents: number;
  /** The largest input or output of a state, in bytes of JSON (Step Functions takes at most 256 KiB). */
  maxStatePayloadBytes: number;
}

/** The outcome of an execution: its output, or the error and cause it failed with; its stats either way. */
export type ExecutionOutcome = (
  | { readonly ok: true; readonly output: unknown }
  | { readonly ok: false; readonly error: string; readonly cause: string }
) & { readonly stats: ExecutionStats };

/**
 * Runs the synthesized state machine definition with aws-local-stepfunctions, every Task routed to the
 * in-process handler of its function (overrides are keyed by state name).
 */
export function localStateMachine(
  definition: Record<string, unknown>,
  functions: ReadonlyMap<string, TaskHandler>,
  options: LocalExecutionOptions,
  /** Stand-ins for service integrations (not Lambda), by Task Resource. */
  integrations: Readonly<Record<string, TaskHandler>> = {},
) {
  const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  /** The stats of the execution running (one at a time per machine). */
  let current: ExecutionStats | undefined;
  const retries: Record<string, number> = {};
  for (const [state, task] of taskStates(definition)) {
    const waits = waitsForToken(task);
    const id = taskFunction(task);
    const target = id ? functions.get(id) : integrations[task.Resource];
    if (!target)
      throw new Error(`local runtime: task "${state}" calls ${task.Resource}, which has no local handler`);
    const tokens = options.taskTokens;
    if (waits && !tokens)
      throw new Error(`local runtime: task "${state}" waits for a task token, and no task tokens were given`);
    // A waiting task invokes its function with a token of its own, then waits for the answer (or times
    // out after waitMs, as the deployed task does after its TimeoutSeconds).
    const fn: TaskHandler =
      waits && tokens
        ? async (input) => {
            const { token, answer } = tokens.wait(options.waitMs);
            const payload = (input as { Payload?: unknown }).Payload;
            try {
              await target(JSON.parse(JSON.stringify(payload ?? null).replaceAll(TOKEN_PLACEHOLDER, token)));
            } catch (error) {
              tokens.cancel(token);
              throw error;
            }
            return answer;
          }
        : target;
    handlers[state] = async (input) => {
      const stats = current;
      if (stats) {
        stats.historyEvents += 3;
        stats.maxStatePayloadBytes = Math.max(
          stats.maxStatePayloadBytes,
          JSON.stringify(input ?? null).length,
        );
      }
      const output = await fn(input);
      if (stats)
        stats.maxStatePayloadBytes = Math.max(
          stats.maxStatePayloadBytes,
          JSON.stringify(output ?? null).length,
        );
      options.onTask?.(state, input, output);
      return output;
    };
    retries[state] = options.retryMs;
  }
  const waits: Record<string, number> = {};
  const collectWaits = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Wait') waits[name] = options.waitMs;
      const inner = (state.ItemProcessor ?? state.Iterator) as
        | { States?: Record<string, Record<string, unknown>> }
        | undefined;
      if (inner?.States) collectWaits(inner.States);
    }
  };
  collectWaits(definition.States as Record<string, Record<string, unknown>>);

  return {
    async execute(input: unknown): Promise<ExecutionOutcome> {
      const stats: ExecutionStats = { historyEvents: 0, maxStatePayloadBytes: 0 };
      current = stats;
      const execution = machine.run(input as never, {
        // As on AWS, each execution has an id of its own ($$.Execution.Id: it takes the export's run lock).
        context: {
          Execution: { Id: `local:execution:${randomUUID()}`, StartTime: new Date().toISOString() },
          ...(options.stateMachineArn ? { StateMachine: { Id: options.stateMachineArn } } : {}),
          Task: { Token: TOKEN_PLACEHOLDER },
        },
        overrides: {
          taskResourceLocalHandlers: handlers as never,
          waitTimeOverrides: waits,
          retryIntervalOverrides: retries,
        },
      });
      // The emulator queues every event of the execution (each state's input and output) until its
      // eventLogs are read: unread, they held memory that grew with every state a long run went through.
      const counted = (async () => {
        for await (const _ of execution.eventLogs) stats.historyEvents++;
      })().catch(() => undefined);
      try {
        const output = await execution.result;
        await counted;
        return { ok: true, output, stats };
      } catch (error) {
        await counted;
        type Failure = { name?: string; message?: string; error?: string; cause?: unknown };
        const e = error as Failure;
        const root = (typeof e.cause === 'object' && e.cause !== null ? e.cause : e) as Failure;
        const cause = typeof root.cause === 'string' ? root.cause : (root.message ?? String(error));
        return { ok: false, error: root.error ?? root.name ?? 'Error', cause, stats };
      }
    },
  };
}
