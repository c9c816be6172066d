import {
  CreateTableCommand,
  type CreateTableCommandInput,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { type Clients, ENV } from '../../functions/adapters/wiring';
import { LOCAL_REGION, RECEIVES_PER_FAILED_DELIVERY } from '../stand-ins/services';
import { type IntrinsicAnswers, pseudoParameters, resolveIntrinsic } from './intrinsics';
import type { CfnTemplate } from './synth';

/**
 * The resources of the synthesized templates, created on the local stand-ins, and a resolver for the
 * intrinsic functions the templates use, so that each function gets the environment CloudFormation
 * would give it (bucket names from imported ARNs, queue URLs, the table name, the secret's ARN).
 */
const ACCOUNT = '000000000000';

export interface LocalResources {
  /** Resolves an intrinsic value of the pipeline template. */
  resolve(value: unknown): string;
  /** Physical id (name or URL) of a logical resource, by template. */
  readonly physical: ReadonlyMap<string, string>;
  /** Queue URL by queue logical id. */
  readonly queues: ReadonlyMap<string, string>;
  /** Each dead-letter queue's URL, with the URL of the queue whose messages it receives. */
  readonly deadLetters: ReadonlyMap<string, string>;
  /** Each bucket's name; the target's and the reports' may name a set of buckets (core/bucket-sets). */
  readonly buckets: { readonly exports: string; readonly migrated: string; readonly reports: string };
  readonly table: string;
  /** The pipeline stack's outputs, resolved (what `DescribeStacks` answers; the control plane stand-in). */
  readonly outputs: ReadonlyMap<string, string>;
}

type Resource = CfnTemplate['Resources'][string];

const bucketName = (logicalId: string) => `esep-${logicalId.toLowerCase()}`.slice(0, 63);

function attribute(type: string, name: string, attr: string, physical: string): string {
  switch (`${type}.${attr}`) {
    case 'AWS::S3::Bucket.Arn':
      return `arn:aws:s3:::${physical}`;
    case 'AWS::DynamoDB::Table.Arn':
      return `arn:aws:dynamodb:${LOCAL_REGION}:${ACCOUNT}:table/${physical}`;
    case 'AWS::SQS::Queue.Arn':
      return `arn:aws:sqs:${LOCAL_REGION}:${ACCOUNT}:${name}`;
    case 'AWS::SQS::Queue.QueueName':
      return name;
    case 'AWS::KMS::Key.Arn':
      return `arn:aws:kms:${LOCAL_REGION}:${ACCOUNT}:key/${name}`;
    case 'AWS::Lambda::Function.Arn':
      return `arn:aws:lambda:${LOCAL_REGION}:${ACCOUNT}:function:${name}`;
    default:
      return `arn:aws:local:${LOCAL_REGION}:${ACCOUNT}:${name}/${attr}`;
  }
}

function resolver(template: CfnTemplate, physical: Map<string, string>, imports: (name: string) => string) {
  const pseudo = pseudoParameters(LOCAL_REGION, ACCOUNT);
  const answers: IntrinsicAnswers = {
    // A state machine's Ref is its ARN; any other resource not created here is named after its id.
    ref: (id) =>
      pseudo[id] ??
      physical.get(id) ??
      (template.Resources[id]?.Type === 'AWS::StepFunctions::StateMachine'
        ? `arn:aws:states:${LOCAL_REGION}:${ACCOUNT}:stateMachine:${id}`
        : `local-${id}`),
    getAtt: (id, attr) =>
      attribute(template.Resources[id]?.Type ?? 'unknown', id, attr, physical.get(id) ?? id),
    importValue: imports,
  };
  return (value: unknown) => {
    try {
      return resolveIntrinsic(value, answers);
    } catch (error) {
      throw new Error(`local runtime: ${(error as Error).message}`, { cause: error });
    }
  };
}

const ofType = (template: CfnTemplate, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type) as [string, Resource][];

/** Creates (or finds) the stateful and pipeline resources on the stand-ins; idempotent. */
export async function createLocalResources(
  clients: Clients,
  templates: { stateful: CfnTemplate; pipeline: CfnTemplate },
): Promise<LocalResources> {
  const physical = new Map<string, string>();
  const { stateful, pipeline } = templates;

  for (const [id] of ofType(stateful, 'AWS::S3::Bucket')) {
    const name = bucketName(id);
    physical.set(id, name);
    await clients.s3.send(new CreateBucketCommand({ Bucket: name })).catch((error: Error) => {
      if (!/BucketAlready/.test(error.name)) throw error;
    });
  }
  for (const [id, r] of ofType(stateful, 'AWS::DynamoDB::Table')) {
    physical.set(id, id);
    const p = r.Properties as Pick<
      CreateTableCommandInput,
      'KeySchema' | 'AttributeDefinitions' | 'GlobalSecondaryIndexes'
    >;
    await clients.dynamo
      .send(
        new CreateTableCommand({
          TableName: id,
          KeySchema: p.KeySchema,
          AttributeDefinitions: p.AttributeDefinitions,
          GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
      .catch((error: Error) => {
        if (!(error instanceof ResourceInUseException)) throw error;
      });
  }
  for (const [id] of [
    ...ofType(stateful, 'AWS::SecretsManager::Secret'),
    ...ofType(stateful, 'AWS::KMS::Key'),
  ])
    physical.set(id, id);
  const resolveStateful = resolver(stateful, physical, () => {
    throw new Error('the stateful stack imports nothing');
  });
  const exportsByName = new Map<string, string>();
  for (const output of Object.values(stateful.Outputs ?? {})) {
    if (output.Export)
      exportsByName.set(
        output.Export.Name,
        output.Value === undefined ? '' : resolveSecretArn(output.Value, resolveStateful, stateful),
      );
  }
  const resolve = resolver(pipeline, physical, (name) => {
    const value = exportsByName.get(name);
    if (value === undefined) throw new Error(`local runtime: no export named ${name}`);
    return value;
  });

  // Queues: dead-letter queues first, so that redrive policies find them.
  const queues = new Map<string, string>();
  const deadLetters = new Map<string, string>();
  const all = ofType(pipeline, 'AWS::SQS::Queue');
  const ordered = [
    ...all.filter(([, q]) => !q.Properties?.RedrivePolicy),
    ...all.filter(([, q]) => q.Properties?.RedrivePolicy),
  ];
  for (const [id, q] of ordered) {
    const props = q.Properties ?? {};
    // The template's visibility timeout, as deployed: a message being worked on stays hidden for as long
    // as its function may run (the local event source brings a failed one back sooner, see event-sources).
    const attributes: Record<string, string> = { VisibilityTimeout: String(props.VisibilityTimeout ?? 30) };
    if (props.RedrivePolicy) {
      const rp = props.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: resolve(rp.deadLetterTargetArn),
        maxReceiveCount: rp.maxReceiveCount * RECEIVES_PER_FAILED_DELIVERY,
      });
    }
    const r = await clients.sqs.send(new CreateQueueCommand({ QueueName: id, Attributes: attributes }));
    if (!r.QueueUrl) throw new Error(`local runtime: queue ${id} has no URL`);
    queues.set(id, r.QueueUrl);
    physical.set(id, r.QueueUrl);
    if (props.RedrivePolicy) {
      const dlq = (props.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string] } })
        .deadLetterTargetArn['Fn::GetAtt'][0];
      const dlqUrl = queues.get(dlq);
      if (dlqUrl) deadLetters.set(dlqUrl, r.QueueUrl);
    }
  }

  // Each bucket role as the functions get it: one bucket, or a set (core/bucket-sets), in the set's order.
  const role = (key: 'exportsBucket' | 'migratedBucket' | 'reportsBucket') => {
    for (const [, f] of ofType(pipeline, 'AWS::Lambda::Function')) {
      const value = (f.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables?.[ENV[key]];
      if (value !== undefined) return resolve(value);
    }
    throw new Error(`local runtime: no function of the pipeline template reads ${ENV[key]}`);
  };
  const [table] = ofType(stateful, 'AWS::DynamoDB::Table')[0] ?? [];
  if (!table) throw new Error('local runtime: no table in the stateful template');
  return {
    resolve,
    physical,
    queues,
    deadLetters,
    buckets: {
      exports: role('exportsBucket'),
      migrated: role('migratedBucket'),
      reports: role('reportsBucket'),
    },
    table,
    outputs: new Map(Object.entries(pipeline.Outputs ?? {}).map(([key, o]) => [key, resolve(o.Value)])),
  };
}

/** A Secrets Manager secret's Ref is its ARN. */
function resolveSecretArn(value: unknown, resolve: (v: unknown) => string, template: CfnTemplate): string {
  const ref = (value as { Ref?: string }).Ref;
  if (ref && template.Resources[ref]?.Type === 'AWS::SecretsManager::Secret')
    return `arn:aws:secretsmanager:${LOCAL_REGION}:${ACCOUNT}:secret:${ref}`;
  return resolve(value);
}
