import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Size, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secrets from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MonitoringFacade, notifySns } from 'cdk-monitoring-constructs';
import type { Construct } from 'constructs';
import { type EnvKey, pascalCase, QUEUE_ENV, STACK_OUTPUTS } from '../functions/adapters/wiring';
import { bucketSetName } from '../functions/core/bucket-sets';
import { exportKeys, PREFIXES } from '../functions/core/keys';
import { capacityOf } from '../functions/core/pipeline/capacity';
import { SIZING } from '../functions/core/pipeline/sizing';
import { buildStagePlan } from '../functions/core/pipeline/stages';
import { QUEUED, type Queued } from '../functions/core/pipeline/workers';
import { LINK_EVENTS } from '../functions/core/rules/linking';
import { MigrationFunction } from './constructs/migration-function';
import {
  MigrationWorkflow,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from './constructs/migration-workflow';
import { acknowledge, nagResource, REASONS } from './constructs/nag';
import { assertReservable, concurrencyOf, FUNCTIONS, type Grant } from './functions';
import type { Settings } from './settings';
import type { StatefulOutputs } from './stateful-stack';

export interface PipelineStackProps extends StackProps {
  readonly settings: Settings;
  readonly stateful: StatefulOutputs;
}

/** The functions an operator command is configured from (cli/stack.ts `environment`). */
export const OPERATOR_FUNCTIONS = ['rollback', 'verify', 'account-link'] as const;

/**
 * The pipeline: an upload of `exports/<exportId>/manifest.json` starts the state machine (EventBridge);
 * the state machine feeds the entity workers through SQS (claim checks in S3); registrations arrive on
 * an event bus and link legacy accounts. Every function gets only what it uses.
 */
export class PipelineStack extends Stack {
  readonly stateMachine;
  readonly queues: Record<Queued | 'link', { queue: sqs.Queue; dlq: sqs.Queue }>;
  readonly registrationBus: events.EventBus;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings, stateful } = props;
    // Imported by ARN: grants then go to this stack's roles only, never back into the stateful stack's
    // key or bucket policies (which would tie the stacks into a cycle).
    const key = kms.Key.fromKeyArn(this, 'Key', stateful.keyArn);
    const imported = (id: string, bucketArn: string) =>
      s3.Bucket.fromBucketAttributes(this, id, { bucketArn, encryptionKey: key });
    const exportsBucket = imported('Exports', stateful.exportsBucketArn);
    const migratedBuckets = stateful.migratedBucketArns.map((arn, i) => imported(`Migrated${i || ''}`, arn));
    const reportsBuckets = stateful.reportsBucketArns.map((arn, i) => imported(`Reports${i || ''}`, arn));
    const table = dynamodb.Table.fromTableAttributes(this, 'State', {
      tableArn: stateful.tableArn,
      encryptionKey: key,
    });
    const emailKeySecret = secrets.Secret.fromSecretAttributes(this, 'EmailKey', {
      secretCompleteArn: stateful.emailKeySecretArn,
      encryptionKey: key,
    });
    const observability = {
      serviceName: 'esep-migration',
      logLevel: settings.logLevel,
      metricsNamespace: `EsepMigration/${settings.envName}`,
    };
    // Each grant on a bucket name reaches every bucket of its set (core/bucket-sets).
    const buckets = { exports: [exportsBucket], migrated: migratedBuckets, reports: reportsBuckets };

    // Grants on prefixes, each with the acknowledgement of exactly the wildcard findings it causes.
    const kmsAck = (f: lambda.IFunction) =>
      acknowledge(f.role ?? f, {
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kmsGrant,
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kmsGrant,
      });
    const answersStages: lambda.IFunction[] = [];
    const grant = (f: lambda.IFunction, g: Grant) => {
      if ('read' in g) {
        for (const b of buckets[g.read]) {
          b.grantRead(f, `${g.prefix}*`);
          acknowledge(f.role ?? f, {
            'AwsSolutions-IAM5[Action::s3:GetObject*]': REASONS.s3Read,
            'AwsSolutions-IAM5[Action::s3:GetBucket*]': REASONS.s3Read,
            'AwsSolutions-IAM5[Action::s3:List*]': REASONS.s3Read,
            [nagResource(this, b.bucketArn, `/${g.prefix}*`)]: REASONS.objects,
          });
        }
      } else if ('put' in g) {
        for (const b of buckets[g.put]) {
          b.grantPut(f, `${g.prefix}*`);
          acknowledge(f.role ?? f, {
            'AwsSolutions-IAM5[Action::s3:Abort*]': REASONS.s3Put,
            [nagResource(this, b.bucketArn, `/${g.prefix}*`)]: REASONS.objects,
          });
        }
      } else if ('delete' in g) {
        // DeleteObject alone: CDK's grantDelete gives DeleteObject*, which includes DeleteObjectVersion.
        for (const b of buckets[g.delete]) {
          f.addToRolePolicy(
            new iam.PolicyStatement({
              actions: ['s3:DeleteObject'],
              resources: [b.arnForObjects(`${g.prefix}*`)],
            }),
          );
          acknowledge(f.role ?? f, {
            [nagResource(this, b.bucketArn, `/${g.prefix}*`)]: REASONS.objects,
          });
        }
      } else if ('table' in g) {
        if (g.table === 'read') table.grantReadData(f);
        else if (g.table === 'write') table.grantWriteData(f);
        else table.grantReadWriteData(f);
      } else if ('emailKeySecret' in g) {
        emailKeySecret.grantRead(f);
      } else if ('stageTasks' in g) {
        // Granted once the state machine exists (below).
        answersStages.push(f);
      } else {
        for (const e of g.only ? [g.only] : QUEUED) {
          if (g.entityQueues === 'send') queues[e].queue.grantSendMessages(f);
          else queues[e].queue.grant(f, 'sqs:GetQueueAttributes');
        }
      }
      kmsAck(f);
    };

    // ---- queues (claim checks), each with a dead-letter queue after five receives -------------------
    const queue = (name: string, visibility: Duration) => {
      // Retained: a redrive needs the queues and what their dead-letter queues hold, whatever the stack does.
      const dlq = new sqs.Queue(this, `${name}Dlq`, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const q = new sqs.Queue(this, `${name}Queue`, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        removalPolicy: RemovalPolicy.RETAIN,
        visibilityTimeout: visibility,
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
      });
      return { queue: q, dlq };
    };
    const queues = Object.fromEntries(
      QUEUED.map((e) => [e, queue(pascalCase(e), Duration.minutes(30))]),
    ) as Record<Queued, ReturnType<typeof queue>>;
    // Six times the function's timeout (Lambda's advice for SQS event sources): a message is not handed
    // to a second invocation while the first may still be working on it.
    const link = queue('Link', Duration.seconds(6 * SIZING.functions['account-link'].timeoutSeconds));
    this.queues = { ...queues, link };

    // ---- functions, from the one table: each with its environment, grants and event source ---------
    const values = {
      exportsBucket: exportsBucket.bucketName,
      migratedBucket: bucketSetName(migratedBuckets.map((b) => b.bucketName)),
      reportsBucket: bucketSetName(reportsBuckets.map((b) => b.bucketName)),
      table: table.tableName,
      policy: JSON.stringify(settings.policy.policy),
      emailKeySecret: emailKeySecret.secretArn,
      downloadUrlHours: String(settings.downloadUrlHours),
      exportRetentionDays: String(settings.exportRetentionDays),
      partitioning: JSON.stringify(settings.partitioning),
      capacity: JSON.stringify(capacityOf(settings)),
    } as Record<EnvKey, string>;
    for (const e of QUEUED) values[QUEUE_ENV[e]] = queues[e].queue.queueUrl;
    assertReservable(settings);
    const functions = new Map<string, lambda.Function>();
    for (const spec of FUNCTIONS) {
      const sizing = SIZING.functions[spec.sizing];
      const f = new MigrationFunction(this, spec.name, {
        name: spec.name,
        environment: Object.fromEntries(spec.env.map((k) => [k, values[k]])),
        observability,
        timeout: Duration.seconds(sizing.timeoutSeconds),
        memorySize: sizing.memoryMb,
        ephemeralStorageSize: Size.mebibytes(sizing.tmpMb),
        // Entity workers keep their concurrency to themselves (the account's pool is shared), and no more.
        ...(spec.queue && spec.queue.name !== 'link'
          ? { reservedConcurrentExecutions: concurrencyOf(spec, settings) }
          : {}),
      }).fn;
      for (const g of spec.grants) grant(f, g);
      if (spec.queue)
        f.addEventSource(
          new lambdaEvents.SqsEventSource(this.queues[spec.queue.name].queue, {
            batchSize: spec.queue.batchSize,
            reportBatchItemFailures: true,
            maxConcurrency: concurrencyOf(spec, settings),
          }),
        );
      functions.set(spec.name, f);
    }
    const fn = (name: WorkflowFunction) => functions.get(name) as lambda.Function;

    // ---- the state machine, from the stage plan ----------------------------------------------------
    const workflowFunctions = {} as Record<WorkflowFunction, lambda.IFunction>;
    for (const n of WORKFLOW_FUNCTIONS) workflowFunctions[n] = fn(n);
    const workflow = new MigrationWorkflow(this, 'Workflow', {
      plan: buildStagePlan(settings.policy),
      functions: workflowFunctions,
      pollSeconds: settings.pollSeconds,
    });
    this.stateMachine = workflow.stateMachine;
    // A policy of its own, not the role's default one: the function depends on its default policy, and
    // the state machine on the function, so the state machine's ARN there would be a cycle.
    for (const f of answersStages)
      new iam.Policy(f.node.scope as Construct, 'AnswersStages', {
        roles: [f.role as iam.IRole],
        statements: [
          new iam.PolicyStatement({
            actions: ['states:SendTaskSuccess'],
            resources: [this.stateMachine.stateMachineArn],
          }),
        ],
      });
    acknowledge(this.stateMachine, {
      'AwsSolutions-IAM5[Resource::*]': `${REASONS.xray} The log delivery actions of Step Functions (logs:*LogDelivery*, DescribeResourcePolicies) accept only * as well.`,
      [nagResource(this, workflow.selfStartArn, '')]:
        'states:StartExecution on this state machine itself (a run starts the exports it asks to run again): its ARN cannot be in its own role policy (a cycle), and CloudFormation names it <logical id>-<suffix>.',
      ...Object.fromEntries(
        Object.values(workflowFunctions).map((f) => [
          nagResource(this, f.functionArn, ':*'),
          "lambda:InvokeFunction on the workflow's own functions, any version (CDK grants the unqualified ARN and its versions).",
        ]),
      ),
    });

    // ---- the operators' role: what the operator commands do on this stack (`--stack`, cli/stack.ts) ----
    // Assumed by the account's operators (a profile with its role_arn). Reads: the stack's outputs, the
    // configuration of the functions a command is configured from, the state, the export and the target
    // (verify, lookup); writes: links (link, register), verify's spool in the working area, executions
    // of this state machine (rollback, redrive) and the queues' messages (redrive). Never a delete of an
    // object: a withdrawal is the rollback function's, through the state machine.
    const operators = new iam.Role(this, 'Operators', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'esep-migrate status, lookup, verify, rollback, redrive, link and register with --stack',
      maxSessionDuration: Duration.hours(12),
    });
    operators.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [this.stackId] }),
    );
    operators.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:GetFunctionConfiguration'],
        resources: OPERATOR_FUNCTIONS.map((name) => (functions.get(name) as lambda.Function).functionArn),
      }),
    );
    this.stateMachine.grantStartExecution(operators);
    // An execution's ARN is the state machine's with `execution` and the execution's name.
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn))}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    operators.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }),
    );
    table.grantReadWriteData(operators);
    emailKeySecret.grantRead(operators);
    exportsBucket.grantRead(operators);
    exportsBucket.grantPut(operators, `${PREFIXES.work}*`);
    for (const b of [...migratedBuckets, ...reportsBuckets]) b.grantRead(operators);
    for (const q of Object.values(this.queues)) {
      q.dlq.grantConsumeMessages(operators);
      q.queue.grantSendMessages(operators);
    }
    acknowledge(operators, {
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kmsGrant,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kmsGrant,
      'AwsSolutions-IAM5[Action::s3:GetObject*]': REASONS.s3Read,
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': REASONS.s3Read,
      'AwsSolutions-IAM5[Action::s3:List*]': REASONS.s3Read,
      'AwsSolutions-IAM5[Action::s3:Abort*]': REASONS.s3Put,
      ...Object.fromEntries(
        [exportsBucket, ...migratedBuckets, ...reportsBuckets].map((b) => [
          nagResource(this, b.bucketArn, '/*'),
          'verify and lookup read any object of the export, the target and the reports (whole-export checks, any receipt).',
        ]),
      ),
      [nagResource(this, exportsBucket.bucketArn, `/${PREFIXES.work}*`)]: REASONS.objects,
      [nagResource(this, executions, '')]:
        "DescribeExecution of this state machine's executions: their names are chosen at each start.",
    });
    new CfnOutput(this, 'OperatorsRoleArn', {
      value: operators.roleArn,
      description: 'the role an operator assumes to run esep-migrate with --stack (docs/operators.md)',
    });

    // ---- what an operator command reads of the deployed stack (`--stack`, cli/stack.ts) -------------
    new CfnOutput(this, STACK_OUTPUTS.stateMachine, {
      value: this.stateMachine.stateMachineArn,
      description: 'the migration state machine (runs, rollbacks, redrives)',
    });
    for (const [name, f] of functions)
      new CfnOutput(this, STACK_OUTPUTS.function(name), {
        value: f.functionName,
        description: `the ${name} function: an operator command is configured from its configuration`,
      });
    for (const [name, q] of Object.entries(this.queues))
      new CfnOutput(this, STACK_OUTPUTS.redrive(name), {
        value: Fn.join(' ', [q.dlq.queueUrl, q.queue.queueUrl]),
        description: `the ${name} dead-letter queue and the queue it serves (redrive)`,
      });

    // ---- triggers ---------------------------------------------------------------------------------
    const triggerDlq = new sqs.Queue(this, 'TriggerDlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(triggerDlq, {
      'AwsSolutions-SQS3':
        'This queue is the dead-letter queue of the EventBridge targets (uploads, registrations); a dead-letter queue of its own would only move the same events again.',
    });
    new events.Rule(this, 'ManifestUploaded', {
      description: 'An upload of exports/<exportId>/manifest.json (written last) starts a run',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [exportsBucket.bucketName] },
          object: { key: events.Match.wildcard(exportKeys.manifest('*')) },
        },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({
            bucket: events.EventField.fromPath('$.detail.bucket.name'),
            key: events.EventField.fromPath('$.detail.object.key'),
          }),
          deadLetterQueue: triggerDlq,
          retryAttempts: 10,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.registrationBus = new events.EventBus(this, 'Registrations', {
      description: "ESEP registration events (EU Login) and the support desk's links by hand",
    });
    new CfnOutput(this, 'RegistrationBusName', {
      value: this.registrationBus.eventBusName,
      description: 'where registrations and the support desk links are put (docs/support-desk.md)',
    });
    new events.Rule(this, 'Registered', {
      eventBus: this.registrationBus,
      eventPattern: {
        source: Object.values(LINK_EVENTS).map((e) => e.source),
        detailType: Object.values(LINK_EVENTS).map((e) => e.detailType),
      },
      targets: [new targets.SqsQueue(link.queue, { deadLetterQueue: triggerDlq, retryAttempts: 10 })],
    });

    // ---- alarms and dashboard (cdk-monitoring-constructs) ------------------------------------------
    const topic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });
    if (settings.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    const monitoring = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: {
        actionsEnabled: true,
        action: notifySns(topic),
        alarmNamePrefix: `esep-migration-${settings.envName}`,
      },
      metricFactoryDefaults: {},
    });
    monitoring.monitorStepFunction({
      stateMachine: this.stateMachine,
      addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
      addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
      addAbortedExecutionCountAlarm: { Warning: { maxErrorCount: 0 } },
    });
    for (const [name, f] of functions) {
      monitoring.monitorLambdaFunction({
        lambdaFunction: f,
        humanReadableName: name,
        alarmFriendlyName: name,
        addFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
        addThrottlesCountAlarm: { Warning: { maxErrorCount: 10 } },
        addLatencyP99Alarm: {
          Warning: { maxLatency: Duration.millis(f.timeout ? f.timeout.toMilliseconds() * 0.8 : 60_000) },
        },
      });
    }
    for (const [name, q] of Object.entries(this.queues)) {
      monitoring.monitorSqsQueueWithDlq({
        queue: q.queue,
        deadLetterQueue: q.dlq,
        humanReadableName: name,
        alarmFriendlyName: `${name}-queue`,
        addQueueMaxMessageAgeAlarm: { Warning: { maxAgeInSeconds: 3600 } },
        addDeadLetterQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
    }
    // An upload or a registration that EventBridge could not deliver: a run that never started, a user not linked.
    monitoring.monitorSqsQueue({
      queue: triggerDlq,
      humanReadableName: 'Trigger dead letters (uploads, registrations)',
      alarmFriendlyName: 'trigger-dlq',
      addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
    });
    monitoring.monitorDynamoTable({
      table,
      addReadThrottledEventsCountAlarm: { Warning: { maxThrottledEventsThreshold: 10 } },
      addWriteThrottledEventsCountAlarm: { Warning: { maxThrottledEventsThreshold: 10 } },
    });
    const emf = (expression: string, label: string) =>
      new cloudwatch.MathExpression({ expression, label, usingMetrics: {}, period: Duration.minutes(5) });
    monitoring.monitorCustom({
      humanReadableName: 'Decisions per kind and decision (EMF)',
      alarmFriendlyName: 'decisions',
      metricGroups: [
        {
          title: 'Decisions',
          metrics: [
            emf(
              `SEARCH('{${observability.metricsNamespace},kind,decision,service} MetricName="Decisions"', 'Sum', 300)`,
              '',
            ),
          ],
        },
        {
          title: 'Identity across exports (for the support service)',
          // ID-8, ID-9, ID-3, ID-4: counts of the account-link and index-identities functions (EMF).
          metrics: [
            'AmbiguousLegacyEmail',
            'LegacyEmailChanged',
            'Relinked',
            'PendingLinked',
            'SupersededWithdrawn',
            'SupportLinkRefused',
            'RecordsWithdrawn',
          ].map(
            (metricName) =>
              new cloudwatch.Metric({
                namespace: observability.metricsNamespace,
                metricName,
                dimensionsMap: { service: observability.serviceName },
                statistic: 'Sum',
                period: Duration.hours(1),
              }),
          ),
        },
      ],
    });
  }
}
