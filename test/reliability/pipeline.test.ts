import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetQueueAttributesCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { plan } from '../../cli/commands/plan';
import { moveDeadLetters, redriveLocal } from '../../cli/commands/redrive';
import { executeRun, runLocal, upload } from '../../cli/commands/run';
import { pendingMessages } from '../../functions/adapters/sqs';
import { awsClients } from '../../functions/adapters/wiring';
import { MANIFEST } from '../../functions/core/keys';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import type { TaskHandler } from '../../local/runtime/state-machine';
import { startServices } from '../../local/stand-ins/services';
import { generateExport } from '../../tools/generate';
import { snapshot } from '../helpers/local-state';
import { lossAndDuplication, recordFigures, scale } from './support';

/**
 * The pipeline under faults, against an undisturbed run of the same export: transient faults in a
 * share of S3, DynamoDB and SQS calls; every SQS message delivered twice, some out of order; a poison
 * message that reaches the dead-letter queue and is redriven after a fix. Each ends with the decisions,
 * target and ledger of the undisturbed run, and a verified target.
 */
jest.setTimeout(scale(240_000, 1_800_000));

const ACCOUNTS = scale(40, 250);
const FAST = { waitMs: 20, retryMs: 10, redeliverySeconds: 2 };
const quiet = { write: () => true };
let tmp: string;
let exportDir: string;
let planned: string[];
let baseline: Awaited<ReturnType<typeof snapshot>>;

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-rel-'));
  exportDir = join(tmp, 'rel-export');
  await generateExport({ out: exportDir, accounts: ACCOUNTS, seed: 2026 });
  const p = await plan({ exportDir, out: join(tmp, 'plan'), stderr: quiet });
  planned = lines(join(p.outDir, 'decisions.ndjson'));
  const state = join(tmp, 'state-undisturbed');
  await runLocal({
    exportDir,
    stateDir: state,
    out: join(tmp, 'out-undisturbed'),
    stderr: quiet,
    pipeline: FAST,
  });
  baseline = await snapshot(state);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** A run's outcome in one value, so that a failure shows why (status, missing chunks, failed checks). */
const outcome = (r: Awaited<ReturnType<typeof runLocal>>) => ({
  failed: r.failed,
  missing: r.summary.missing ?? [],
  failedChecks: (r.summary.verification?.checks ?? []).filter((c) => !c.passed),
});
const SUCCEEDED = { failed: false, missing: [], failedChecks: [] };

/** Compares a disturbed run with the undisturbed one; returns records lost and duplicated. */
async function compare(state: string, outDir: string) {
  const decisions = lines(join(outDir, 'decisions.ndjson'));
  const after = await snapshot(state);
  const records = lossAndDuplication(planned, decisions);
  const objects = lossAndDuplication(baseline.objects, after.objects);
  expect(decisions).toEqual(planned);
  expect(after.objects).toEqual(baseline.objects);
  expect(after.results).toEqual(baseline.results);
  return { lost: records.lost + objects.lost, duplicated: records.duplicated + objects.duplicated };
}

test('the functions retry AWS calls a bounded number of times (8), with backoff, jitter and a retry quota per worker (SDK standard mode), on AWS as here', async () => {
  const services = await startServices(join(tmp, 'state-config'));
  try {
    const c = services.newClients();
    for (const client of [c.s3, c.dynamo, c.sqs, ...Object.values(awsClients()).slice(0, 3)]) {
      expect(await client.config.maxAttempts()).toBe(8);
      const mode = client.config.retryMode;
      expect(typeof mode === 'string' ? mode : await mode()).toBe('standard');
    }
  } finally {
    await services.stop();
  }
});

test.each(
  scale(
    [[0.08, 11]],
    [
      [0.05, 11],
      [0.1, 12],
      [0.2, 13],
    ],
  ),
)(
  'a share of %p of S3, DynamoDB and SQS calls fails transiently: the run ends identical',
  async (share, seed) => {
    const state = join(tmp, `state-faults-${seed}`);
    const r = await runLocal({
      exportDir,
      stateDir: state,
      out: join(tmp, `out-faults-${seed}`),
      stderr: quiet,
      pipeline: { ...FAST, faults: { share, seed } },
    });
    expect(outcome(r)).toEqual(SUCCEEDED);
    expect(r.summary.verification?.passed).toBe(true);
    const f = r.counts.faults;
    expect(f.injected).toBeGreaterThan(20);
    for (const kind of Object.values(f.byKind)) expect(kind).toBeGreaterThan(0);
    for (const service of Object.values(f.byService)) expect(service).toBeGreaterThan(0);
    const { lost, duplicated } = await compare(state, r.outDir);
    recordFigures(`faults ${share}`, {
      faultsInjected: f.injected,
      faultsByKind: f.byKind,
      faultRuns: 1,
      faultRunsSurvived: 1,
      recordsLost: lost,
      recordsDuplicated: duplicated,
    });
  },
);

test.each(scale([[21]], [[21], [22]]))(
  'every SQS message delivered twice, at once or after the first delivery (seed %p): the run ends identical',
  async (seed) => {
    const state = join(tmp, `state-twice-${seed}`);
    const r = await runLocal({
      exportDir,
      stateDir: state,
      out: join(tmp, `out-twice-${seed}`),
      stderr: quiet,
      pipeline: { ...FAST, duplicateDelivery: { seed } },
    });
    expect(outcome(r)).toEqual(SUCCEEDED);
    const d = r.counts.deliveries;
    expect(d.duplicates).toBeGreaterThan(10);
    expect(d.duplicates * 2).toBe(d.messages); // every message was delivered twice
    const { lost, duplicated } = await compare(state, r.outDir);
    recordFigures(`twice ${seed}`, {
      duplicateDeliveries: d.duplicates,
      duplicateRunsSurvived: 1,
      recordsLost: lost,
      recordsDuplicated: duplicated,
    });
  },
);

/** Registrations of the generated export's people (and of nobody), as EU Login sends them. */
const REGISTRATIONS = [
  ['u-maria', 'Maria.Rossi@School1.example.eu'],
  ['u-zoe', 'zoë.müller@schule.example.de'],
  ['u-staff', 'shared.staffroom@school7.example.eu'],
  ['u-nobody', 'nobody@example.org'],
];
const LATER = [
  ['u-other', 'maria.rossi@school1.example.eu'],
  ['u-maria', 'zoë.müller@schule.example.de'],
];

/** What a state's users are linked to (or why not), and its link documents: never an e-mail. */
async function linksOf(state: string) {
  const { items, objects } = await snapshot(state);
  const users = items
    .map((i) => JSON.parse(i))
    .filter((i) => i.pk.S.startsWith('L#'))
    .map((i) => [
      i.esepUserId.S,
      i.account ? `${i.account.M.platform.S}:${i.account.M.accountId.S}` : i.reason.S,
    ]);
  return {
    users: Object.fromEntries(users.sort()),
    pending: items.filter((i) => i.includes('"P#')).length,
    documents: objects.filter((o) => o.startsWith('links/')).map((o) => o.split(' ')[0]),
  };
}

test('registrations before and after the run, each delivered twice through the link queue: the links of one delivery each', async () => {
  const state = join(tmp, 'state-links-twice');
  const duplicateDelivery = { seed: 31 };
  const deliver = async (registrations: string[][]) => {
    const p = await startLocalPipeline({ stateDir: state, ...FAST, duplicateDelivery });
    try {
      const queue = [...p.resources.queues].find(([id]) => /^LinkQueue[0-9A-F]{8}$/.test(id))?.[1] as string;
      for (const [user, email] of registrations)
        await p.clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: queue,
            MessageBody: JSON.stringify({
              version: '0',
              id: `${user}-${email}`,
              source: 'esep.accounts',
              'detail-type': 'ESEP Registration',
              account: '0',
              time: '2022-06-15T10:00:00Z',
              region: 'eu-west-1',
              resources: [],
              detail: { esepUserId: user, email, registeredAt: '2022-06-15T10:00:00Z' },
            }),
          }),
        );
      const pending = pendingMessages(p.clients.sqs, [queue]);
      while ((await pending()) > 0) await new Promise((r) => setTimeout(r, 50));
      return p.deliveries;
    } finally {
      await p.stop();
    }
  };
  const before = await deliver(REGISTRATIONS);
  // Before the export: every first registration waits, under its keyed e-mail.
  expect(await linksOf(state)).toEqual({
    users: {
      'u-maria': 'LINK_PENDING',
      'u-nobody': 'LINK_PENDING',
      'u-staff': 'LINK_PENDING',
      'u-zoe': 'LINK_PENDING',
    },
    pending: 4,
    documents: [],
  });
  const r = await runLocal({
    exportDir,
    stateDir: state,
    out: join(tmp, 'out-links-twice'),
    stderr: quiet,
    pipeline: { ...FAST, duplicateDelivery },
  });
  expect(outcome(r)).toEqual(SUCCEEDED);
  const after = await deliver(LATER);
  expect(before.duplicates + after.duplicates).toBe(REGISTRATIONS.length + LATER.length);
  // As one delivery each, in order: linked at indexing (eTwinning over SEG), the ambiguous and the unknown
  // wait, a second user of a taken e-mail waits, and u-maria's later registration changes nothing (ID-4).
  expect(await linksOf(state)).toEqual({
    users: {
      'u-maria': 'etwinning:acc-000000',
      'u-nobody': 'LINK_PENDING',
      'u-other': 'LINK_PENDING',
      'u-staff': 'AMBIGUOUS_LEGACY_EMAIL',
      'u-zoe': 'etwinning:acc-000002',
    },
    pending: 3,
    documents: ['links/u-maria.json', 'links/u-zoe.json'],
  });
});

test('a poison message reaches the dead-letter queue; after the fix, redrive puts it back and the run completes', async () => {
  const state = join(tmp, 'state-poison');
  let fixed = false;
  let attempts = 0;
  const wrap = (id: string, handler: TaskHandler): TaskHandler =>
    id.startsWith('groupFunction')
      ? async (event) => {
          const bodies = (event as { Records: { body: string }[] }).Records.map((r) => r.body);
          if (
            !fixed &&
            bodies.some((b) => b.includes('"kind":"group-items"') && b.includes('"op":"decide"'))
          ) {
            attempts++;
            throw new Error('a bug in this release');
          }
          return handler(event);
        }
      : handler;
  const pipeline = await startLocalPipeline({ stateDir: state, ...FAST, redeliverySeconds: 1, wrap });
  try {
    const { files } = JSON.parse(readFileSync(join(exportDir, MANIFEST), 'utf8')) as {
      files: { path: string }[];
    };
    await upload(
      pipeline.clients,
      pipeline.resources.buckets.exports,
      exportDir,
      'rel-export',
      files.map((f) => f.path),
    );
    const input = { bucket: pipeline.resources.buckets.exports, key: `exports/rel-export/${MANIFEST}` };
    const run = { exportId: 'rel-export', waves: ['sept-2022', 'nov-2022', '2023'] };
    const first = await executeRun(pipeline, input, run, join(tmp, 'out-poison'));
    expect(first.failed).toBe(true);
    expect(first.summary.status).toBe('incomplete');
    // The stalled stage names its chunk; the stages after it never ran.
    expect(first.summary.missing).toEqual([
      { stage: 'nov-2022/decide-2', chunks: ['group-items.decide.000000'] },
      { stage: '2023/index', chunks: ['(never split)'] },
      { stage: '2023/decide-1', chunks: ['(never split)'] },
      { stage: '2023/decide-2', chunks: ['(never split)'] },
    ]);
    expect(attempts).toBeGreaterThanOrEqual(4); // maxReceiveCount 5 (the stand-in may count one twice)
    const [dlq] = [...pipeline.resources.deadLetters].find(([, source]) => source.includes('Group')) ?? [];
    const waiting = await pipeline.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const deadLettered = Number(waiting.Attributes?.ApproximateNumberOfMessages);
    expect(deadLettered).toBeGreaterThanOrEqual(1);

    fixed = true;
    // Deployed queues wait 30 minutes before a message comes back; 1 second was only to reach the
    // dead-letter queue quickly.
    for (const QueueUrl of pipeline.resources.queues.values())
      await pipeline.clients.sqs.send(
        new SetQueueAttributesCommand({ QueueUrl, Attributes: { VisibilityTimeout: '30' } }),
      );
    expect(await moveDeadLetters(pipeline.clients.sqs, pipeline.resources.deadLetters)).toBe(deadLettered);
    const second = await executeRun(pipeline, input, run, join(tmp, 'out-poison-2'));
    expect(outcome(second)).toEqual(SUCCEEDED);
    recordFigures('poison', { deadLettered, redriven: 1 });
  } finally {
    await pipeline.stop();
  }
  const { lost, duplicated } = await compare(state, join(tmp, 'out-poison-2'));
  recordFigures('poison records', { recordsLost: lost, recordsDuplicated: duplicated });
});

test('esep-migrate redrive finishes an incomplete run left by an earlier process', async () => {
  const state = join(tmp, 'state-redrive');
  const poisoned = (id: string, handler: TaskHandler): TaskHandler =>
    id.startsWith('profileFunction')
      ? async (event) => {
          const bodies = (event as { Records: { body: string }[] }).Records.map((r) => r.body);
          if (bodies.some((b) => b.includes('"kind":"accounts"'))) throw new Error('a bug in this release');
          return handler(event);
        }
      : handler;
  const first = await runLocal({
    exportDir,
    stateDir: state,
    out: join(tmp, 'out-redrive-1'),
    stderr: quiet,
    pipeline: { ...FAST, redeliverySeconds: 1, wrap: poisoned },
  });
  expect(first.summary.status).toBe('incomplete');
  const r = await redriveLocal({
    exportId: 'rel-export',
    stateDir: state,
    out: join(tmp, 'out-redrive-2'),
    pipeline: FAST,
  });
  expect(r.moved).toBe(0); // that process's queues are gone: the stages' splits send the unmarked chunks
  if ('nothing' in r) throw new Error(`an incomplete run had nothing to redrive: ${JSON.stringify(r)}`);
  expect(r.failed).toBe(false);
  expect(r.summary.status).toBe('completed-with-quarantine');
  const { lost, duplicated } = await compare(state, r.outDir);
  recordFigures('redrive', { redriven: 1, recordsLost: lost, recordsDuplicated: duplicated });
});
