import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secrets from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CEILINGS } from '../functions/core/ceilings';
import { PREFIXES, TTL_ATTRIBUTE } from '../functions/core/keys';
import { acknowledge } from './constructs/nag';

export interface StatefulOutputs {
  readonly keyArn: string;
  readonly exportsBucketArn: string;
  /** The migrated target's buckets, in order (core/bucket-sets: a key's bucket is by its index). */
  readonly migratedBucketArns: readonly string[];
  /** The reports' buckets, in order. */
  readonly reportsBucketArns: readonly string[];
  readonly tableArn: string;
  readonly emailKeySecretArn: string;
}

export interface StatefulStackProps extends StackProps {
  readonly exportRetentionDays: number;
  /**
   * Writes per second the table takes from the start: a new on-demand table takes 4,000; more pre-warms
   * it (warm throughput, billed once), as a full-size run needs (docs/aws.md, "Full size").
   */
  readonly tableWarmWrites?: number;
  /** Reads per second the table takes from the start: a new on-demand table takes 12,000. */
  readonly tableWarmReads?: number;
  /** Buckets the migrated target and the reports are each spread over (settings.ts targetBuckets). */
  readonly targetBuckets: number;
}

/**
 * What must outlive every deployment (RETAIN): the key, the buckets, the table and the identity key.
 *
 * Buckets (all KMS-encrypted with the key, TLS only, public access blocked, versioned, access-logged):
 * - exports: uploads at `exports/<exportId>/` (manifest.json last: its upload starts a run) and the
 *   runs' working copies at `work/`; both expire after the retention period, old versions a day later,
 *   because what the rules delete must really go.
 * - migrated: the target, read by the ESEP importer (docs/aws.md, "Migrated layout").
 * - reports: `<exportId>/summary.json`, `decisions.ndjson`, `receipts/`.
 * The target and the reports are each a set of `targetBuckets` buckets (`Migrated`, `Migrated1`, ...;
 * core/bucket-sets): every new bucket takes its own 3,500 writes and 5,500 reads a second.
 *
 * Table (on demand, point-in-time recovery, KMS): one table, keys `pk`/`sk`, no index. Access patterns:
 * - run status: put / query `RUNS` / `<exportId>#<waves>#<scope>` (one partition: the status panel).
 * - stage expectation and chunk markers: put `E#<scope>` / stage; conditional put `C#<scope>#<stage>` /
 *   chunk (once), query by pk to sum a stage.
 * - followed records' decisions (projects, groups, accounts), for what follows them: batch put/get
 *   `S#<scope>#<kind>#<id>`.
 * - indexes of a run (group activity, eTwinning e-mail keys): batch put/get `X#<scope>#<index>#<key>`.
 * - withdrawals (rollback, a replaced export, ID-3): batch put `W#<scope>` / `<kind>#<id>`, query by pk.
 * - no item per record: a run's decision ledger is its chunks' result objects (`work/<scope>/results/`),
 *   read by the report, verify (through the report's per-partition spool), rollback and redrive.
 * - identity (ID-9): accounts `G#<platform>#<accountId>` written over the version read (the latest export
 *   gives the e-mail); `I#<e-mail HMAC>` / `<platform>#<accountId>`, query by pk.
 * - links: `L#<esepUserId>` written over its version (first registration decides; pending or linked),
 *   conditional put `A#<platform>#<accountId>` (one ESEP user per legacy account), pending registrations
 *   `P#<e-mail HMAC>` / user, query by pk when an export is indexed.
 * No transactions (the local stand-in has none): idempotence by deterministic keys. Per-run items carry
 * `expiresAt` (TTL), the end of the export's retention.
 */
export class StatefulStack extends Stack {
  readonly key: kms.Key;
  readonly exportsBucket: s3.Bucket;
  readonly migratedBuckets: readonly s3.Bucket[];
  readonly reportsBuckets: readonly s3.Bucket[];
  readonly table: dynamodb.Table;
  readonly emailKeySecret: secrets.Secret;
  /** What the pipeline stack uses, as named exports (plain ARNs: no grant reaches back into this stack). */
  readonly outputs: StatefulOutputs;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.key = new kms.Key(this, 'Key', {
      description: 'ESEP migration: buckets, table, queues, topic and secret',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge delivers to the encrypted queues; CloudWatch alarms publish to the encrypted topic.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [
          new iam.ServicePrincipal('events.amazonaws.com'),
          new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
        ],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // log delivery writes with SSE-S3 only
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(1) }],
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it into itself would loop.',
    });

    const bucket = (name: string, lifecycleRules: s3.LifecycleRule[] = []) =>
      new s3.Bucket(this, name, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: true,
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: `${name.toLowerCase()}/`,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }, ...lifecycleRules],
      });
    const retention = Duration.days(props.exportRetentionDays);
    this.exportsBucket = bucket('Exports', [
      { prefix: PREFIXES.exports, expiration: retention, noncurrentVersionExpiration: Duration.days(1) },
      { prefix: PREFIXES.work, expiration: retention, noncurrentVersionExpiration: Duration.days(1) },
    ]);
    this.exportsBucket.enableEventBridgeNotification();
    // The CDK helper that switches on EventBridge notifications is a custom resource with its own role.
    acknowledge(this, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        "The role of the CDK-provided BucketNotificationsHandler (sets the exports bucket's notification configuration at deployment); it runs only during deployments.",
      'AwsSolutions-IAM5[Resource::*]':
        'The CDK-provided BucketNotificationsHandler calls s3:PutBucketNotification, which CDK grants on *.',
    });
    // The first of each set keeps the single bucket's id: a deployed stack keeps its bucket.
    const set = (name: string) =>
      Array.from({ length: props.targetBuckets }, (_, i) =>
        bucket(i === 0 ? name : `${name}${i}`, [{ noncurrentVersionExpiration: Duration.days(30) }]),
      );
    this.migratedBuckets = set('Migrated');
    this.reportsBuckets = set('Reports');
    // What a withdrawal deletes stays recoverable as an older version for 30 days: no principal may
    // delete a version (a bug or a forged manifest cannot destroy them; only the lifecycle rule expires them).
    for (const b of [...this.migratedBuckets, ...this.reportsBuckets])
      b.addToResourcePolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:DeleteObjectVersion'],
          resources: [b.arnForObjects('*')],
        }),
      );

    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Per-run items (chunk markers, stage expectations, a run's indexes and ledger) expire with the
      // run's working area (exportRetentionDays); runs, identities, links and withdrawals stay.
      timeToLiveAttribute: TTL_ATTRIBUTE,
      ...warmThroughputOf(props),
    });

    this.emailKeySecret = new secrets.Secret(this, 'EmailKey', {
      description: 'HMAC key of the identity index (keyed hashes of normalised e-mails, rule ID-5)',
      encryptionKey: this.key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.outputs = {
      keyArn: this.exportValue(this.key.keyArn, { name: `${this.stackName}-KeyArn` }),
      exportsBucketArn: this.exportValue(this.exportsBucket.bucketArn, {
        name: `${this.stackName}-ExportsBucketArn`,
      }),
      migratedBucketArns: this.migratedBuckets.map((b, i) =>
        this.exportValue(b.bucketArn, { name: `${this.stackName}-MigratedBucketArn${i || ''}` }),
      ),
      reportsBucketArns: this.reportsBuckets.map((b, i) =>
        this.exportValue(b.bucketArn, { name: `${this.stackName}-ReportsBucketArn${i || ''}` }),
      ),
      tableArn: this.exportValue(this.table.tableArn, { name: `${this.stackName}-TableArn` }),
      emailKeySecretArn: this.exportValue(this.emailKeySecret.secretArn, {
        name: `${this.stackName}-EmailKeySecretArn`,
      }),
    };
    Validations.of(this.emailKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The HMAC key of the identity index must stay stable: rotating it would orphan every indexed legacy account until all exports are re-indexed, breaking ID-6 (registration keeps working after shutdown).',
    });
  }
}

/**
 * Warm throughput, reads and writes apart, only what is asked above a new on-demand table's (settings.ts
 * has checked both against the table's quota).
 */
function warmThroughputOf(props: StatefulStackProps): { warmThroughput?: dynamodb.WarmThroughput } {
  const writes =
    props.tableWarmWrites !== undefined && props.tableWarmWrites > CEILINGS.newTableWritesPerSecond
      ? { writeUnitsPerSecond: props.tableWarmWrites }
      : {};
  const reads =
    props.tableWarmReads !== undefined && props.tableWarmReads > CEILINGS.newTableReadsPerSecond
      ? { readUnitsPerSecond: props.tableWarmReads }
      : {};
  return Object.keys({ ...writes, ...reads }).length > 0 ? { warmThroughput: { ...writes, ...reads } } : {};
}
