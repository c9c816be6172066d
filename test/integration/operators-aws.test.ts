import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { forgetLocal } from '../../cli/commands/forget';
import { lookupLocal } from '../../cli/commands/lookup';
import { redriveStack } from '../../cli/commands/redrive';
import { linkLocal, registerLocal } from '../../cli/commands/register';
import { rollbackLocal } from '../../cli/commands/rollback';
import { formatStatus, status } from '../../cli/commands/status';
import { verifyLocal } from '../../cli/commands/verify';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { targetKeys } from '../../functions/core/keys';
import { recordChunk } from '../../functions/core/pipeline/progress';
import { markerStage } from '../../functions/core/pipeline/stages';
import { LOCAL_STACK, serveLocalStack } from '../../local/runtime/local-stack';
import { type LocalPipeline, startLocalPipeline } from '../../local/runtime/pipeline';
import type { ControlPlane } from '../../local/stand-ins/control-plane';
import { cliAsync } from '../helpers/cli';
import { ANA, FAST, run, SEG, useTempFolder } from '../helpers/timeline';

/**
 * The operator commands against a deployed stack (`--stack`), here against the local deployment through
 * the AWS SDK's standard endpoint settings (AWS_ENDPOINT_URL_<SERVICE>): the code path of AWS, whose
 * control-plane calls (CloudFormation's outputs, each function's configuration, Step Functions'
 * executions, Secrets Manager) the local control plane answers. Nothing here reads the state folder but
 * the last test, which reads a run under way both ways.
 */
let pipeline: LocalPipeline;
let plane: ControlPlane;
const saved: Record<string, string | undefined> = {};
// Declared before the temporary folder, so that it runs first: the deployment stops, then its folder goes.
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await plane?.stop();
  await pipeline?.stop();
});
const dir = useTempFolder('esep-aws-');
const stack = LOCAL_STACK;
/** A state folder that does not exist: a command given --stack must not need one. */
const noState = () => join(dir(), 'no-state-here');

beforeAll(async () => {
  const state = join(dir(), 'state');
  await run(state, SEG);
  pipeline = await startLocalPipeline({ stateDir: state, ...FAST });
  plane = await serveLocalStack(pipeline);
  for (const [k, v] of Object.entries(plane.environment)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}, 120_000);

test('status, verify and lookup read the deployed stack, and link and register write to it', async () => {
  const panel = await status({ stateDir: noState(), stack });
  expect(panel.runs.map((r) => [r.exportId, r.waves.join('+'), r.state, r.verified])).toEqual([
    ['seg-2022', 'sept-2022+nov-2022+2023', 'completed', true],
  ]);
  expect(panel.runs[0]?.report).toMatch(
    /^s3:\/\/esep-reports[^/]*\/seg-2022\/sept-2022\+nov-2022\+2023\/report\.html$/,
  );
  expect(panel.deadLettered).toBe(0);

  expect((await verifyLocal({ exportId: 'seg-2022', stack })).verification.passed).toBe(true);

  // Ana registers on the stack (the account-link function's code, its key from Secrets Manager).
  const outcome = await registerLocal({ email: ANA, esepUserId: 'u-ana', stack });
  expect(outcome).toMatchObject({ decision: 'linked', legacyAccountId: 's-1', platform: 'seg' });
  const found = await lookupLocal({ stateDir: noState(), user: 'u-ana', stack });
  expect(found.legacyAccountId).toBe('s-1');
  expect(found.link?.esepUserId).toBe('u-ana');
  expect(found.runs).toHaveLength(1);
  expect(found.runs[0]?.records.map((r) => [r.kind, r.id, r.decision])).toEqual(
    expect.arrayContaining([['activities', 'sa-1', 'migrated']]),
  );
  // The receipt is a pre-signed link to its page, which opens.
  const page = await fetch(found.runs[0]?.receipt as string);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('s-1');
  // A link by hand of an account already linked is refused, as locally.
  await expect(
    linkLocal({ esepUserId: 'u-other', legacyAccountId: 's-1', reason: 'ticket 7', by: 'desk', stack }),
  ).rejects.toThrow();
}, 60_000);

test('rollback and redrive start executions of the deployed state machine and wait for them', async () => {
  expect(await redriveStack('seg-2022', stack)).toEqual({
    moved: 0,
    nothing: { waves: ['sept-2022', 'nov-2022', '2023'], state: 'completed' },
  });

  const r = await rollbackLocal({ exportId: 'seg-2022', wave: '2023', stateDir: noState(), stack });
  expect(r.runs).toBe(1);
  expect(r.withdrawn).toBeGreaterThan(0);
  const objects = s3Objects(pipeline.clients.s3);
  expect(
    await objects.list(pipeline.resources.buckets.migrated, targetKeys.profile('seg-2022', 's-1')),
  ).toEqual([]);
  const rows = (await status({ stateDir: noState(), stack })).runs;
  expect(rows.map((row) => [row.waves.join('+'), row.state]).sort()).toEqual([
    ['2023', 'rolled-back'],
    ['sept-2022+nov-2022+2023', 'completed'],
  ]);
  const withdrawn = await lookupLocal({ stateDir: noState(), account: 's-1', stack });
  expect(withdrawn.withdrawals.map((w) => [w.kind, w.id, w.reason])).toEqual(
    expect.arrayContaining([['accounts', 's-1', 'ROLLED_BACK']]),
  );
  expect((await verifyLocal({ exportId: 'seg-2022', stack })).verification.passed).toBe(true);

  // A message in a dead-letter queue: moved back, and the latest run's waves run again on the stack.
  const [dlq] = [...pipeline.resources.deadLetters.keys()];
  await pipeline.clients.sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: '{}' }));
  const redriven = await redriveStack('seg-2022', stack);
  expect(redriven).toMatchObject({
    moved: 1,
    failed: false,
    run: { exportId: 'seg-2022', state: 'completed' },
    // The run's summary, read from its report in the reports buckets, as the local redrive prints it.
    summary: { exportId: 'seg-2022', status: 'completed', counts: { activities: { migrated: 2 } } },
  });
}, 120_000);

test('forget on a stack: an execution of the deployed state machine erases the account (ER-1)', async () => {
  const objects = s3Objects(pipeline.clients.s3);
  const profileOf = () =>
    objects.list(pipeline.resources.buckets.migrated, targetKeys.profile('seg-2022', 's-2'));
  expect((await profileOf()).length).toBeGreaterThan(0);
  const r = await forgetLocal({ account: 'seg:s-2', reason: 'TICKET-9', stateDir: noState(), stack });
  expect(r).toMatchObject({ again: false, remaining: [], folders: [] });
  // Its receipt in each report folder of the export that has one (the run's, the redriven run's).
  expect(r.receipts.deleted).toBeGreaterThanOrEqual(1);
  expect(r.deleted).toBeGreaterThan(0);
  expect(await profileOf()).toEqual([]);
  const found = await lookupLocal({ stateDir: noState(), account: 's-2', stack });
  expect(found).toMatchObject({ erased: { ticket: 'TICKET-9', platform: 'seg' }, runs: [] });
  expect((await verifyLocal({ exportId: 'seg-2022', stack })).verification.passed).toBe(true);
}, 120_000);

test('the command line on a stack: the same output and exit codes, and a clear refusal of a stack that is not there', async () => {
  const env = plane.environment;
  const shown = await cliAsync(['status', '--stack', stack], env);
  expect(shown.status).toBe(0);
  expect(shown.stdout).toContain('seg-2022  sept-2022, nov-2022, 2023  completed, verified');
  expect(shown.stdout).toMatch(/dead-letter queues: (empty|\d+ messages)/);

  const missing = await cliAsync(['verify', 'seg-2022', '--stack', 'no-such-stack'], env);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain('--stack no-such-stack: no such stack in this account and region');

  const noRegion = await cliAsync(['status', '--stack', stack], {
    ...env,
    AWS_REGION: '',
    AWS_DEFAULT_REGION: '',
    AWS_CONFIG_FILE: join(dir(), 'none'),
    AWS_PROFILE: '',
  });
  expect(noRegion.status).toBe(2);
  expect(noRegion.stderr).toContain('no AWS region');
}, 60_000);

test('status of a run under way, on the stack and in the state folder: its stage, its chunks, the records worked and an ETA', async () => {
  // A run of another export, its first stage done and its second a quarter done (as its chunks counted).
  const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
  const startedAt = new Date(Date.now() - 100_000).toISOString();
  const run = { scope: 'et-under-way@0123', waves: ['sept-2022', 'nov-2022', '2023'], startedAt };
  await store.putRunStatus('et-under-way', { ...run, state: 'running', at: startedAt });
  const index = markerStage(run, 'identities/index');
  const link = markerStage(run, 'identities/link');
  const counts = (lines: number) => ({ lines, migrated: lines, dropped: 0, quarantined: 0 });
  await store.putStageExpectation(run.scope, index, { 'accounts.identify': 2 });
  for (const chunk of ['a', 'b']) await recordChunk(run.scope, index, chunk, counts(50), { store });
  await store.putStageExpectation(run.scope, link, { 'accounts.link': 4 });
  await recordChunk(run.scope, link, 'c', counts(25), { store });

  const onStack = (await status({ stateDir: noState(), stack })).runs.find(
    (r) => r.exportId === 'et-under-way',
  );
  expect(onStack?.position).toMatchObject({
    stage: 'identities/link',
    step: 2,
    chunks: 1,
    expected: 4,
    lines: 125,
  });
  expect(onStack?.position?.etaSeconds).toBeGreaterThan(0);
  // The state folder that the local deployment runs on, read through it (this process holds it).
  const local = await status({ stateDir: join(dir(), 'state') });
  const row = local.runs.find((r) => r.exportId === 'et-under-way');
  expect(row?.position).toEqual(onStack?.position && { ...onStack.position, etaSeconds: expect.any(Number) });
  expect(formatStatus(local)).toMatch(
    /et-under-way {2}sept-2022, nov-2022, 2023 {2}running\n {2}started .*, finished \(running\)\n {2}stage 2 of \d+: identities\/link, 1 of 4 chunks; 125 records worked; ETA \S/,
  );
}, 60_000);
