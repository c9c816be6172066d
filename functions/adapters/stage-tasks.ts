import {
  InvalidToken,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { StageTasks } from '../core/ports';

/**
 * Step Functions' task tokens: the workflow's task that waits for a stage is answered with SendTaskSuccess.
 * A token that no longer waits (its task timed out and checked the markers itself, or another chunk
 * answered first) is no error: the stage's end is known either way.
 */
export function sfnStageTasks(client: SFNClient): StageTasks {
  return {
    async succeed(token, output) {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
      } catch (error) {
        if (
          error instanceof TaskTimedOut ||
          error instanceof InvalidToken ||
          error instanceof TaskDoesNotExist
        )
          return;
        throw error;
      }
    },
  };
}
