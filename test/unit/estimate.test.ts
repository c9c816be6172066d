import fc from 'fast-check';
import { UnknownWorkflowError } from '../../functions/core/errors';
import {
  EMPTY_KIND,
  estimate,
  formatDuration,
  type KindWorkload,
  scaleWorkload,
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

  test('requests of each service, and the stages they make', () => {
    // Every stage also loses a hundredth of its requests to throttling, each retried after 500 ms, 12 in
    // flight, over its workers: thr(requests, workers) = requests x 0.01 x 0.5 s / 12 / workers.
    const thr = (requests: number, workers: number) => (requests * 0.01 * 0.5) / 12 / workers;
    // Every stage ends 1 s after its work (its last chunk answers its wait), within one wait of 10 s
    // here: one wait, answered, no check.
    // The identity stages, with no accounts: a split each (one page: 0.3 s and its markers' query and the
    // stage's expectation, 2 x 15 ms), no chunk; the stage's two GETs take 2 / 5,500 s of a bucket's reads
    // (x 1.01, throttled ones again): 0.33 + 0.000367 + 1 s.
    // The wave's stage: split 0.3 + 2 x 15 ms (the page's markers, the expectation) + a batch of 3 messages
    // sent (30 ms) = 0.36 s: its 3 chunks are the mailbox's pieces (validate cut them; no later step works
    // mailbox items, so none is copied); the worker
    // 3 x 120 ms + 2,500 lines x 0.1 ms + (3 result PUTs + 3 chunk DELETEs) x 30 ms / 12 = 0.625 s (no
    // ledger: the records are dropped, and not a container kind), over the profile queue's 10 workers; its
    // requests: 7 table writes (3 markers, 3 counts, the expectation) in batches of 25, 9 reads in batches
    // of 100 (each chunk's marker and its query of the erasures, ER-1; the split's two), 6 PUTs and DELETEs
    // (3 results, 3 worked chunks deleted) and 3 GETs. No resource holds it back.
    const wave = 0.36 + 0.0625 + thr(7 / 25 + 9 / 100 + 9, 10) + 1;
    expect(e.duration.stages.slice(0, 3)).toEqual([
      { stage: 'identities/index', seconds: expect.closeTo(1.33 + (2 * 1.01) / 5500, 6), binding: 'workers' },
      { stage: 'identities/link', seconds: expect.closeTo(1.33 + (2 * 1.01) / 5500, 6), binding: 'workers' },
      { stage: 'w/decide-1', seconds: expect.closeTo(wave, 6), binding: 'workers' },
    ]);
    expect(e.feasibility.ceilings).toEqual([]);
    // The report: 1 receipts partition (2,500 records, 50,000 each), 1 part (3 result objects, 50 each),
    // 1 verify partition (a small target: the whole listing).
    // Each split, one page: 0.3 s + the manifest's GET (15 ms) + a marker query an op (15 ms each: 1 for
    // the parts, 2 for the receipts and verify) + a batch of messages (30 ms): 0.36 and 0.375 s.
    // The part: 120 ms + 2,500 rows x 0.1 ms + (3 GETs x 15 ms + 2 spool PUTs x 30 ms) / 12 = 0.37875 s,
    // over the report queue's 10 workers; its requests: 3 GETs, 3 PUTs, a marker read and the erasures, its write and count.
    // Receipts (beside verify's one page of 120 ms + 1 spool GET / 12, nothing migrated): 120 ms + (1 spool
    // GET x 15 ms + 1 joined spool PUT x 30 ms + 100 receipts x 3 files x 30 ms) / 12 + 2,500 records x
    // 0.1 ms = 1.12375 s, over 10 workers; its requests: 2 spool GETs, 300 receipt PUTs, 1 joined spool
    // PUT, 2 markers read and the erasures, 2 written and counted, over the report's and verify's 20
    // workers.
    const part = 0.36 + 0.037875 + thr(2 / 25 + 3 / 100 + 7, 10) + 1;
    // Since the receipts join their spool as verify does: 1 more PUT (the receipts' own joined spool),
    // 30 ms / 12 more; the step that joins a spool goes on with the lines it joined, not read back; the
    // verify container reads the filter of the run's index of credentials (core/forbidden, 1 KB): 305
    // requests to the buckets in all, and the split's manifest GET and 2 marker queries.
    const receipts = 0.375 + 0.112375 + thr(4 / 25 + 5 / 100 + 306, 20) + 1;
    expect(e.duration.stages.slice(3)).toEqual([
      { stage: 'report', seconds: expect.closeTo(part, 6), binding: 'workers' },
      { stage: 'receipts and verify', seconds: expect.closeTo(receipts, 6), binding: 'workers' },
    ]);
    expect(e.binding).toEqual(e.duration.stages[4]);
    // Lambda: validate's 3 (the start, the one file's check, the run opened), 5 splits (2 identity stages, the wave's, 2 of the report), 1 worker batch,
    // 5 waits (one a stage), 1 report part, 1 verify page, 1 receipts partition, the summary's merge of
    // the 3 tallies (one page) and the summary
    expect(e.totals.lambdaInvocations).toBe(3 + 5 + 1 + 5 + 1 + 1 + 1 + 1 + 1);
    // DynamoDB writes: 2 identity expectations, 3 chunk markers, the stage's expectation, 3 part markers,
    // the run status: no item per record (the ledger is the result objects); each of the 6 markers'
    // counts, and each of the 5 stages' waiting token.
    expect(e.totals.dynamoWriteUnits).toBe(2 + 3 + 1 + 3 + 1 + 6 + 5);
    expect(e.workload).toEqual({
      records: 2500,
      dynamoWriteUnits: 21,
      dynamoReadUnits: e.totals.dynamoReadUnits,
      // PUTs and DELETEs: 3 chunks, 3 results, the 3 worked chunks deleted, 2 spool objects, 1 decisions
      // part, 300 receipt files, 2 joined spools (verify's, the receipts'), the merged tallies,
      // summary.json and report.html, and validate's index of credentials (a shard and a filter); the
      // LISTs apart.
      s3Writes: 3 + 3 + 3 + 2 + 1 + 300 + 2 + 1 + 2 + 2,
      s3Reads: e.totals.s3GetRequests,
    });
    // The summary's merge (the report's 3 tallies: no account, so no identity chunk's, and the totals
    // before them: 4 GETs of 15 ms / 12, then a PUT of 30 ms) and the summary itself (1 s) end the run
    // after validate (0.5 s, then the mailbox file's check: 1 MB at 80 MB/s and 2,500 lines cut at
    // 0.0075 ms, longer than their 3 pieces' PUTs of 30 ms / 16 beside; no accounts file, so the run
    // opened puts an empty index, 2 PUTs of 30 ms / 12).
    const summary = ((3 + 1) * 15) / 1000 / 12 + 30 / 1000 + 1;
    expect(e.duration.seconds).toBeCloseTo(
      0.53625 + 2 * (1.33 + (2 * 1.01) / 5500) + wave + part + receipts + summary,
      6,
    );
    expect(e.totals.events).toBe(1);
    // Every step fits its function's timeout, with no /tmp; the history is far below its quota.
    expect(e.feasibility.fits).toBe(true);
    expect(e.feasibility.steps.map((x) => x.step)).toEqual([
      'validate',
      'split',
      'decide a batch of chunks',
      'report part',
      'verify page',
      'receipts partition',
      'summary merge',
      'summary',
    ]);
    expect(e.feasibility.historyEvents).toBeLessThan(e.feasibility.historyLimit);
  });

  test('history events follow the definition: each wait that times out costs twelve (wait, its check, done?)', () => {
    const slower = estimate(
      { kinds: { mailbox: kind({ lines: 2500, fileBytes: 1e6 }) }, receipts: 100, exportBytes: 1e6 },
      plan,
      { ...settings, pollSeconds: 0.1 },
      workflowDefinition(plan),
    );
    const checks = (x: typeof e) => x.totals.stateTransitions;
    // A Choice is entered and exited (2 events), a Task 5: 12 a timed-out wait, 3 transitions.
    const more = (checks(slower) - checks(e)) / 3;
    expect(more).toBeGreaterThan(0);
    expect(slower.feasibility.historyEvents - e.feasibility.historyEvents).toBe(12 * more);
  });

  test("a stage's split takes a page a splitChunks chunks: each page after the first costs a split and its choice", () => {
    // 2,500,000 mailbox lines: 2,500 pieces, 3 pages of the split of 1,000 chunks, against 1 page for 2,500.
    const pages = (lines: number) =>
      estimate(
        { kinds: { mailbox: kind({ lines, fileBytes: 1e6 }) }, receipts: 100, exportBytes: 1e6 },
        plan,
        settings,
        workflowDefinition(plan),
      );
    const many = pages(2_500_000);
    const one = pages(2_500);
    const waits = (x: typeof e) => x.duration.stages.length;
    expect(waits(many)).toBe(waits(one));
    // Two more pages: each a Task (5 events) and the Choice after it (2), two transitions; the waits
    // (answered once each, whatever the stage's work) are as many, the other stages the same.
    const extraWaits = many.totals.stateTransitions - one.totals.stateTransitions - 2 * 2;
    expect(extraWaits % 3).toBe(0);
    expect(many.feasibility.historyEvents - one.feasibility.historyEvents).toBe(2 * 7 + 4 * extraWaits);
    expect(many.feasibility.steps.find((x) => x.step === 'split')?.perInvocationSeconds).toBeLessThan(5);
  });

  test("transitions follow the definition: a state added after a stage's wait costs one per answer", () => {
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
      e.totals.stateTransitions + 1,
    );
    // A condition the model does not know is an error, not a guess.
    (waves.States['w decide-1 done?'] as { Choices: { Variable: string }[] }).Choices[0] = {
      ...(waves.States['w decide-1 done?'] as { Choices: { Variable: string }[] }).Choices[0],
      Variable: '$.progress.somethingElse',
    } as { Variable: string };
    expect(() => estimate(workload, plan, settings, definition)).toThrow(UnknownWorkflowError);
  });

  test('cost from the dated price table, every line priced', () => {
    const dynamo = e.lines.find((l) => l.what.startsWith('writes'));
    expect(dynamo?.cost).toBeCloseTo(
      (e.totals.dynamoWriteUnits / 1e6) * PRICES.dynamodb.perMillionWriteUnits,
      10,
    );
    const compute = e.lines.find((l) => l.what === 'compute (ARM)');
    expect(compute?.cost).toBeCloseTo(e.totals.lambdaGbSeconds * PRICES.lambda.perGbSecondArm, 10);
    // No function asks for /tmp above the free 512 MB: that line is there, and costs nothing.
    expect(e.lines.find((l) => l.what.startsWith('ephemeral'))?.cost).toBe(0);
    expect(e.lines.map((l) => l.service)).toEqual(
      expect.arrayContaining(['KMS', 'CloudWatch Logs', 'Step Functions']),
    );
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
    // writes: projects 1,000 container decisions (with their holders across exports) + 1 marker; items
    // 2 markers (no ledger items); 2 stage expectations, 2 identity expectations, 1 + 1 + 1 report part
    // markers, 1 run status; the 6 markers' counts, and the 6 stages' waiting tokens
    expect(ten.totals.dynamoWriteUnits).toBe(1001 + 2 + 2 + 2 + 3 + 1 + 6 + 6);
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

  test("items with large files: their chunks are cut by the files' bytes, and a batch's heaviest invocation reads its chunks' most", () => {
    const GiB = 1024 ** 3;
    // 100 items, each with a 200 MiB file (20 GiB in all): by lines one chunk; by bytes at most
    // 2 x 20 GiB / 2 GiB = 20 more (pipeline/split cuts at PARTITIONING.chunkFileBytes).
    const kinds = {
      'twinspace-items': kind({ lines: 100, migrated: 100, blobChecks: 100, blobBytes: 20 * GiB }),
    };
    const plan = [wave('s', [['s/decide-2', [['twinspace-items', 'decide']]]])];
    const big = estimate({ kinds, receipts: 0, exportBytes: 0 }, plan, settings, workflowDefinition(plan));
    const small = estimate(
      {
        kinds: { 'twinspace-items': kind({ lines: 100, migrated: 100, blobChecks: 100, blobBytes: 1e6 }) },
        receipts: 0,
        exportBytes: 0,
      },
      plan,
      settings,
      workflowDefinition(plan),
    );
    // 21 chunks rather than 1: each stored, its result written, and deleted once worked.
    expect(big.workload.s3Writes - small.workload.s3Writes).toBe(3 * 20);
    // The heaviest batch reads 5 chunks of at most 2 GiB each: 10 GiB at 80 MB/s, plus 5 chunks' 120 ms.
    const batch = big.feasibility.steps.find((x) => x.step === 'decide a batch of chunks');
    expect(batch?.perInvocationSeconds).toBeCloseTo((10 * GiB) / 80e6 + 0.6, 0);
    expect(batch?.fits).toBe(true);
  });

  test("a verify container's first page reads the filter of the run's index of credentials: at most 16 MiB, however many accounts", () => {
    const plan = [wave('w', [['w/decide-1', [['mailbox', 'decide']]]])];
    const withAccounts = (lines: number, fileBytes: number) =>
      estimate(
        {
          kinds: { mailbox: kind({ lines: 2500, fileBytes: 1e6 }), accounts: kind({ lines, fileBytes }) },
          receipts: 100,
          exportBytes: 1e6,
        },
        plan,
        settings,
        workflowDefinition(plan),
      ).feasibility.steps.find((x) => x.step === 'verify page')?.perInvocationSeconds ?? 0;
    // A million accounts: a filter of 2^27 bits (16 MiB and its 16-byte header) at 80 MB/s, 0.21 s more
    // than the 1 KB filter of none (shown to a tenth of a second).
    expect(withAccounts(1_000_000, 1e8) - withAccounts(0, 0)).toBeCloseTo(0.2, 1);
    // Ten million in 1 GB: the same filter, the same page (the accounts file is not read).
    expect(withAccounts(10_000_000, 1e9)).toBe(withAccounts(1_000_000, 1e8));
  });

  test("a receipts partition's invocation puts a page of accounts' receipts however many the partition holds", () => {
    expect(e.warnings).toEqual([]);
    // One receipts partition (no records to cut by): 3 files x 1,000 accounts a step x 30 ms / 12 in
    // flight = 7.5 s, + 0.12 s, whether it holds 100,000 accounts (100 steps) or a million (1,000 steps).
    const big = (receipts: number) =>
      estimate({ kinds: {}, receipts, exportBytes: 0 }, [], settings, workflowDefinition([]));
    const step = (receipts: number) =>
      big(receipts).feasibility.steps.find((x) => x.step === 'receipts partition');
    expect(step(100_000)?.perInvocationSeconds).toBeCloseTo(7.6, 0);
    expect(step(1_000_000)?.perInvocationSeconds).toBe(step(100_000)?.perInvocationSeconds);
    expect(big(1_000_000).warnings).toEqual([]);
    // Each step more is an invocation more, and a read of the joined spool.
    expect(
      big(1_000_000).totals.lambdaInvocations - big(100_000).totals.lambdaInvocations,
    ).toBeGreaterThanOrEqual(900);
  });

  test('a step that one invocation could not finish within its timeout is named, and does not fit', () => {
    const plan = [wave('w', [['w/decide-1', [['mailbox', 'decide']]]])];
    // An accounts file of 100 GB: at 80 MB/s, 1,250 s for validate, which reads it whole, over 900 s (the
    // splits read no file: they copy the pieces validate cut, a page an invocation).
    const withAccounts = (fileBytes: number) =>
      estimate(
        {
          kinds: { mailbox: kind({ lines: 2500, fileBytes: 1e6 }), accounts: kind({ lines: 1, fileBytes }) },
          receipts: 1,
          exportBytes: 1e6 + fileBytes,
        },
        plan,
        settings,
        workflowDefinition(plan),
      );
    expect(withAccounts(1e9).warnings).toEqual([]);
    expect(withAccounts(1e9).feasibility.fits).toBe(true);
    const over = withAccounts(1e11);
    expect(over.warnings).toEqual([
      "validate would take about 21 min in one invocation, beyond the function's 15 minutes",
    ]);
    expect(over.feasibility.fits).toBe(false);
    expect(over.feasibility.steps.filter((x) => !x.fits)).toEqual([
      expect.objectContaining({ step: 'validate', timeoutSeconds: 900 }),
    ]);
  });

  test('what grows with the export in memory is held against each function’s memory: validate’s index of credentials and ids of a file; verify’s and split’s do not grow', () => {
    const plan = [wave('w', [['w/decide-1', [['mailbox', 'decide']]]])];
    const withAccounts = (lines: number) =>
      estimate(
        {
          kinds: {
            mailbox: kind({ lines: 2500, fileBytes: 1e6 }),
            accounts: kind({ lines, fileBytes: 1e6 }),
          },
          receipts: 1,
          exportBytes: 2e6,
        },
        plan,
        settings,
        workflowDefinition(plan),
      );
    const MiB = 1024 * 1024;
    const step = (e: ReturnType<typeof withAccounts>, name: string) =>
      e.feasibility.steps.find((x) => x.step === name);
    // 1.2 million accounts: verify holds the index's filter (16 MiB and its 16-byte header) and at most
    // 64 shards of 8,192 keys of 16 bytes (8 MiB); validate builds the index: the filter, and 4 keys an
    // account in shards grown by doubling (2 x 4.8 million x 16 bytes), and the ids of the file it cuts, 55
    // bytes an id (DQ-2); split nothing that grows (a page of chunks).
    const full = withAccounts(1_200_000);
    const verifyHeld = 16 * MiB + 16 + 8 * MiB;
    expect(step(full, 'verify page')).toMatchObject({ heldBytes: verifyHeld, memoryLimitBytes: 1769 * MiB });
    expect(step(full, 'validate')?.heldBytes).toBe(16 * MiB + 16 + 2 * 4_800_000 * 16 + 66_000_000);
    expect(step(full, 'split')?.heldBytes).toBe(0);
    expect(full.feasibility.fits).toBe(true);
    // 20 million: verify and split hold the same; validate would hold 3,506 MiB (2.56 GB of keys and the
    // filter, 1.1 GB of ids) besides the runtime's 256 MB, over its 1,769 MB.
    const over = withAccounts(20_000_000);
    expect(step(over, 'verify page')?.heldBytes).toBe(verifyHeld);
    expect(over.warnings).toEqual([
      "validate would hold about 3506 MB besides the runtime's 256 MB, beyond the function's 1769 MB",
    ]);
    expect(step(over, 'validate')?.fits).toBe(false);
    expect(step(over, 'verify page')?.fits).toBe(true);
    expect(step(over, 'split')?.fits).toBe(true);
    expect(over.feasibility.fits).toBe(false);
  });

  test("a kind with parents reads a chunk's distinct parents: at most its runs of one parent and one a chunk, never more than its lines", () => {
    // 2,500 activities (3 chunks of 1,000), in the wave's one stage; nothing else differs.
    const plan = [wave('w', [['w/decide-1', [['activities', 'decide']]]])];
    const reads = (parentRuns?: number) =>
      estimate(
        {
          kinds: { activities: kind({ lines: 2500, ...(parentRuns === undefined ? {} : { parentRuns }) }) },
          receipts: 0,
          exportBytes: 0,
        },
        plan,
        settings,
        workflowDefinition(plan),
      ).totals.dynamoReadUnits;
    // Unknown runs (a workload of an older plan): a read a line. 40 runs: 40 + 3 reads.
    expect(reads() - reads(40)).toBe(2500 - (40 + 3));
    // A shuffled file (a run a line) reads no more than a line each.
    expect(reads(2500)).toBe(reads());
  });

  test('a group is looked up in two indexes before it is decided (GR-1), a TwinSpace in none', () => {
    const reads = (container: 'projects' | 'groups') => {
      const plan = [wave('w', [['w/decide-1', [[container, 'decide']]]])];
      return estimate(
        { kinds: { [container]: kind({ lines: 300 }) }, receipts: 0, exportBytes: 0 },
        plan,
        settings,
        workflowDefinition(plan),
      ).totals.dynamoReadUnits;
    };
    expect(reads('groups') - reads('projects')).toBe(2 * 300);
  });

  test('a pre-warmed table takes the writes sooner; a projected workload grows every count in proportion', () => {
    const workload = {
      kinds: { accounts: kind({ lines: 1000, fileBytes: 4e5, migrated: 900 }) },
      receipts: 1000,
      exportBytes: 4e5,
    };
    const scaled = scaleWorkload(workload, 1_100_000);
    expect(scaled.kinds.accounts).toMatchObject({ lines: 1_100_000, migrated: 990_000, fileBytes: 4.4e8 });
    expect(scaled.receipts).toBe(1_100_000);
    const cold = estimate(scaled, [], settings, workflowDefinition([]));
    const warm = estimate(scaled, [], { ...settings, tableWritesPerSecond: 40_000 }, workflowDefinition([]));
    // The split of identities/index: 2 pages (0.3 s and 2 x 15 ms each) of the 1,100 pieces of accounts,
    // each copied (identities/link works them after it) at 40 ms / 16, their messages ten to a batch.
    // Indexing writes two items per account, 2,200,000 writes (+ 1,100 markers, their counts and the
    // expectation): at a new table's 4,000/s, x 1.01 for the throttled ones, 556.1 s. Ten workers take 1,100 chunks x
    // (0.12 + 1,000 x (0.1 + 3 x 15 / 12) ms) = 4,367 s / 10 = 436.7 s: the table sets the time. A
    // pre-warmed table takes them in 55.6 s: then the workers do.
    const index = (e: typeof cold) => e.duration.stages.find((x) => x.stage === 'identities/index');
    const split = 2 * (0.3 + 0.03) + (1100 * 40) / 1000 / 16 + (110 * 30) / 1000;
    expect(index(cold)?.seconds).toBeCloseTo(split + (2_202_201 * 1.01) / 4000 + 1, 6);
    expect(index(cold)?.binding).toBe('DynamoDB writes per second');
    expect(cold.feasibility.ceilings[0]).toMatchObject({
      stage: 'identities/index',
      resource: 'DynamoDB writes per second',
      limit: 4000,
    });
    expect(index(warm)?.binding).toBe('workers');
    expect(index(warm)?.seconds).toBeGreaterThan(split + 436.7 + 1);
    expect(index(warm)?.seconds).toBeLessThan(split + 436.8 + 5 + 1);
    expect(warm.duration.seconds).toBeLessThan(cold.duration.seconds);
  });

  test("S3's partitions bind as AWS documents them: a bucket takes 3,500 writes a second until AWS Support partitions it", () => {
    const kinds = { portfolio: kind({ lines: 100_000, migrated: 100_000 }) };
    const plan = [wave('w', [['w/decide-1', [['portfolio', 'decide']]]])];
    const at = (bucketPartitions: number, targetBuckets = 1) =>
      estimate(
        { kinds, receipts: 0, exportBytes: 0 },
        plan,
        { ...settings, workerConcurrency: 200, bucketPartitions, targetBuckets },
        workflowDefinition(plan),
      ).duration.stages.find((x) => x.stage === 'w/decide-1');
    // 100,000 documents into the migrated bucket at 3,500 a second (x 1.01): 28.9 s, longer than 200
    // workers take; four partitions take them four times as fast.
    expect(at(1)).toMatchObject({ binding: 'S3 writes per second on the migrated bucket' });
    expect(at(1)?.seconds).toBeGreaterThan((100_000 * 1.01) / 3500);
    expect((at(1)?.seconds ?? 0) - (at(4)?.seconds ?? 0)).toBeGreaterThan(((100_000 * 1.01) / 3500) * 0.5);
    // Four new buckets (targetBuckets) take them as one bucket of four partitions does, from the first second.
    expect(at(1, 4)?.seconds).toBeCloseTo(at(4)?.seconds as number, 6);
    expect(at(1, 4)?.binding).not.toMatch(/S3/);
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
  test('files are checked for every record that stands (migrated or dropped) and those step 7 quarantined, and copied only when migrated and sound', () => {
    const t = new WorkloadTally();
    const file = { fileName: 'a.pdf', size: 10, sha256: 'a'.repeat(64) };
    t.add(record({ file }));
    t.add(record({ file, decision: 'quarantined', reason: 'BLOB_MISSING' }));
    t.add(record({ file, decision: 'dropped', reason: 'CONTENT_BEFORE_CUTOFF' }));
    // A record quarantined by another rule is not read.
    t.add(record({ file, decision: 'quarantined', reason: 'DUPLICATE_ID' }));
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
      lines: 5,
      migrated: 2,
      blobChecks: 3,
      filesCopied: 1,
      bytesCopied: 10,
    });
    expect(t.kinds.accounts).toMatchObject({ lines: 1, migrated: 1, blobChecks: 1, filesCopied: 0 });
  });

  test("a kind's runs of one parent: an account's records by their owner, an item by its space, a line of no known parent alone", () => {
    const t = new WorkloadTally();
    const activity = (owner?: string) =>
      record({ kind: 'activities', reason: 'ACTIVITY_ELIGIBLE', owners: owner ? [owner] : [] });
    for (const owner of ['a', 'a', 'b', 'b', 'a', undefined, undefined, 'c']) t.add(activity(owner));
    const item = (space: string) => record({ parent: { kind: 'projects', id: space } });
    for (const space of ['p', 'p', 'p', 'q']) t.add(item(space));
    // Accounts have no parent: no runs.
    t.add(record({ kind: 'accounts', reason: 'PROFILE_MIGRATED', owners: ['a'] }));
    expect(t.kinds.activities?.parentRuns).toBe(6);
    expect(t.kinds['twinspace-items']?.parentRuns).toBe(2);
    expect(t.kinds.accounts?.parentRuns).toBeUndefined();
  });

  test("the reads it counts are never fewer than the distinct parents of split's chunks, whatever the order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        (owners, chunkLines) => {
          const t = new WorkloadTally();
          for (const owner of owners)
            t.add(record({ kind: 'activities', reason: 'ACTIVITY_ELIGIBLE', owners: [owner] }));
          const chunks = Math.ceil(owners.length / chunkLines);
          let distinct = 0;
          for (let i = 0; i < owners.length; i += chunkLines)
            distinct += new Set(owners.slice(i, i + chunkLines)).size;
          const counted = Math.min(owners.length, (t.kinds.activities?.parentRuns ?? 0) + chunks);
          expect(counted).toBeGreaterThanOrEqual(distinct);
        },
      ),
    );
  });
});
