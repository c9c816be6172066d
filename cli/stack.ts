import type * as CloudFormation from '@aws-sdk/client-cloudformation';
import type * as Lambda from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { pendingMessages } from '../functions/adapters/sqs';
import {
  awsClients,
  type Clients,
  forgetDepsFrom,
  readConfig,
  STACK_OUTPUTS,
} from '../functions/adapters/wiring';
import { ExecutionFailedError, UsageError } from '../functions/core/errors';

/**
 * A deployed stack, for an operator command given `--stack <name>`: the AWS SDK's own settings choose the
 * account, region and endpoints (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>,
 * the shared config file), the stack's outputs name its resources (lib/pipeline-stack.ts, STACK_OUTPUTS),
 * and a command is configured as the function whose work it does: from that function's configuration.
 * The clients are the functions' own (`awsClients`), so a command runs the same adapters the Lambdas run.
 */
export interface DeployedStack {
  readonly name: string;
  readonly clients: Clients;
  /** A function's environment as deployed, by its folder under functions/ (`verify`, `account-link`). */
  environment(fn: string): Promise<NodeJS.ProcessEnv>;
  readonly stateMachineArn: string;
  /** Each dead-letter queue's URL, with the URL of the queue it serves. */
  readonly deadLetters: ReadonlyMap<string, string>;
  /** Messages in the dead-letter queues now (visible, in flight or delayed). */
  deadLettered(): Promise<number>;
  /**
   * Starts an execution of the state machine with `input` and waits for its end; its output. Says that
   * it waits, every HEARTBEAT_MS, through `say`. A failed execution throws ExecutionFailedError.
   */
  execute(input: object, say?: (text: string) => void): Promise<unknown>;
  close(): void;
}

/** How often a command that waits for an execution asks whether it has ended. */
const EXECUTION_POLL_MS = 2_000;
/** How often a command that waits for an execution says so. */
const HEARTBEAT_MS = 10_000;

/** Turns the SDK's errors of a missing region, credentials or stack into what the operator can fix. */
function stackError(name: string, error: unknown): Error {
  const message = (error as Error)?.message ?? String(error);
  if (/Region is missing|Region not accepted/i.test(message))
    return new UsageError(
      `--stack ${name}: no AWS region (or not a valid one); set AWS_REGION, or a profile with a region (AWS_PROFILE)`,
    );
  if ((error as Error)?.name === 'CredentialsProviderError')
    return new UsageError(`--stack ${name}: no AWS credentials (${message}); set AWS_PROFILE or log in`);
  if ((error as Error)?.name === 'ValidationError' && /does not exist/.test(message))
    return new UsageError(
      `--stack ${name}: no such stack in this account and region (the pipeline stack's name, as \`cdk deploy\` printed it)`,
    );
  return error as Error;
}

export async function openStack(name: string): Promise<DeployedStack> {
  // Loaded only for a command given --stack: a local command starts without them.
  const { CloudFormationClient, DescribeStacksCommand } =
    require('@aws-sdk/client-cloudformation') as typeof CloudFormation;
  const { GetFunctionConfigurationCommand, LambdaClient } =
    require('@aws-sdk/client-lambda') as typeof Lambda;
  const cloudformation = new CloudFormationClient({});
  const lambda = new LambdaClient({});
  const clients = awsClients();
  const close = () => {
    for (const c of [
      cloudformation,
      lambda,
      clients.s3,
      clients.dynamo,
      clients.sqs,
      clients.secrets,
      clients.sfn,
    ])
      c.destroy();
  };
  try {
    const described = await cloudformation
      .send(new DescribeStacksCommand({ StackName: name }))
      .catch((error: unknown) => {
        throw stackError(name, error);
      });
    const outputs = new Map(
      (described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
    const output = (key: string) => {
      const value = outputs.get(key);
      if (!value)
        throw new UsageError(
          `--stack ${name}: the stack has no output ${key} (is it the pipeline stack, deployed by this version?)`,
        );
      return value;
    };
    const stateMachineArn = output(STACK_OUTPUTS.stateMachine);
    const deadLetters = new Map<string, string>();
    for (const [key, value] of outputs) {
      if (!key.startsWith(STACK_OUTPUTS.redrive(''))) continue;
      const [dlq, source] = value.split(' ');
      if (dlq && source) deadLetters.set(dlq, source);
    }
    const environments = new Map<string, Promise<NodeJS.ProcessEnv>>();
    return {
      name,
      clients,
      stateMachineArn,
      deadLetters,
      environment(fn) {
        let env = environments.get(fn);
        if (!env) {
          env = lambda
            .send(new GetFunctionConfigurationCommand({ FunctionName: output(STACK_OUTPUTS.function(fn)) }))
            .then((c) => ({ ...(c.Environment?.Variables ?? {}) }));
          environments.set(fn, env);
        }
        return env;
      },
      deadLettered: pendingMessages(clients.sqs, [...deadLetters.keys()]),
      async execute(input, say) {
        const started = await clients.sfn.send(
          new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
        );
        const executionArn = started.executionArn as string;
        const since = Date.now();
        let said = since;
        say?.(`started execution ${executionArn}`);
        for (;;) {
          const d = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
          if (d.status === 'SUCCEEDED') return d.output === undefined ? undefined : JSON.parse(d.output);
          if (d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE')
            throw new ExecutionFailedError(
              d.error ?? d.status ?? 'FAILED',
              d.cause ?? `execution ${executionArn}`,
            );
          if (Date.now() - said >= HEARTBEAT_MS) {
            said = Date.now();
            say?.(`execution ${executionArn} running for ${Math.round((said - since) / 1000)} s`);
          }
          await new Promise((r) => setTimeout(r, EXECUTION_POLL_MS));
        }
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * The state, the target and the reports as the stack's rollback function sees them (its configuration):
 * what status, lookup, rollback and redrive read, with the reports buckets' set.
 */
export async function rollbackView(stack: DeployedStack) {
  const env = await stack.environment('rollback');
  return {
    ...forgetDepsFrom(stack.clients, env),
    reportsBucket: readConfig(['reportsBucket'], env).reportsBucket,
  };
}

/** Runs `work` against the stack named `name`, closing its clients after. */
export async function withStack<T>(name: string, work: (stack: DeployedStack) => Promise<T>): Promise<T> {
  const stack = await openStack(name);
  try {
    return await work(stack);
  } finally {
    stack.close();
  }
}
