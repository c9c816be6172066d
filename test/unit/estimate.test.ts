import { UnknownWorkflowError } from '../../functions/core/errors';
import {
  EMPTY_KIND,
  estimate,
  formatDuration,
  type KindWorkload,
  WorkloadTally,
} from '../../functions/core/estimate/estimate';
import { PRICES } from '../../functions/core/estimate/prices';
import type { WavePlan } from '../../functions/core/pipeline/stages';
import type { DecidedRecord } from '../../functions/core/rules/decide';
import type { Kind } from '../../functions/core/rules/kinds';
import { workflowDefinition } from '../helpers/workflow-definition';

/**
 * The AWS estimate against cases computed by hand from the model in docs/aws.md ("AWS estimate") and the
 * figures of ASSUMPTIONS and SIZING, written out here step by step.
 */
const kind = (over: Partial<KindWorkload>): KindWorkload => ({ ...EMPTY_KIND, ...over });
const settings = { workerConcurrency: 10, pollSeconds: 10 };
const wave = (id: string, stages: [string, [Kind, 'decide' | 'index'][]][]): WavePlan => ({
  wave: id,
  kinds: [...new Set(stages.flatMap(([, steps]) => steps.map(([k]) => k)))],
  stages: stages.map(([sid, steps]) => ({
    id: sid,
    steps: steps.map(([k, op]) =>
      op === 'index' ? { op, kind: k, index: 'group-activity' as const } : { op, kind: k },
    ),
  })),
});

describe('the AWS estimate, by hand', () => {
  // One wave, one stage, 2,500 mailbox lines (3 chunks), all dropped, 100 receipts, a 1 MB file.
  const plan = [wave('w', [['w/decide-1', [['mailbox', 'decide']]]])];
  const e = estimate(
    { kinds: { mailbox: kind({ lines: 2500, fileBytes: 1e6 }) }, receipts: 100, exportBytes: 1e6 },
    plan,
    settings,
    workflowDefinition(plan),
  );

  test('requests of each service', () => {
    // worker: 3 chunks x 120 ms + 2,500 lines x 0.1 ms + (3 result PUTs x 30 ms + 100 ledger batches x 15 ms) / 12
    //   = 360 + 250 + 132.5 = 742.5 ms; over 10 workers 0.07425 s; checks: ceil((0.07425 + 10) / 10) = 2
    // Lambda: validate, index identities, 1 worker batch, split, 2 checks, verify, report = 8
    expect(e.totals.lambdaInvocations).toBe(8);
    // split 0.4025 s (0.3 + 1 MB at 80 MB/s + 3 PUTs x 30 ms); stage 0.4025 + 0.07425 + 10 = 10.47675 s
    // run: validate 0.5125 + identities 0.5 + stage 10.47675 + verify 0.5 + report 2.00375 = 13.993 s
    expect(e.duration.seconds).toBeCloseTo(13.993, 3);
    expect(e.duration.stages).toEqual([{ stage: 'w/decide-1', seconds: expect.closeTo(10.47675, 5) }]);
    // SQS: 1 send batch + 1 receive + 1 delete + 2 checks x 4 queues + ceil(13.993 / 20 x 5 pollers x 5 queues) = 18
    expect(e.totals.sqsRequests).toBe(1 + 2 + 8 + 18);
    // DynamoDB writes: identities (0 accounts) + 1, 3 markers, 2,500 ledger entries, 1 expectation, 1 run status
    expect(e.totals.dynamoWriteUnits).toBe(1 + 3 + 2500 + 1 + 1);
    // reads: 3 marker checks, 1 expectation, 2 checks x (expectation + 1 page of markers)
    expect(e.totals.dynamoReadUnits).toBe(3 + 1 + 4);
    // S3 PUT/COPY/LIST: 3 chunks, 3 results, 1 LIST of results, summary + decisions + report.html, 3 x 100 receipts
    expect(e.totals.s3PutCopyListRequests).toBe(3 + 3 + 1 + 3 + 300);
    // GET: validate (manifest + file), identities (2), manifest + file at split, 3 chunks, 3 results + 1
    expect(e.totals.s3GetRequests).toBe(2 + 2 + 2 + 3 + 4);
    // transitions, read from the construct's definition: rollback or run?, validate, index identities, the Map; the wave's
    // iteration and `Which wave`; split, start, 2 checks x (wait, progress, done?), complete; start verify,
    // 1 page x (verify, verified?), report, announce, complete?, run complete
    expect(e.totals.stateTransitions).toBe(1 + 3 + 2 + (2 + 2 * 3 + 1) + (1 + 2 + 4));
    expect(e.totals.events).toBe(1);
  });

  test('transitions follow the definition: a state added to the progress loop costs one per check', () => {
    const definition = workflowDefinition(plan);
    const waves = (definition.States['Each wave in order'] as unknown as Record<string, unknown>)
      .ItemProcessor as {
      States: Record<string, Record<string, unknown>>;
    };
    const wait = waves.States['w decide-1 wait'] as { Next: string };
    waves.States['w decide-1 extra'] = { Type: 'Pass', Next: wait.Next };
    wait.Next = 'w decide-1 extra';
    const workload = {
      kinds: { mailbox: kind({ lines: 2500, fileBytes: 1e6 }) },
      receipts: 100,
      exportBytes: 1e6,
    };
    expect(estimate(workload, plan, settings, definition).totals.stateTransitions).toBe(
      e.totals.stateTransitions + 2,
    );
    // A condition the model does not know is an error, not a guess.
    (waves.States['w decide-1 done?'] as { Choices: { Variable: string }[] }).Choices[0] = {
      ...(waves.States['w decide-1 done?'] as { Choices: { Variable: string }[] }).Choices[0],
      Variable: '$.progress.somethingElse',
    } as { Variable: string };
    expect(() => estimate(workload, plan, settings, definition)).toThrow(UnknownWorkflowError);
  });

  test('GB-seconds and cost from the dated price table', () => {
    const gbs =
      0.5125 * (1769 / 1024) + // validate
      0.5 * 1 + // index identities
      0.7425 * 1 + // worker
      0.4025 * (1769 / 1024) + // split
      2 * 0.15 * 0.5 + // progress checks at 512 MB
      0.5 * (1769 / 1024) + // verify
      2.00375 * (3008 / 1024); // report
    expect(e.totals.lambdaGbSeconds).toBeCloseTo(gbs, 6);
    const dynamo = e.lines.find((l) => l.what.startsWith('writes'));
    expect(dynamo?.cost).toBeCloseTo((2506 / 1e6) * PRICES.dynamodb.perMillionWriteUnits, 10);
    expect(e.totalCost).toBeCloseTo(
      e.lines.reduce((s, l) => s + l.cost, 0),
      12,
    );
    expect(e.prices.region).toBe('eu-west-1');
    expect(e.prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('containers, items with files, and twice the workers', () => {
    const kinds = {
      projects: kind({ lines: 1000, migrated: 400 }),
      'twinspace-items': kind({
        lines: 1500,
        migrated: 600,
        filesCopied: 100,
        bytesCopied: 1e8,
        blobChecks: 110,
        blobBytes: 1.1e8,
      }),
    };
    const plan = [
      wave('s', [
        ['s/decide-1', [['projects', 'decide']]],
        ['s/decide-2', [['twinspace-items', 'decide']]],
      ]),
    ];
    const ten = estimate({ kinds, receipts: 0, exportBytes: 0 }, plan, settings, workflowDefinition(plan));
    // writes: projects 1,000 ledger + 1,000 container decisions + 1 marker; items 1,500 ledger + 2 markers;
    // 2 expectations, 1 identity (no accounts), 1 run status
    expect(ten.totals.dynamoWriteUnits).toBe(2001 + 1502 + 2 + 1 + 1);
    // S3 writes: chunks 1 + 2, projects 400 documents + 1 result, items 600 documents + 100 copies + 2
    // results, verify lists ceil(1,100 / 1,000) = 2, report 1 LIST + 3 files
    expect(ten.totals.s3PutCopyListRequests).toBe(3 + 401 + 702 + 2 + 4);
    // GET: validate (manifest + 2 files), identities 2, each stage manifest + file, 3 chunks, item blobs
    // 110, verify 1,000 documents + 100 files, report 3 results + 1
    expect(ten.totals.s3GetRequests).toBe(3 + 2 + 2 * 2 + 3 + 110 + 1100 + 3 + 1);
    expect(ten.totals.s3BytesCopied).toBe(1e8);
    const twenty = estimate(
      { kinds, receipts: 0, exportBytes: 0 },
      plan,
      { ...settings, workerConcurrency: 20 },
      workflowDefinition(plan),
    );
    expect(twenty.duration.seconds).toBeLessThan(ten.duration.seconds);
    expect(twenty.totals.dynamoWriteUnits).toBe(ten.totals.dynamoWriteUnits);
  });

  test('a step that one invocation could not finish within its timeout is named', () => {
    expect(e.warnings).toEqual([]);
    // 3 receipt files x 100,000 accounts x 30 ms / 12 in flight = 750 s, + 1 s: under 900 s; 200,000: over.
    const big = (receipts: number) =>
      estimate({ kinds: {}, receipts, exportBytes: 0 }, [], settings, workflowDefinition([])).warnings;
    expect(big(100_000)).toEqual([]);
    expect(big(200_000)).toEqual([
      "the report would take about 25 min in one invocation, beyond the function's 15 minutes",
    ]);
  });

  test('durations read as people read them', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(3 * 3600 + 20 * 60)).toBe('3 h 20 min');
  });
});

describe('the workload that plan gathers', () => {
  const record = (over: Partial<DecidedRecord>): DecidedRecord => ({
    kind: 'twinspace-items',
    id: 'i',
    wave: 'w',
    decision: 'migrated',
    reason: 'CONTENT_ELIGIBLE',
    owners: [],
    ...over,
  });
  test('files are checked for every record step 6 migrates, and copied only when sound', () => {
    const t = new WorkloadTally();
    const file = { fileName: 'a.pdf', size: 10, sha256: 'a'.repeat(64) };
    t.add(record({ file }));
    t.add(record({ file, decision: 'quarantined', reason: 'BLOB_MISSING' }));
    t.add(record({ file, decision: 'dropped', reason: 'CONTENT_BEFORE_CUTOFF' }));
    t.add(
      record({
        kind: 'accounts',
        reason: 'PROFILE_MIGRATED',
        file,
        detail: 'profilePhoto left out: the file is not in the export',
        fileLeftOut: true,
      }),
    );
    t.add(record({}));
    expect(t.kinds['twinspace-items']).toMatchObject({
      lines: 4,
      migrated: 2,
      blobChecks: 2,
      filesCopied: 1,
      bytesCopied: 10,
    });
    expect(t.kinds.accounts).toMatchObject({ lines: 1, migrated: 1, blobChecks: 1, filesCopied: 0 });
  });
});
