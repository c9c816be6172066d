import { randomUUID } from 'node:crypto';
import { SendTaskSuccessCommand, type SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';

/**
 * Step Functions' task tokens on this machine: the local state machine opens a wait for each task that
 * waits for a token (`wait`), and the functions answer it through an SFN client whose SendTaskSuccess
 * lands here (`client`), as on AWS. A token that no longer waits answers TaskTimedOut, as AWS does.
 */
export function localTaskTokens() {
  const waiting = new Map<string, (output: unknown) => void>();
  const cancels = new Map<string, () => void>();
  const client = {
    async send(command: unknown) {
      if (!(command instanceof SendTaskSuccessCommand))
        throw new Error('the local Step Functions stand-in answers SendTaskSuccess only');
      const { taskToken = '', output = 'null' } = command.input;
      const resolve = waiting.get(taskToken);
      if (!resolve)
        throw new TaskTimedOut({ message: 'Task Timed Out: the token no longer waits', $metadata: {} });
      waiting.delete(taskToken);
      resolve(JSON.parse(output));
      return { $metadata: {} };
    },
    destroy: () => undefined,
  } as unknown as SFNClient;
  return {
    client,
    /**
     * A new token, and its answer: the output it is sent, or an error named `States.Timeout` after
     * `timeoutMs` (what Step Functions raises when a task's TimeoutSeconds pass).
     */
    wait(timeoutMs: number): { token: string; answer: Promise<unknown> } {
      const token = `local-task-${randomUUID()}`;
      const answer = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(token);
          const error = new Error(`no answer for the task token within ${timeoutMs} ms`);
          error.name = 'States.Timeout';
          reject(error);
        }, timeoutMs);
        waiting.set(token, (output) => {
          clearTimeout(timer);
          resolve(output);
        });
        cancels.set(token, () => {
          clearTimeout(timer);
          waiting.delete(token);
        });
      });
      // The timeout can come while the task's function still runs (a slow invocation): the caller awaits
      // the answer after it, so the rejection is handled there, not an unhandled one that ends the process.
      answer.catch(() => undefined).finally(() => cancels.delete(token));
      return { token, answer };
    },
    /** Stops waiting for a token whose task failed before it could be answered. */
    cancel(token: string): void {
      cancels.get(token)?.();
      cancels.delete(token);
    },
    /** Tokens still waiting (an execution that ended leaves none). */
    get waiting() {
      return waiting.size;
    },
  };
}
export type LocalTaskTokens = ReturnType<typeof localTaskTokens>;
