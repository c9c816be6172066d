import { resolveIntrinsic } from './intrinsics';
import type { SynthesizedApp } from './synth';

/**
 * The synthesized state machine's definition as plain ASL, and its Tasks: what the local runtime runs and
 * what the estimate walks. No CDK import here: reading a cached synth stays cheap.
 */

/** A fake but well-formed ARN for a function's logical id (how local ASL names its Tasks' functions). */
export const localFunctionArn = (logicalId: string) =>
  `arn:aws:lambda:eu-west-1:000000000000:function:${logicalId}`;

/**
 * The state machine's DefinitionString as plain ASL: `Fn::Join` resolved, each `Fn::GetAtt` of a
 * function turned into `localFunctionArn`, and any other reference into a placeholder.
 */
export function definitionOf(synth: SynthesizedApp): Record<string, unknown> {
  const resource = synth.templates.pipeline.Resources[synth.stateMachineLogicalId];
  const definition = resolveIntrinsic(resource?.Properties?.DefinitionString, {
    ref: (id) => (id === 'AWS::Partition' ? 'aws' : `local-${id}`),
    getAtt: (id) => (synth.functions.has(id) ? localFunctionArn(id) : `arn:aws:local:::${id}`),
  });
  return JSON.parse(definition);
}

/** Every Task state of a definition (nested in Map and Parallel too), by state name. */
export interface TaskState {
  readonly Resource: string;
  readonly Parameters?: Readonly<Record<string, unknown>>;
}

export function taskStates(definition: Record<string, unknown>): Map<string, TaskState> {
  const tasks = new Map<string, TaskState>();
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') tasks.set(name, state as unknown as TaskState);
      for (const inner of [state.ItemProcessor, state.Iterator] as (
        | { States?: Record<string, Record<string, unknown>> }
        | undefined
      )[]) {
        if (inner?.States) visit(inner.States);
      }
      for (const branch of (state.Branches ?? []) as { States: Record<string, Record<string, unknown>> }[])
        visit(branch.States);
    }
  };
  visit(definition.States as Record<string, Record<string, unknown>>);
  return tasks;
}

/** A Task that invokes a function and waits for its task token (`lambda:invoke.waitForTaskToken`). */
export const waitsForToken = (task: TaskState) =>
  task.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/**
 * The function logical id a Task invokes: its Resource (payloadResponseOnly: the function ARN), or for a
 * task that waits for a token, its FunctionName.
 */
export const taskFunction = (task: TaskState) =>
  /:function:([^:]+)$/.exec(
    waitsForToken(task) ? String(task.Parameters?.FunctionName ?? '') : task.Resource,
  )?.[1];
