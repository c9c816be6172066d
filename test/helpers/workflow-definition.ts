import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { AslDefinition } from '../../functions/core/estimate/transitions';
import type { WavePlan } from '../../functions/core/pipeline/stages';
import {
  MigrationWorkflow,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from '../../lib/constructs/migration-workflow';
import { resolveIntrinsic } from '../../local/cloudformation/intrinsics';

/**
 * The state machine that the workflow construct builds for a stage plan, as plain ASL: the real
 * construct, in a stack of its own, without a synth (for tests with hand-made plans).
 */
export function workflowDefinition(plan: readonly WavePlan[], pollSeconds = 10): AslDefinition {
  const stack = new Stack(new App(), 'Workflow');
  const functions = {} as Record<WorkflowFunction, lambda.IFunction>;
  for (const name of WORKFLOW_FUNCTIONS)
    functions[name] = lambda.Function.fromFunctionArn(
      stack,
      name,
      `arn:aws:lambda:eu-west-1:000000000000:function:${name}`,
    );
  const { stateMachine } = new MigrationWorkflow(stack, 'W', { plan, functions, pollSeconds });
  const cfn = stateMachine.node.defaultChild as CfnStateMachine;
  return JSON.parse(
    resolveIntrinsic(stack.resolve(cfn.definitionString), {
      ref: (id) => (id === 'AWS::Partition' ? 'aws' : `local-${id}`),
      getAtt: (id) => `arn:aws:local:::${id}`,
    }),
  );
}
