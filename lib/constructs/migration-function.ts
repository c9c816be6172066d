import { join } from 'node:path';
import { Duration, type Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, type EnvKey } from '../../functions/adapters/wiring';
import { acknowledge, REASONS } from './nag';

const ROOT = join(__dirname, '..', '..');

/**
 * How every function is bundled (the bench bundles the same way): minified with source maps for Node.js
 * 22 and newer; the AWS SDK it was tested with is bundled in (the lock holds one version), not taken from
 * the runtime; ESM entry points first, so that esbuild drops what a function does not use.
 */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  target: 'node22',
  mainFields: ['module', 'main'],
  externalModules: [],
} as const;

/** Metadata key under which each function names its handler module (the local runtime reads it). */
export const HANDLER_METADATA = 'esep:handler';

export interface MigrationFunctionProps {
  /** The folder under functions/ that holds handler.ts. */
  readonly name: string;
  readonly environment: Partial<Record<EnvKey, string>>;
  readonly observability: { serviceName: string; logLevel: string; metricsNamespace: string };
  readonly timeout?: Duration;
  readonly memorySize?: number;
  /** Its /tmp (Lambda's ephemeral storage, 512 MiB to 10 GiB). */
  readonly ephemeralStorageSize?: Size;
  /** Concurrency kept for it alone (and its most). */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Lambda function of the pipeline: Node.js 24 on ARM64 (the code also runs on 20 and 22), bundled by the local esbuild (minified, with
 * source maps, the pinned AWS SDK bundled in), X-Ray tracing, Powertools settings, its own log group.
 */
export class MigrationFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: MigrationFunctionProps) {
    super(scope, id);
    const entry = join('functions', props.name, 'handler.ts');
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS });
    // Its own role, allowed to write to its own log group only (not the broad managed basic-execution policy).
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(ROOT, entry),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      role,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(1),
      ...(props.ephemeralStorageSize ? { ephemeralStorageSize: props.ephemeralStorageSize } : {}),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        ...Object.fromEntries(Object.entries(props.environment).map(([k, v]) => [ENV[k as EnvKey], v])),
        POWERTOOLS_SERVICE_NAME: props.observability.serviceName,
        POWERTOOLS_LOG_LEVEL: props.observability.logLevel,
        POWERTOOLS_METRICS_NAMESPACE: props.observability.metricsNamespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        ...BUNDLING,
        mainFields: [...BUNDLING.mainFields],
        externalModules: [...BUNDLING.externalModules],
      },
    });
    this.fn.node.addMetadata(HANDLER_METADATA, entry.split('\\').join('/'));
    acknowledge(role, { 'AwsSolutions-IAM5[Resource::*]': REASONS.xray });
  }
}
