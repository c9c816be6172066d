import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { STACK_OUTPUTS } from '../../functions/adapters/wiring';
import { type ControlPlane, startControlPlane } from '../stand-ins/control-plane';
import { LOCAL_REGION } from '../stand-ins/services';
import type { LocalPipeline } from './pipeline';

/** The name under which the local deployment answers `--stack` (`esep-migrate serve`, the tests). */
export const LOCAL_STACK = 'esep-local';

/**
 * The local deployment as a deployed stack: the control-plane calls a `--stack` command makes
 * (stand-ins/control-plane.ts) over this pipeline, and the SDK settings that send every call of such a
 * command to the local stand-ins (its data-plane calls go straight to dynalite, s3rver and local-aws-sqs).
 */
export async function serveLocalStack(
  pipeline: LocalPipeline,
  stackName = LOCAL_STACK,
): Promise<ControlPlane> {
  const { resources, services } = pipeline;
  const byPhysicalName = new Map<string, NodeJS.ProcessEnv>();
  for (const [name, logicalId] of pipeline.functionIds) {
    const env = pipeline.environments.get(name);
    if (env) byPhysicalName.set(resources.resolve({ Ref: logicalId }), env);
  }
  const stateMachineArn = resources.outputs.get(STACK_OUTPUTS.stateMachine);
  if (!stateMachineArn) throw new Error(`the pipeline template has no output ${STACK_OUTPUTS.stateMachine}`);
  return startControlPlane(
    {
      stackName,
      outputs: resources.outputs,
      environment: (name) => byPhysicalName.get(name),
      secret: async () =>
        (await pipeline.clients.secrets.send(new GetSecretValueCommand({ SecretId: 'local' })))
          .SecretString ?? '',
      stateMachineArn,
      execute: async (input) => {
        const outcome = await pipeline.execute(input);
        await pipeline.runStarted();
        return outcome;
      },
    },
    {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_DYNAMODB: services.endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: services.endpoints.s3,
      AWS_ENDPOINT_URL_SQS: services.endpoints.sqs,
      // s3rver takes no trailing checksums (aws-chunked); AWS takes both.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    },
  );
}
