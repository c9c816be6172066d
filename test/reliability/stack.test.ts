import { resolveIntrinsic } from '../../local/cloudformation/intrinsics';
import { type SynthesizedApp, synthesize } from '../../local/cloudformation/synth';

/**
 * The stack, as deployed: each function's role reaches only its own queue, the table, its own bucket
 * prefixes and its own secret; every bucket and queue refuses requests without TLS; nothing is public.
 */
let synth: SynthesizedApp;
beforeAll(() => {
  synth = synthesize();
});

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
};
const resourcesOf = (type: string) =>
  Object.entries({ ...synth.templates.stateful.Resources, ...synth.templates.pipeline.Resources }).filter(
    ([, r]) => r.Type === type,
  );

const policyStatements = (r: { Properties?: Record<string, unknown> }): Statement[] =>
  (r.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [];

const STATEFUL_NAMES: Record<string, string> = {
  ExportsBucketArn: 'exports:',
  MigratedBucketArn: 'migrated:',
  ReportsBucketArn: 'reports:',
  TableArn: 'table',
  KeyArn: 'key',
  EmailKeySecretArn: 'secret',
};

/** A resource reference as a short name: `exports:/work/*`, `queue:Group`, `table`, `secret`, ... */
const nameOf = (value: unknown): string =>
  resolveIntrinsic(value, {
    ref: (id) => id.replace(/[0-9A-F]{8}$/, ''),
    getAtt: (id) => {
      const queue = /^([A-Za-z]+)Queue[0-9A-F]{8}$/.exec(id);
      return queue ? `queue:${queue[1]}` : id.replace(/[0-9A-F]{8}$/, '');
    },
    importValue: (exported) => {
      // Every bucket of the target's and the reports' sets (MigratedBucketArn, MigratedBucketArn1, ...).
      const name = exported
        .replace(/^EsepMigration-Stateful-[a-z0-9-]+-/, '')
        .replace(/(BucketArn)\d+$/, '$1');
      return STATEFUL_NAMES[name] ?? name;
    },
  });

/** Each function's grants on data: `<service>:<read|write|...> <resource>` (logs, X-Ray and KMS aside). */
function grants(handler: string): string[] {
  const fn = [...synth.functions.values()].find((f) => f.handler === `functions/${handler}/handler.ts`);
  if (!fn) throw new Error(`no function ${handler}`);
  const role = (
    synth.templates.pipeline.Resources[fn.logicalId]?.Properties?.Role as
      | { 'Fn::GetAtt': [string] }
      | undefined
  )?.['Fn::GetAtt'][0];
  // CDK moves statements past a role's inline policy size into an overflow managed policy.
  const statements = [...resourcesOf('AWS::IAM::Policy'), ...resourcesOf('AWS::IAM::ManagedPolicy')]
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(`"${role}"`))
    .flatMap(([, p]) => policyStatements(p));
  const out = new Set<string>();
  for (const s of statements) {
    expect(s.Effect).toBe('Allow');
    const actions = [s.Action].flat();
    const service = actions[0]?.split(':')[0] as string;
    if (['logs', 'xray', 'kms'].includes(service)) continue;
    const verb =
      service === 's3'
        ? actions.some((a) => a.startsWith('s3:Put'))
          ? 'write'
          : actions.some((a) => a.startsWith('s3:Delete'))
            ? 'delete'
            : 'read'
        : service === 'sqs'
          ? actions.includes('sqs:ReceiveMessage')
            ? 'consume'
            : actions.includes('sqs:SendMessage')
              ? 'send'
              : 'attributes'
          : service === 'dynamodb'
            ? actions.some((a) => /Put|Write|Update|Delete/.test(a))
              ? actions.includes('dynamodb:Query')
                ? 'readwrite'
                : 'write'
              : 'read'
            : actions.join(',');
    for (const r of [s.Resource].flat()) out.add(`${service}:${verb} ${nameOf(r)}`);
  }
  return [...out].sort();
}

const exportsRead = ['s3:read exports:', 's3:read exports:/exports/*'];
const workRead = ['s3:read exports:/work/*'];
/** A function that finishes a stage's chunks answers the task waiting for the stage (this state machine only). */
const ANSWERS_STAGES = 'states:states:SendTaskSuccess WorkflowStateMachine';
const worker = (queue: string, extra: string[] = []) =>
  [
    // Every worker finds an erased account's records by keyed id (ER-1).
    'secretsmanager:secretsmanager:DescribeSecret,secretsmanager:GetSecretValue secret',
    ...exportsRead,
    ...workRead,
    's3:write exports:/work/*',
    // Its chunks once worked: the chunk sets and pieces alone, never the ledger (work/<scope>/results/).
    's3:delete exports:/work/*.decide/*',
    's3:delete exports:/work/*.index/*',
    's3:delete exports:/work/*/pieces/*',
    's3:write migrated:/*',
    'dynamodb:readwrite table',
    `sqs:consume queue:${queue}`,
    ANSWERS_STAGES,
    ...extra,
  ].sort();
/** Every queue of the workflow (the entity workers', the identity stages', the report's, verify's). */
const workflowQueues = (verb: string) =>
  ['Group', 'Identities', 'PortfolioEvents', 'Profile', 'Report', 'Twinspace', 'Verify'].map(
    (q) => `sqs:${verb} queue:${q}`,
  );
/** The report's parts and its summary: the export, the working area, the reports bucket, the table. */
const reports = [...exportsRead, ...workRead, 's3:write reports:/*', 'dynamodb:readwrite table'];

/** A withdrawal (rollback, a replaced export): the run's results, the target, its links, the receipts. */
const withdraws = [
  ...exportsRead,
  ...workRead,
  'dynamodb:readwrite table',
  's3:read migrated:',
  's3:read migrated:/*',
  // Only the areas of the migrated layout that a run writes (keys.ts WITHDRAWABLE), never the whole bucket.
  's3:delete migrated:/*/events/*',
  's3:delete migrated:/*/groups/*',
  's3:delete migrated:/*/profiles/*',
  's3:delete migrated:/*/twinspaces/*',
  's3:delete migrated:/links/*',
  's3:read reports:',
  's3:read reports:/*',
  's3:write reports:/*',
];

const SECRET = 'secretsmanager:secretsmanager:DescribeSecret,secretsmanager:GetSecretValue secret';

const EXPECTED: Record<string, string[]> = {
  // It also keys the export's credentials and addresses (the secret) into the run's index for verify, and
  // cuts the kind files into pieces, in the working area; a start that fails deletes its pieces and index.
  validate: [
    ...withdraws,
    SECRET,
    's3:write exports:/work/*',
    's3:delete exports:/work/*/pieces/*',
    's3:delete exports:/work/*/forbidden/*',
  ],
  // It also erases an account (ER-1): the account's keyed id (the secret), shared documents of the areas
  // it is named in rewritten without it, and its receipts deleted (receipts only).
  rollback: [
    ...withdraws,
    SECRET,
    's3:write migrated:/*/events/*',
    's3:write migrated:/*/groups/*',
    's3:write migrated:/*/twinspaces/*',
    's3:delete reports:/*/receipts/*',
  ],
  'index-identities': [
    ...exportsRead,
    ...workRead,
    // Its chunks' tallies, for the summary; its chunks of the export's accounts deleted once worked.
    's3:write exports:/work/*',
    's3:delete exports:/work/*.identify/*',
    's3:delete exports:/work/*.link/*',
    's3:delete exports:/work/*/pieces/*',
    'sqs:consume queue:Identities',
    'dynamodb:readwrite table',
    's3:read migrated:',
    's3:read migrated:/*',
    // ID-3: only staged profiles are withdrawn; only link documents are written, and taken back (ID-8).
    's3:delete migrated:/*/profiles/*',
    's3:delete migrated:/links/*',
    's3:write migrated:/links/*',
    's3:read reports:',
    's3:read reports:/*',
    's3:write reports:/*',
    'secretsmanager:secretsmanager:DescribeSecret,secretsmanager:GetSecretValue secret',
    ANSWERS_STAGES,
  ],
  // It copies the pieces validate cut (read and written in the working area); the report's read the manifest.
  split: [
    ...exportsRead,
    ...workRead,
    's3:write exports:/work/*',
    'dynamodb:readwrite table',
    ...workflowQueues('send'),
  ],
  // It records the waiting task's token on the stage's item, and answers a stage already done.
  progress: ['dynamodb:readwrite table', ...workflowQueues('attributes'), ANSWERS_STAGES],
  // Verify reads the target and writes only its parts' tallies; it hands the rest of a range on.
  verify: [
    ...exportsRead,
    ...workRead,
    's3:write exports:/work/*',
    's3:read migrated:',
    's3:read migrated:/*',
    'dynamodb:readwrite table',
    // Its own queue only: it takes its messages and hands the rest of a range back (one statement).
    'sqs:consume queue:Verify',
    ANSWERS_STAGES,
    // A document that names an erased account is a problem (ER-1).
    SECRET,
  ],
  // The keyed ids of erased accounts (ER-1): their rows read as erased, and no receipt for them.
  report: [...reports, 's3:write exports:/work/*', 'sqs:consume queue:Report', ANSWERS_STAGES, SECRET],
  // The run's totals, merged a page of the parts' tallies at a time, in the working area.
  summary: [...reports, 's3:write exports:/work/*'],
  'run-status': ['dynamodb:write table'],
  profile: worker('Profile'),
  // ID-9 extended: a later export withdraws an earlier export's copy of its TwinSpace or group (only
  // that area), and that export's receipts are told.
  twinspace: worker('Twinspace', [
    's3:read migrated:',
    's3:read migrated:/*',
    's3:delete migrated:/*/twinspaces/*',
    's3:read reports:',
    's3:read reports:/*',
    's3:write reports:/*',
  ]),
  group: worker('Group', [
    's3:read migrated:',
    's3:read migrated:/*',
    's3:delete migrated:/*/groups/*',
    's3:read reports:',
    's3:read reports:/*',
    's3:write reports:/*',
  ]),
  'portfolio-events': worker('PortfolioEvents'),
  'account-link': [
    'dynamodb:readwrite table',
    's3:write migrated:/links/*',
    'secretsmanager:secretsmanager:DescribeSecret,secretsmanager:GetSecretValue secret',
    'sqs:consume queue:Link',
  ],
};

test('every function is in the table above', () => {
  expect([...synth.functions.values()].map((f) => f.handler.split('/')[1]).sort()).toEqual(
    Object.keys(EXPECTED).sort(),
  );
});

test.each(Object.entries(EXPECTED))(
  '%s reaches only its own queue, the table and its bucket prefixes',
  (handler, expected) => {
    expect(grants(handler)).toEqual([...expected].sort());
  },
);

/** The statements of every bucket, queue and topic policy. */
function resourcePolicies(): [string, Statement[]][] {
  return [
    ...resourcesOf('AWS::S3::BucketPolicy'),
    ...resourcesOf('AWS::SQS::QueuePolicy'),
    ...resourcesOf('AWS::SNS::TopicPolicy'),
  ].map(([id, r]) => [id, policyStatements(r)]);
}

const deniesPlainHttp = (statements: Statement[]) =>
  statements.some(
    (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition ?? {}).includes('"aws:SecureTransport":"false"'),
  );

test('every bucket and every queue refuses requests without TLS', () => {
  const policies = resourcePolicies();
  const covered = (kind: string, ref: string) => (id: string) => {
    const policy = resourcesOf(kind).find(([, r]) => JSON.stringify(r.Properties).includes(`"${id}"`));
    expect(policy).toBeDefined();
    expect(deniesPlainHttp(policies.find(([pid]) => pid === policy?.[0])?.[1] ?? [])).toBe(true);
    return ref;
  };
  const buckets = resourcesOf('AWS::S3::Bucket').map(([id]) =>
    covered('AWS::S3::BucketPolicy', 'bucket')(id),
  );
  const queues = resourcesOf('AWS::SQS::Queue').map(([id]) => covered('AWS::SQS::QueuePolicy', 'queue')(id));
  // the access logs, the exports, the target and the reports each over four buckets (targetBuckets)
  expect(buckets.length).toBe(2 + 2 * 4);
  // 8 queues (7 of the workflow, the registrations'), their dead-letter queues, the triggers' dead-letter queue
  expect(queues.length).toBe(17);
});

test('nothing is public: blocked public access, no policy that allows anyone, no function URL', () => {
  for (const [, b] of resourcesOf('AWS::S3::Bucket'))
    expect(b.Properties?.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  for (const [id, statements] of resourcePolicies()) {
    for (const s of statements.filter((st) => st.Effect === 'Allow')) {
      const principal = JSON.stringify(s.Principal);
      expect([id, principal]).not.toEqual([id, '"*"']);
      expect([id, principal]).not.toEqual([id, '{"AWS":"*"}']);
    }
  }
  expect(resourcesOf('AWS::Lambda::Url')).toEqual([]);
  for (const [, p] of resourcesOf('AWS::Lambda::Permission'))
    expect(String(p.Properties?.Principal)).toMatch(/\.amazonaws\.com$/);
});
