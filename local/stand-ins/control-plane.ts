import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesOf } from '../../functions/core/bytes';

/**
 * The AWS control-plane calls an operator command makes against a deployed stack (`--stack`,
 * cli/stack.ts), answered for the local deployment on 127.0.0.1, so that the AWS path runs here through
 * the SDK's standard endpoint settings (AWS_ENDPOINT_URL_<SERVICE>), not a path of its own:
 * CloudFormation `DescribeStacks` (the pipeline template's outputs, resolved), Lambda
 * `GetFunctionConfiguration` (a function's environment as the template gives it), Secrets Manager
 * `GetSecretValue` (the local identity key) and Step Functions `StartExecution`, `DescribeExecution` and
 * `ListExecutions` (the local state machine, in this process).
 */
/** How an execution ended. */
export type ExecutionOutcome =
  | { readonly ok: true; readonly output: unknown }
  | { readonly ok: false; readonly error: string; readonly cause: string };

export interface ControlPlaneDeps {
  readonly stackName: string;
  readonly outputs: ReadonlyMap<string, string>;
  /** A function's environment by its physical name, if there is such a function. */
  environment(functionName: string): NodeJS.ProcessEnv | undefined;
  secret(): Promise<string>;
  readonly stateMachineArn: string;
  execute(input: unknown): Promise<ExecutionOutcome>;
}

export interface ControlPlane {
  readonly endpoint: string;
  /** The SDK's settings that send a command's calls to the local deployment. */
  readonly environment: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

interface Execution {
  readonly executionArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: number;
  stopDate?: number;
  outcome?: ExecutionOutcome;
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

async function body(request: IncomingMessage): Promise<string> {
  return (await bytesOf(request)).toString('utf8');
}

export async function startControlPlane(
  deps: ControlPlaneDeps,
  base: Record<string, string>,
): Promise<ControlPlane> {
  const executions = new Map<string, Execution>();

  const json = (
    response: ServerResponse,
    status: number,
    value: unknown,
    type = 'application/x-amz-json-1.0',
  ) => {
    response.writeHead(status, { 'content-type': type });
    response.end(JSON.stringify(value));
  };
  const jsonError = (response: ServerResponse, status: number, code: string, message: string) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': code });
    response.end(JSON.stringify({ __type: code, message }));
  };

  const describeStacks = (response: ServerResponse, form: URLSearchParams) => {
    const name = form.get('StackName');
    if (name !== null && name !== deps.stackName) {
      response.writeHead(400, { 'content-type': 'text/xml' });
      response.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xmlEscape(name)} does not exist</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
      return;
    }
    const outputs = [...deps.outputs]
      .map(
        ([key, value]) =>
          `<member><OutputKey>${xmlEscape(key)}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`,
      )
      .join('');
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(
      `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${xmlEscape(deps.stackName)}</StackName><StackId>arn:aws:cloudformation:local:000000000000:stack/${xmlEscape(deps.stackName)}/local</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>1970-01-01T00:00:00Z</CreationTime><Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    );
  };

  const describe = (e: Execution) => ({
    executionArn: e.executionArn,
    stateMachineArn: deps.stateMachineArn,
    name: e.name,
    status: e.outcome === undefined ? 'RUNNING' : e.outcome.ok ? 'SUCCEEDED' : 'FAILED',
    startDate: e.startDate,
    ...(e.stopDate === undefined ? {} : { stopDate: e.stopDate }),
    input: e.input,
    ...(e.outcome?.ok ? { output: JSON.stringify(e.outcome.output ?? null) } : {}),
    ...(e.outcome && !e.outcome.ok ? { error: e.outcome.error, cause: e.outcome.cause } : {}),
  });

  const stepFunctions = (response: ServerResponse, action: string, request: Record<string, unknown>) => {
    if (action === 'StartExecution') {
      if (request.stateMachineArn !== deps.stateMachineArn)
        return jsonError(
          response,
          400,
          'StateMachineDoesNotExist',
          `no state machine ${request.stateMachineArn}`,
        );
      const name = typeof request.name === 'string' ? request.name : randomUUID();
      const execution: Execution = {
        executionArn: `${deps.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
        name,
        input: typeof request.input === 'string' ? request.input : '{}',
        startDate: Date.now() / 1000,
      };
      executions.set(execution.executionArn, execution);
      void deps
        .execute(JSON.parse(execution.input))
        .catch((error: Error): ExecutionOutcome => ({ ok: false, error: error.name, cause: error.message }))
        .then((outcome) => {
          execution.outcome = outcome;
          execution.stopDate = Date.now() / 1000;
        });
      return json(response, 200, { executionArn: execution.executionArn, startDate: execution.startDate });
    }
    if (action === 'DescribeExecution') {
      const execution = executions.get(String(request.executionArn));
      if (!execution)
        return jsonError(response, 400, 'ExecutionDoesNotExist', `no execution ${request.executionArn}`);
      return json(response, 200, describe(execution));
    }
    if (action === 'ListExecutions') {
      const list = [...executions.values()]
        .map(describe)
        .filter((e) => request.statusFilter === undefined || e.status === request.statusFilter)
        .map(({ executionArn, stateMachineArn, name, status, startDate, stopDate }) => ({
          executionArn,
          stateMachineArn,
          name,
          status,
          startDate,
          ...(stopDate === undefined ? {} : { stopDate }),
        }));
      return json(response, 200, { executions: list });
    }
    return jsonError(response, 400, 'UnknownOperationException', `the local control plane has no ${action}`);
  };

  const server = createServer((request, response) => {
    void (async () => {
      const text = await body(request);
      const target = String(request.headers['x-amz-target'] ?? '');
      const configuration = /^\/2015-03-31\/functions\/([^/]+)\/configuration/.exec(request.url ?? '');
      if (configuration) {
        const name = decodeURIComponent(configuration[1] as string);
        const env = deps.environment(name);
        if (!env) return jsonError(response, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
        return json(
          response,
          200,
          { FunctionName: name, Environment: { Variables: env } },
          'application/json',
        );
      }
      if (target === 'secretsmanager.GetSecretValue')
        return json(
          response,
          200,
          { ARN: JSON.parse(text).SecretId, Name: 'email-key', SecretString: await deps.secret() },
          'application/x-amz-json-1.1',
        );
      if (target.startsWith('AWSStepFunctions.'))
        return stepFunctions(response, target.slice('AWSStepFunctions.'.length), JSON.parse(text || '{}'));
      const form = new URLSearchParams(text);
      if (form.get('Action') === 'DescribeStacks') return describeStacks(response, form);
      return jsonError(
        response,
        400,
        'UnknownOperationException',
        'not a call the local control plane answers',
      );
    })().catch((error: Error) => jsonError(response, 500, 'InternalFailure', error.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    environment: {
      ...base,
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
      AWS_ENDPOINT_URL_LAMBDA: endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_SFN: endpoint,
    },
    async stop() {
      // Executions started here run on in the local pipeline: wait for them before closing.
      for (const e of executions.values())
        while (e.outcome === undefined) await new Promise((r) => setTimeout(r, 50));
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
