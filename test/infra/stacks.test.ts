import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { STACK_OUTPUTS } from '../../functions/adapters/wiring';
import {
  chunkSets,
  exportKeys,
  FORBIDDEN_SETS,
  PIECE_SETS,
  RECEIPTS_PATTERN,
  TTL_ATTRIBUTE,
  WITHDRAWABLE,
} from '../../functions/core/keys';
import { SIZING } from '../../functions/core/pipeline/sizing';
import { QUEUED } from '../../functions/core/pipeline/workers';
import { buildApp } from '../../lib/app';
import { FUNCTIONS } from '../../lib/functions';
import { type SynthesizedApp, synthesize } from '../../local/cloudformation/synth';
import { matchesPattern, transformInput } from '../helpers/event-pattern';
import { allows, permissions as permissionsOf } from '../helpers/grants';

let synth: SynthesizedApp;
let stateful: Template;
let pipeline: Template;
beforeAll(() => {
  synth = synthesize({ workerConcurrency: 7, exportRetentionDays: 30, alarmEmail: 'ops@example.org' });
  stateful = Template.fromJSON(synth.templates.stateful);
  pipeline = Template.fromJSON(synth.templates.pipeline);
});

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
const resources = (t: Template, type: string) =>
  Object.entries(t.findResources(type)) as [string, Resource][];

/** The actions a function's role may take, with their resources, from every policy attached to it. */
const permissions = (handler: string) => permissionsOf(synth, handler);

describe('stateful stack', () => {
  test('every data bucket: KMS, TLS only, public access blocked, versioned, access-logged, retained', () => {
    const buckets = resources(stateful, 'AWS::S3::Bucket');
    // The access logs, the exports, and the target and the reports each over four buckets (targetBuckets).
    expect(buckets).toHaveLength(2 + 2 * 4);
    for (const [id, b] of buckets) {
      expect(b.DeletionPolicy).toBe('Retain');
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      const sse = (
        b.Properties.BucketEncryption as {
          ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string } }[];
        }
      ).ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault.SSEAlgorithm;
      if (id.startsWith('AccessLogs')) expect(sse).toBe('AES256');
      else {
        expect(sse).toBe('aws:kms');
        expect(b.Properties.LoggingConfiguration).toBeDefined();
      }
    }
    const policies = resources(stateful, 'AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(2 + 2 * 4);
    for (const [, p] of policies) {
      expect((p.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  test('raw exports and working copies expire after the retention period (context exportRetentionDays)', () => {
    stateful.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: 'exports/',
            ExpirationInDays: 30,
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            Status: 'Enabled',
          }),
          Match.objectLike({ Prefix: 'work/', ExpirationInDays: 30 }),
        ]),
      },
    });
    stateful.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  test('the table: on demand, point-in-time recovery, KMS, retained, deletion-protected; the key rotates', () => {
    const [[, table]] = resources(stateful, 'AWS::DynamoDB::Table') as [[string, Resource]];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      DeletionProtectionEnabled: true,
    });
    stateful.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    stateful.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
  });

  test('per-run items expire (TTL) and no principal may delete an older version of the target or the reports', () => {
    const [[, table]] = resources(stateful, 'AWS::DynamoDB::Table') as [[string, Resource]];
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
    const denies = resources(stateful, 'AWS::S3::BucketPolicy').flatMap(([, p]) =>
      (
        p.Properties.PolicyDocument as {
          Statement: { Effect: string; Action: string | string[]; Principal: unknown }[];
        }
      ).Statement.filter(
        (st) => st.Effect === 'Deny' && [st.Action].flat().includes('s3:DeleteObjectVersion'),
      ).map((st) => ({ bucket: JSON.stringify(p.Properties.Bucket), principal: st.Principal })),
    );
    expect(denies.map((d) => d.principal)).toEqual(Array(8).fill({ AWS: '*' }));
    expect(denies.map((d) => d.bucket).join(' ')).toMatch(
      /Migrated.*Migrated1.*Migrated2.*Migrated3.*Reports/,
    );
  });

  test('no hard-coded physical names', () => {
    for (const t of [synth.templates.stateful, synth.templates.pipeline]) {
      for (const [id, r] of Object.entries(t.Resources)) {
        const named = [
          'BucketName',
          'TableName',
          'QueueName',
          'FunctionName',
          'StateMachineName',
          'TopicName',
          'Name',
        ].filter((k) => typeof r.Properties?.[k] === 'string' && r.Type !== 'AWS::Events::EventBus');
        expect({ id, named }).toEqual({ id, named: [] });
      }
    }
  });
});

describe('pipeline stack', () => {
  test('each entity queue and the link queue: KMS, TLS only, a dead-letter queue after 5 receives, retained', () => {
    const queues = resources(pipeline, 'AWS::SQS::Queue');
    // A redrive needs the queues and their dead letters whatever happens to the stack.
    for (const [id, q] of queues) expect([id, q.DeletionPolicy]).toEqual([id, 'Retain']);
    const main = queues.filter(([, q]) => q.Properties.RedrivePolicy);
    expect(main).toHaveLength(QUEUED.length + 1);
    for (const [, q] of main) expect(q.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    for (const [, q] of queues) expect(q.Properties.KmsMasterKeyId).toBeDefined();
    for (const [, p] of resources(pipeline, 'AWS::SQS::QueuePolicy')) {
      expect(JSON.stringify(p.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  /**
   * The concurrency each queued function gets at workerConcurrency 7: the setting's, but the link
   * function's own 2. The workers that share the table and buckets are paced to their stage's share
   * (CAPACITY, below), not capped in number.
   */
  const CONCURRENCY: Record<string, number> = {
    profile: 7,
    twinspace: 7,
    group: 7,
    'portfolio-events': 7,
    'index-identities': 7,
    report: 7,
    verify: 7,
    'account-link': 2,
  };
  const concurrencyOfTemplate = (template: Template) =>
    Object.fromEntries(
      FUNCTIONS.filter((spec) => spec.queue).map((spec) => {
        const f = [...synth.functions.values()].find(
          (x) => x.handler === `functions/${spec.name}/handler.ts`,
        );
        const mapping = Object.values(
          template.toJSON().Resources as Record<
            string,
            { Type: string; Properties: Record<string, unknown> }
          >,
        ).find(
          (r) =>
            r.Type === 'AWS::Lambda::EventSourceMapping' &&
            (r.Properties.FunctionName as { Ref: string }).Ref === f?.logicalId,
        );
        return [
          spec.name,
          (mapping?.Properties.ScalingConfig as { MaximumConcurrency: number } | undefined)
            ?.MaximumConcurrency,
        ];
      }),
    );

  test('SQS event sources report batch item failures and cap concurrency (workerConcurrency, and the table for writers)', () => {
    const mappings = resources(pipeline, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(QUEUED.length + 1);
    for (const [, m] of mappings)
      expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(concurrencyOfTemplate(pipeline)).toEqual(CONCURRENCY);
    // Every queued worker runs the setting's 50 at a table pre-warmed to 40,000 writes a second.
    const warm = synthesize({ workerConcurrency: 50, tableWarmWrites: 40_000 });
    const warmPipeline = Template.fromJSON(warm.templates.pipeline);
    expect(concurrencyOfTemplate(warmPipeline)).toEqual({
      ...Object.fromEntries(Object.keys(CONCURRENCY).map((name) => [name, 50])),
      'account-link': 2,
    });
    // The splits budget each stage from the same figures: the table, one partition of each bucket, the
    // workers of each queue as deployed.
    const split = [...warm.functions.values()].find((x) => x.handler === 'functions/split/handler.ts');
    const env = warmPipeline.toJSON().Resources[split?.logicalId as string].Properties.Environment.Variables;
    expect(JSON.parse(env.CAPACITY)).toEqual({
      tableWritesPerSecond: 40_000,
      tableReadsPerSecond: 12_000,
      bucketWritesPerSecond: 3_500,
      bucketReadsPerSecond: 5_500,
      workers: Object.fromEntries(QUEUED.map((q) => [q, 50])),
    });
    // ... and the table is pre-warmed (warm throughput) for writes only: reads are asked apart.
    const [, table] = resources(Template.fromJSON(warm.templates.stateful), 'AWS::DynamoDB::Table')[0] ?? [];
    expect(table?.Properties.WarmThroughput).toEqual({ WriteUnitsPerSecond: 40_000 });
    const [, coldTable] = resources(stateful, 'AWS::DynamoDB::Table')[0] ?? [];
    expect(coldTable?.Properties.WarmThroughput).toBeUndefined();
  });

  test('warm throughput over the per-table quota is refused at synth, naming the quota; a granted quota is named with tableQuota', () => {
    expect(() => synthesize({ tableWarmWrites: 60_000 })).toThrow(
      /tableWarmWrites: 60000 units a second is over the table's quota of 40000.*-c tableQuota=<granted>/,
    );
    expect(() => synthesize({ tableWarmReads: 120_000 })).toThrow(/tableWarmReads: .*quota of 40000/);
    const raised = synthesize({ tableWarmWrites: 60_000, tableWarmReads: 30_000, tableQuota: 60_000 });
    const [, table] =
      resources(Template.fromJSON(raised.templates.stateful), 'AWS::DynamoDB::Table')[0] ?? [];
    expect(table?.Properties.WarmThroughput).toEqual({
      WriteUnitsPerSecond: 60_000,
      ReadUnitsPerSecond: 30_000,
    });
  });

  test('reserved concurrency the account cannot grant (it keeps 100 unreserved) is refused at synth', () => {
    // 4 entity workers, index-identities, report and verify: 1,000 each.
    expect(() => synthesize({ workerConcurrency: 1000, tableWarmWrites: 40_000 })).toThrow(
      /reserve \d+ concurrent executions, but an account with a quota of 1000 can reserve 900.*lambdaConcurrencyQuota/,
    );
    expect(() =>
      synthesize({ workerConcurrency: 1000, tableWarmWrites: 40_000, lambdaConcurrencyQuota: 8000 }),
    ).not.toThrow();
  });

  test('every function gets the memory, timeout and /tmp of core/pipeline/sizing; workers reserve their concurrency', () => {
    const fns = [...synth.functions.values()];
    for (const spec of FUNCTIONS) {
      const f = fns.find((x) => x.handler === `functions/${spec.name}/handler.ts`);
      const props = pipeline.toJSON().Resources[f?.logicalId as string].Properties;
      const sizing = SIZING.functions[spec.sizing];
      expect([spec.name, props.MemorySize, props.Timeout, props.EphemeralStorage?.Size ?? 512]).toEqual([
        spec.name,
        sizing.memoryMb,
        sizing.timeoutSeconds,
        sizing.tmpMb,
      ]);
      const worker = spec.queue && spec.queue.name !== 'link';
      expect([spec.name, props.ReservedConcurrentExecutions]).toEqual([
        spec.name,
        worker ? CONCURRENCY[spec.name] : undefined,
      ]);
    }
    // No invocation's work grows with the export: every function fits Lambda's default /tmp.
    expect(Object.values(SIZING.functions).map((f) => f.tmpMb)).toEqual(
      Object.values(SIZING.functions).map(() => 512),
    );
  });

  test('every function: Node.js 22 or newer on ARM64, X-Ray, Powertools settings, its handler module', () => {
    const fns = resources(pipeline, 'AWS::Lambda::Function');
    expect(fns).toHaveLength(synth.functions.size);
    for (const [, f] of fns) {
      expect(Number(/nodejs(\d+)/.exec(String(f.Properties.Runtime))?.[1])).toBeGreaterThanOrEqual(22);
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect((f.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'esep-migration',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: 'EsepMigration/dev',
      });
    }
  });

  test.each([
    [
      'progress',
      ['dynamodb:', 'sqs:GetQueueAttributes'],
      ['s3:', 'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'secretsmanager:'],
    ],
    // A corrected export replaces an earlier run: validate withdraws it (its target, links, receipts).
    // It keys the export's credentials and addresses into the run's index for verify (the HMAC key).
    [
      'validate',
      [
        's3:GetObject*',
        's3:PutObject',
        'dynamodb:PutItem',
        's3:DeleteObject',
        'secretsmanager:GetSecretValue',
      ],
      ['sqs:', 's3:DeleteObjectVersion'],
    ],
    // It also erases an account (ER-1): the account id is kept as a keyed hash (the HMAC key).
    [
      'rollback',
      ['s3:GetObject*', 's3:DeleteObject', 'dynamodb:Query', 'secretsmanager:GetSecretValue'],
      ['sqs:', 's3:DeleteObjectVersion'],
    ],
    [
      'index-identities',
      [
        's3:GetObject*',
        's3:DeleteObject',
        'dynamodb:Query',
        'secretsmanager:GetSecretValue',
        'sqs:ReceiveMessage',
      ],
      ['sqs:SendMessage'],
    ],
    [
      'split',
      ['sqs:SendMessage', 's3:PutObject'],
      ['sqs:ReceiveMessage', 'secretsmanager:', 's3:DeleteObject', 'states:'],
    ],
    [
      'profile',
      // Its delete: its own chunk sets once worked (the deletes test checks where).
      [
        'sqs:ReceiveMessage',
        's3:PutObject',
        'secretsmanager:GetSecretValue',
        'states:SendTaskSuccess',
        's3:DeleteObject',
      ],
      ['sqs:SendMessage', 's3:DeleteObjectVersion'],
    ],
    [
      // It withdraws an earlier export's copy of a TwinSpace that a later export holds (ID-9 extended).
      'twinspace',
      // Every worker reads the HMAC key: an erased account's records are found by keyed id (ER-1).
      ['sqs:ReceiveMessage', 's3:PutObject', 's3:DeleteObject', 'secretsmanager:GetSecretValue'],
      ['sqs:SendMessage', 's3:DeleteObjectVersion'],
    ],
    [
      'portfolio-events',
      ['sqs:ReceiveMessage', 's3:PutObject', 's3:DeleteObject', 'secretsmanager:GetSecretValue'],
      ['sqs:SendMessage', 's3:DeleteObjectVersion'],
    ],
    [
      'report',
      // A receipts partition hands the rest of its spool's join back to its own queue.
      [
        's3:PutObject',
        's3:GetObject*',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'secretsmanager:GetSecretValue',
      ],
      ['s3:DeleteObject'],
    ],
    [
      'summary',
      ['s3:PutObject', 's3:GetObject*', 'dynamodb:Query'],
      ['sqs:', 'secretsmanager:', 's3:DeleteObject', 'states:'],
    ],
    [
      'verify',
      [
        's3:GetObject*',
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'states:SendTaskSuccess',
        'secretsmanager:GetSecretValue',
      ],
      ['s3:DeleteObject'],
    ],
    [
      'account-link',
      ['dynamodb:', 'secretsmanager:GetSecretValue', 'sqs:ReceiveMessage', 's3:PutObject'],
      ['s3:GetObject', 's3:DeleteObject', 'sqs:SendMessage'],
    ],
  ])('%s may do what it needs and nothing else', (handler, allowed, denied) => {
    const { actions } = permissions(handler);
    for (const a of allowed) expect(actions.some((x) => x.startsWith(a))).toBe(true);
    for (const d of denied) expect(actions.filter((x) => x.startsWith(d))).toEqual([]);
    expect(actions).not.toContain('*');
    expect(actions.filter((a) => a.endsWith(':*'))).toEqual([]);
  });

  test("the functions that end a stage answer only this state machine's tasks, and only with success", () => {
    for (const handler of [
      'progress',
      'index-identities',
      'profile',
      'twinspace',
      'group',
      'report',
      'verify',
    ]) {
      const { statements } = permissions(handler);
      const answers = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('states:')));
      expect([handler, answers.map((s) => s.Action)]).toEqual([handler, ['states:SendTaskSuccess']]);
      expect(JSON.stringify(answers[0]?.Resource)).toMatch(/StateMachine/);
    }
  });

  test("deletes are s3:DeleteObject alone (never a version), on the withdrawable areas of the target, the workers' chunk sets, the pieces and a failed start's index only", () => {
    const deletes = resources(pipeline, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (
        p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
      ).Statement.filter((st) => [st.Action].flat().some((a) => /^s3:Delete/.test(a))),
    );
    expect(deletes.length).toBeGreaterThan(0);
    for (const st of deletes) {
      expect(st.Action).toBe('s3:DeleteObject');
      const resource = JSON.stringify(st.Resource);
      if (resource.includes('ExportsBucketArn'))
        // Chunk sets and pieces only: never an upload (exports/) or a run's ledger (work/<scope>/results/).
        expect(
          [...chunkSets(['decide', 'index', 'identify', 'link']), PIECE_SETS, FORBIDDEN_SETS].some((p) =>
            resource.includes(`"/${p}*"`),
          ),
        ).toBe(true);
      // In the reports, receipts only: an erased account's (ER-1).
      else if (resource.includes('ReportsBucketArn')) expect(resource).toContain(`"/${RECEIPTS_PATTERN}*"`);
      else {
        expect(resource).toContain('MigratedBucketArn');
        expect(WITHDRAWABLE.some((prefix) => resource.includes(`"/${prefix}*"`))).toBe(true);
      }
    }
  });

  test("index-identities deletes staged profiles only (ID-3's withdrawal), and puts link documents only", () => {
    const { statements } = permissions('index-identities');
    const on = (action: string) =>
      statements
        .filter((s) => [s.Action].flat().some((a) => a.startsWith(action)))
        .map((s) => JSON.stringify(s.Resource))
        .join(' ');
    expect(on('s3:DeleteObject')).toContain('/*/profiles/*');
    expect(on('s3:DeleteObject')).not.toMatch(/"\/\*"/);
    expect(on('s3:PutObject')).toContain('/links/*');
  });

  test("the target and the reports are each a set of buckets: every function gets the set's names in order, and every grant reaches each bucket", () => {
    const sets = { MIGRATED_BUCKET: 'Migrated', REPORTS_BUCKET: 'Reports' } as const;
    for (const f of synth.functions.values())
      for (const [env, name] of Object.entries(sets)) {
        const value = f.environment[env];
        if (value === undefined) continue;
        // Each bucket's name comes from its exported ARN, in the order the stateful stack exports them.
        const order = [...JSON.stringify(value).matchAll(new RegExp(`-${name}BucketArn(\\d*)`, 'g'))].map(
          (m) => m[1],
        );
        expect(order).toEqual(['', '1', '2', '3']);
      }
    const { statements } = permissions('group');
    const puts = statements
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:PutObject')))
      .map((s) => JSON.stringify(s.Resource))
      .join(' ');
    for (const n of ['', '1', '2', '3']) expect(puts).toMatch(new RegExp(`MigratedBucketArn${n}"`));
  });

  test('workers write the target and the working area only, and read the export only', () => {
    const { statements } = permissions('group');
    const puts = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:PutObject')));
    const resourcesOf = (s: { Resource: unknown }) => JSON.stringify(s.Resource);
    expect(puts.map(resourcesOf).join(' ')).toMatch(/MigratedBucketArn.*\/\*|\/\*.*MigratedBucketArn/);
    expect(puts.map(resourcesOf).join(' ')).not.toContain('/exports/*');
  });

  test('verify reads the export, the working area and the target; it writes only its tallies to the working area', () => {
    const { actions, statements } = permissions('verify');
    // CDK's grantPut adds s3:Abort* (of its own multipart uploads) to every put.
    expect(actions.filter((a) => /^s3:Delete/.test(a))).toEqual([]);
    const puts = statements
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:PutObject')))
      .map((s) => JSON.stringify(s.Resource))
      .join(' ');
    expect(puts).toContain('/work/*');
    expect(puts).not.toMatch(/MigratedBucketArn|ReportsBucketArn/);
    const reads = statements
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:GetObject')))
      .map((s) => JSON.stringify(s.Resource))
      .join(' ');
    expect(reads).toMatch(/MigratedBucketArn/);
    expect(reads).toContain('/exports/*');
    expect(reads).toContain('/work/*');
    expect(reads).not.toMatch(/ReportsBucketArn/);
  });

  test('receipts link downloads for the configured hours; the state machine announces on the default bus only', () => {
    const report = [...synth.functions.values()].find((f) => f.handler === 'functions/report/handler.ts');
    expect(report?.environment.DOWNLOAD_URL_HOURS).toBe('12');
    const [, sm] = resources(pipeline, 'AWS::StepFunctions::StateMachine')[0] ?? [];
    const role = (sm?.Properties.RoleArn as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'][0];
    expect(role).toBeDefined();
    const statements = resources(pipeline, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap(
        ([, p]) =>
          (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
      );
    const put = statements.filter((s) => [s.Action].flat().includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(JSON.stringify(put[0]?.Resource)).toMatch(/:event-bus\/default/);
  });

  test('an upload of exports/*/manifest.json starts the state machine; registrations reach the link queue', () => {
    pipeline.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { object: { key: [{ wildcard: 'exports/*/manifest.json' }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('StateMachine') },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
    pipeline.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      // Registrations from EU Login, and the support desk's links by hand (ID-8).
      EventPattern: {
        source: ['esep.accounts', 'esep.support'],
        'detail-type': ['ESEP Registration', 'ESEP Support Link'],
      },
    });
  });

  test('the upload rule, against S3 events as EventBridge delivers them: a manifest upload to the exports bucket starts a run of that export, nothing else does', () => {
    // The exports bucket's ARN, through the stateful stack's export, as CloudFormation resolves it.
    const bucket = 'esep-exports-example';
    const imported = Object.values((synth.templates.stateful as { Outputs?: object }).Outputs ?? {}) as {
      Value: unknown;
      Export?: { Name: string };
    }[];
    const exportsArn = imported.find((o) => JSON.stringify(o.Value).includes('"Exports'));
    const resolve = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(resolve);
      if (v === null || typeof v !== 'object') return v;
      const o = v as Record<string, unknown>;
      if ('Fn::ImportValue' in o) {
        expect(o['Fn::ImportValue']).toBe(exportsArn?.Export?.Name);
        return `arn:aws:s3:::${bucket}`;
      }
      if ('Fn::Split' in o) {
        const [sep, text] = resolve(o['Fn::Split']) as [string, string];
        return text.split(sep);
      }
      if ('Fn::Select' in o) {
        const [i, list] = resolve(o['Fn::Select']) as [number, unknown[]];
        return list[i];
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
    };
    const found = resources(pipeline, 'AWS::Events::Rule').find(([id]) => id.startsWith('ManifestUploaded'));
    if (!found) throw new Error('no ManifestUploaded rule');
    const rule = found[1];
    const pattern = resolve(rule.Properties.EventPattern) as Parameters<typeof matchesPattern>[1];
    const [target] = rule.Properties.Targets as {
      InputTransformer: Parameters<typeof transformInput>[1];
    }[];
    // The "Object Created" event of the S3 user guide ("Using EventBridge", event message structure).
    const event = (key: string, over: Record<string, unknown> = {}) => ({
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: '2022-11-12T00:00:00Z',
      region: 'eu-west-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key, size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '00617F08299329D189' },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '123456789012',
        reason: 'PutObject',
      },
      ...over,
    });
    const upload = event('exports/etw-2022-11/manifest.json');
    expect(matchesPattern(upload, pattern)).toBe(true);
    const input = transformInput(upload, target?.InputTransformer as Parameters<typeof transformInput>[1]);
    expect(input).toEqual({ bucket, key: 'exports/etw-2022-11/manifest.json' });
    expect(exportKeys.exportIdOfManifest((input as { key: string }).key)).toBe('etw-2022-11');
    // Not a manifest, another bucket, another kind of event: no run.
    expect(matchesPattern(event('exports/etw-2022-11/accounts.ndjson'), pattern)).toBe(false);
    expect(matchesPattern(event('exports/etw-2022-11/manifest.json.tmp'), pattern)).toBe(false);
    const elsewhere = event('exports/etw-2022-11/manifest.json');
    elsewhere.detail.bucket.name = 'someone-elses-bucket';
    expect(matchesPattern(elsewhere, pattern)).toBe(false);
    expect(
      matchesPattern(
        event('exports/etw-2022-11/manifest.json', { 'detail-type': 'Object Deleted' }),
        pattern,
      ),
    ).toBe(false);
    // EventBridge's * also spans "/": a deeper manifest starts an execution, which names no export and
    // is refused by the run's first step (core/pipeline/run.ts).
    const deeper = event('exports/a/b/manifest.json');
    expect(matchesPattern(deeper, pattern)).toBe(true);
    expect(exportKeys.exportIdOfManifest('exports/a/b/manifest.json')).toBeUndefined();
  });

  test("an operator command finds what it works on in the stack's outputs: the state machine, each function, each queue's redrive pair", () => {
    const outputs = pipeline.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [machine] = Object.keys(pipeline.findResources('AWS::StepFunctions::StateMachine'));
    expect(outputs[STACK_OUTPUTS.stateMachine]?.Value).toEqual({ Ref: machine });
    for (const spec of FUNCTIONS) {
      const fn = [...synth.functions.values()].find((f) => f.handler.split('/')[1] === spec.name);
      expect(fn).toBeDefined();
      expect(outputs[STACK_OUTPUTS.function(spec.name)]?.Value).toEqual({ Ref: fn?.logicalId });
    }
    for (const queue of [...QUEUED, 'link']) {
      const value = outputs[STACK_OUTPUTS.redrive(queue)]?.Value as {
        'Fn::Join': [string, { Ref: string }[]];
      };
      const [dlq, source] = value['Fn::Join'][1].map((part) => part.Ref);
      const redrive = resources(pipeline, 'AWS::SQS::Queue').find(([qid]) => qid === source)?.[1];
      expect(redrive?.Properties.RedrivePolicy).toMatchObject({
        deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      });
    }
  });

  test("the operators' role: assumed within the account, allowed every call of the commands with --stack, and no delete of an object", () => {
    const [roleId, role] =
      resources(pipeline, 'AWS::IAM::Role').find(([id]) => id.startsWith('Operators')) ?? [];
    expect(role?.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        expect.objectContaining({
          Principal: { AWS: expect.objectContaining({ 'Fn::Join': expect.anything() }) },
        }),
      ],
    });
    const statements = resources(pipeline, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap(
        ([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement,
      );
    const actions = [...new Set(statements.flatMap((st) => [st.Action].flat()))];
    // What the commands call on AWS (cli/stack.ts and the functions' adapters they run).
    for (const call of [
      'cloudformation:DescribeStacks',
      'lambda:GetFunctionConfiguration',
      'states:StartExecution',
      'states:DescribeExecution',
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchGetItem',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:SendMessage',
      'sqs:GetQueueAttributes',
      'secretsmanager:GetSecretValue',
      'kms:Decrypt',
    ])
      expect([call, allows(actions, call)]).toEqual([call, true]);
    // A withdrawal from a bucket is the rollback function's, through the state machine; the state's own
    // bookkeeping (a pending registration taken up) is the account-link function's, as it runs.
    expect(actions.filter((a) => /^s3:Delete|DeleteTable|DeleteBucket/.test(a))).toEqual([]);
    expect((pipeline.toJSON().Outputs as Record<string, { Value: unknown }>).OperatorsRoleArn?.Value).toEqual(
      {
        'Fn::GetAtt': [roleId, 'Arn'],
      },
    );
  });

  test('a Standard state machine with full logging and tracing', () => {
    pipeline.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  test('a dashboard, and alarms on failures, errors, throttles, queue age, dead letters and table throttling, all to the encrypted topic', () => {
    pipeline.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    pipeline.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    pipeline.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
    });
    const alarms = resources(pipeline, 'AWS::CloudWatch::Alarm');
    const metrics = alarms
      .map(
        ([, a]) =>
          `${a.Properties.Namespace ?? ''}:${a.Properties.MetricName ?? JSON.stringify(a.Properties.Metrics ?? '')}`,
      )
      .join('\n');
    for (const m of [
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'Throttles',
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
      'ReadThrottleEvents',
      'WriteThrottleEvents',
    ]) {
      expect(metrics).toContain(m);
    }
    expect(metrics).toMatch(/Errors|Faults|FaultRate|FaultCount/);
    for (const [, a] of alarms) expect(JSON.stringify(a.Properties.AlarmActions)).toMatch(/Alarms/);
  });
});

describe('cdk-nag', () => {
  test('AwsSolutions checks pass with zero unacknowledged findings', () => {
    const { app } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    expect(() => app.synth()).not.toThrow();
  });
  test('and they do run: a careless bucket fails synthesis', () => {
    const { app, pipeline: stack } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    new s3.Bucket(stack, 'Careless');
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(() => app.synth()).toThrow(/AwsSolutions-S1'[\s\S]*AwsSolutions-S10'/);
    } finally {
      log.mockRestore();
    }
  });

  test('every function of the one table has its fault alarm, and the trigger dead-letter queue has one', () => {
    const names = resources(pipeline, 'AWS::CloudWatch::Alarm').map(([, a]) =>
      JSON.stringify(a.Properties.AlarmName),
    );
    for (const spec of FUNCTIONS)
      expect(names.filter((n) => n.includes(`-${spec.name}-Fault`))).toHaveLength(1);
    expect(names.some((n) => n.includes('trigger-dlq'))).toBe(true);
  });
});
