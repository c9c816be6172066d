import * as z from 'zod';
import { eachLimited } from '../concurrency';
import { ConfigError, PoisonMessageError, parseMessage } from '../errors';
import { decisionsIndex, decisionsPart, receiptKey, reportPrefix, targetPartitions, workKeys } from '../keys';
import type { ChunkQueue } from '../ports';
import { receiptFiles } from '../report/receipts';
import { QUARANTINE_SHOWN, type ReportView, reportHtml } from '../report/report-html';
import {
  buildReceipt,
  checkConservation,
  decisionTotals,
  type IdentityCounts,
  type Summary,
  type Verification,
} from '../report/summary';
import {
  type DownloadUrl,
  decisionLine,
  groupSpool,
  partitionOf,
  ReportTally,
  spoolEntries,
  withDownloadLinks,
} from '../report/tally';
import { countRun, verdict } from '../report/verification';
import { decidedNow } from '../rules/decide';
import { type IsErased, NONE_ERASED } from '../rules/erasure';
import type { Kind } from '../rules/kinds';
import { readManifest } from '../rules/manifest';
import { EXPORT_ID } from '../rules/schemas';
import type { ChunkCounts } from './chunks';
import { ExpectedSpool } from './expected';
import { addIdentities } from './identities';
import { joinedLines, joinSpool, type SpoolJoin } from './page-fold';
import { PartitionSpool, putSpool } from './partition-spool';
import { piecesOfRun } from './pieces';
import { missingChunks, recordChunk, workedBefore } from './progress';
import { resultRows, runResultSlots } from './results';
import { type Run, recordRunStatus, type WorkflowDeps } from './run';
import { runFacts } from './run-facts';
import { BudgetSchema, PARTITIONING, receiptPartitions, verifyRanges } from './sizing';
import { sendBudgeted } from './split';
import { buildStagePlan, markerStage, REPORT_STAGES, type ReportStage, runIdOf } from './stages';
import { FOLD_START, type Fold, foldTallies, type PartTally, totalsAt } from './tallies';

/**
 * The report and verify of a run, fanned out as the stages are: no invocation's work grows with the
 * export. Two stages after the waves, each split into parts sent to queues, with markers the state
 * machine waits on:
 *
 * 1. `report/parts`: each `map` part reads a bounded run of result objects, counts them, writes its part of
 *    decisions.ndjson, spools each decision to the receipts partition of each account it concerns and
 *    each migrated document to the verify partition of its key (verify/expected).
 * 2. `report/receipts`: each receipts part builds the receipts of one partition's accounts, a page of
 *    accounts per invocation (`receiptsPerStep`, the rest handed on in a message of its own), and puts them
 *    straight into the reports bucket; each `verify` part checks one partition of the target's listing
 *    against what the map parts spooled for it, a page of keys per invocation, handing the rest on in a
 *    message of its own.
 *
 * Then `summarise` merges what the parts counted (never the records): summary.json, report.html, the
 * verification verdict and the run's status.
 */
const RunSchema = z.object({
  exportId: z.string().regex(EXPORT_ID),
  scope: z.string().min(1),
  waves: z.array(z.string().min(1)).min(1),
  startedAt: z.string().min(1),
  firstStartedAt: z.string().optional(),
  executionId: z.string().optional(),
  reportPrefix: z.string().min(1).max(200).optional(),
});

const CountsSchema = z.record(z.string(), z.number().int().nonnegative());
const VerifyTallySchema = z.object({
  documents: CountsSchema,
  checked: CountsSchema,
  problems: z.record(z.string(), z.array(z.string().max(2000)).max(11).readonly()),
});

export const PartMessageSchema = z.object({
  run: RunSchema,
  op: z.enum(['map', 'receipts', 'verify']),
  part: z.number().int().nonnegative(),
  /** Receipts partitions of the run. */
  partitions: z.number().int().positive(),
  /** map: the result objects it reads, in the run's order. */
  keys: z.array(z.string().min(1)).max(1000).optional(),
  /**
   * map and verify: ranges of each area of the target (verifyRanges); verify: where its check stopped,
   * what it found.
   */
  ranges: z.number().int().min(1).max(256).optional(),
  after: z.string().optional(),
  tally: VerifyTallySchema.optional(),
  /** map: its spool objects (receipts partitions', then verify partitions', in order) put so far. */
  spooled: z.number().int().nonnegative().optional(),
  /** receipts: the partition's accounts (in their order) whose receipts are put, once its join is done. */
  built: z.number().int().nonnegative().optional(),
  /** verify and receipts: where the join of what the map parts spooled for its partition stands (page-fold). */
  join: z
    .object({
      step: z.number().int().nonnegative(),
      after: z.string().max(1024).optional(),
      done: z.boolean(),
    })
    .optional(),
  /** One worker's share of the table and buckets in this stage (sizing.ts stageBudget), when deployed. */
  budget: BudgetSchema.optional(),
});
export type PartMessage = z.infer<typeof PartMessageSchema>;

/** Receipts built and put at once by a receipts partition: 3 to 5 files each, under the SDK's 50 sockets. */
const RECEIPTS_IN_FLIGHT = 10;

const pad6 = (n: number) => String(n).padStart(6, '0');
const partId = (op: PartMessage['op'], part: number) => `${op}.${pad6(part)}`;
// Verify works in the second stage: it reads what the map parts expect of the target.
const stageOfOp = (op: PartMessage['op']) => (op === 'map' ? REPORT_STAGES.parts : REPORT_STAGES.receipts);

const exportRecords = async (run: Run, deps: WorkflowDeps) => {
  const { files } = await readManifest(deps.source(run.exportId));
  return { files, records: [...files.values()].reduce((n, f) => n + f.records, 0) };
};

/**
 * One page of a report stage's split (`from`, then `next` until it gives none, as a wave stage's): the
 * stage's parts, by index, up to `splitChunks` a page; parts that already recorded their marker (one
 * query an op) are not sent again. The parts stage maps the run's result objects, `reportResults` a part
 * (their keys as the run's pieces give them, nothing listed); the receipts stage builds each receipts
 * partition's receipts and checks each verify partition of the target. The first page records how many
 * parts the stage expects; each page's messages carry the budget of the stage's parts.
 */
export async function splitReport(
  run: Run,
  stage: ReportStage,
  deps: WorkflowDeps & { queue: ChunkQueue },
  from = 0,
): Promise<{ chunks: number; sent: number; next?: number }> {
  const p = deps.partitioning ?? PARTITIONING;
  const key = markerStage(run, stage);
  const pieces = piecesOfRun(run);
  const { pieces: _, ...rest } = run;
  const { records } = await exportRecords(run, deps);
  const partitions = receiptPartitions(records, p);
  const ranges = verifyRanges(records, p);
  const plain = { ...rest, waves: [...run.waves] };
  // The stage's messages by index: the map parts', or the receipts partitions' and then verify's.
  const results = runResultSlots({ ...run, pieces }, deps.policy);
  const verifyParts = targetPartitions(run.exportId, ranges).length;
  const counts: Partial<Record<PartMessage['op'], number>> =
    stage === REPORT_STAGES.parts
      ? { map: Math.ceil(results.count / p.reportResults) }
      : { receipts: partitions, verify: verifyParts };
  const messageAt = (i: number): PartMessage =>
    stage === REPORT_STAGES.parts
      ? {
          run: plain,
          op: 'map',
          part: i,
          partitions,
          keys: results.keys(i * p.reportResults, (i + 1) * p.reportResults),
          ranges,
        }
      : i < partitions
        ? { run: plain, op: 'receipts', part: i, partitions }
        : { run: plain, op: 'verify', part: i - partitions, partitions, ranges };
  const total = Object.values(counts).reduce((n, c) => n + c, 0);
  if (from === 0) await deps.store.putStageExpectation(run.scope, key, counts);
  const end = Math.min(total, from + p.splitChunks);
  const page = Array.from({ length: Math.max(0, end - from) }, (_, i) => messageAt(from + i));
  const done = new Set<string>();
  for (const op of ['map', 'receipts', 'verify'] as const) {
    const parts = page.filter((m) => m.op === op).map((m) => m.part);
    if (parts.length > 0)
      for (const id of await deps.store.chunkMarkersBetween(
        run.scope,
        key,
        partId(op, Math.min(...parts)),
        partId(op, Math.max(...parts)),
      ))
        done.add(id);
  }
  const unsent = page.filter((m) => !done.has(partId(m.op, m.part)));
  // The stage's workers share the buckets and table: the report's parts, and verify's beside them in the
  // second stage, no more of each counted than the stage has parts.
  await sendBudgeted(
    deps,
    new Map([
      ['report', unsent.filter((m) => m.op !== 'verify')],
      ['verify', unsent.filter((m) => m.op === 'verify')],
    ]),
    { report: (counts.map ?? 0) + (counts.receipts ?? 0), verify: counts.verify ?? 0 },
  );
  return { chunks: total, sent: unsent.length, ...(end < total ? { next: end } : {}) };
}

/** What the report's parts need: the workflow's deps, the buckets, and the receipts' context. */
export interface PartDeps extends WorkflowDeps {
  readonly reportsBucket: string;
  readonly migratedBucket: string;
  /** Where a verify or receipts part hands the rest of its partition on (its own queue). */
  readonly queue?: ChunkQueue;
  readonly downloads?: (exportId: string) => DownloadUrl | undefined;
  /** Days the export's files are kept: the receipts' download deadline counts from the run's first start. */
  readonly retentionDays?: number;
  /** ER-1: the accounts erased now (none: no erasure); read once per part. */
  readonly erasures?: () => Promise<IsErased>;
}

export type PartResult =
  | { readonly msg: PartMessage; readonly done: 'before' | 'continued' }
  | { readonly msg: PartMessage; readonly done: 'now'; readonly counts: ChunkCounts };

/** Parses a part's message; a message that can never be worked throws PoisonMessageError. */
export function parsePart(body: string, ops: readonly PartMessage['op'][]): PartMessage {
  const msg = parseMessage(body, PartMessageSchema, 'a report part');
  if (!ops.includes(msg.op)) throw new PoisonMessageError(`a ${msg.op} part is not mine`);
  return msg;
}

/** The marker stage and id of a part: whether it was worked before. */
export async function partDone(
  msg: PartMessage,
  deps: Pick<WorkflowDeps, 'store' | 'stageTasks'>,
): Promise<boolean> {
  const stage = markerStage(msg.run, stageOfOp(msg.op));
  return workedBefore(msg.run.scope, stage, partId(msg.op, msg.part), deps);
}

/** Records a part as worked: its tally with the run's parts (for the summary), then its marker. */
export async function finishPart(
  msg: PartMessage,
  tally: PartTally,
  lines: number,
  deps: Pick<WorkflowDeps, 'store' | 'objects' | 'exportsBucket'>,
): Promise<PartResult> {
  const { run } = msg;
  await deps.objects.put(
    deps.exportsBucket,
    workKeys.reportTally(run.scope, runIdOf(run), msg.op, msg.part),
    JSON.stringify(tally),
    'application/json',
  );
  const counts: ChunkCounts = { lines, migrated: 0, dropped: 0, quarantined: 0 };
  await recordChunk(run.scope, markerStage(run, stageOfOp(msg.op)), partId(msg.op, msg.part), counts, deps);
  return { msg, done: 'now', counts };
}

/**
 * One part of the report (a `map` part or a `receipts` partition): worked once (its marker), every write
 * keyed by the part, so a redelivered message changes nothing. Verify's parts: verify/verify.
 */
export async function workPart(msg: PartMessage, deps: PartDeps): Promise<PartResult> {
  if (await partDone(msg, deps)) return { msg, done: 'before' };
  if (msg.budget) deps.applyBudget?.(msg.budget);
  const { run } = msg;
  if (msg.op === 'receipts') {
    // First the join of what the map parts spooled for the partition, a page of their objects at a time
    // (handed on in a message of its own); the invocation that ends it builds the first page of receipts,
    // and each step after the next, until the last ends the part.
    const joined = await joinPartition(msg, receiptsJoin(msg), deps);
    if (!joined) return { msg, done: 'continued' };
    const { accounts, built } = await writeReceipts(joined.msg, deps, joined.lines);
    if (built < accounts) {
      await handOn({ ...joined.msg, built }, deps);
      return { msg, done: 'continued' };
    }
    return finishPart(msg, { op: 'receipts', receipts: accounts }, accounts, deps);
  }
  if (msg.op !== 'map') throw new PoisonMessageError(`a ${msg.op} part is not the report's`);
  const report = new ReportTally();
  const counting = countRun(await runFacts(run, deps).withdrawn(), []);
  const decisions: string[] = [];
  const spool = new PartitionSpool();
  const expected = new ExpectedSpool(msg.ranges ?? 1);
  // Rows decided before an erasure are read as they stand now (ER-1): anonymous, on no receipt.
  const isErased = (await deps.erasures?.()) ?? NONE_ERASED;
  for await (const read of resultRows(deps, msg.keys ?? [])) {
    const row = decidedNow(read, isErased);
    report.add(row);
    expected.add(row);
    counting.add(row);
    decisions.push(decisionLine(row));
    for (const entry of spoolEntries(row))
      spool.add(partitionOf(entry[0], msg.partitions), JSON.stringify(entry));
  }
  const rid = runIdOf(run);
  if (msg.spooled === undefined)
    await deps.objects.put(
      deps.reportsBucket,
      decisionsPart(reportPrefix(run), msg.part),
      decisions.length > 0 ? `${decisions.join('\n')}\n` : '',
      'application/x-ndjson',
    );
  // One small object per receipts partition it has decisions for, then one per verify partition it has
  // documents for; at most spoolPuts of them an invocation: a part whose decisions reach more partitions
  // hands the rest on (its next invocation reads its results again), so that more partitions (a larger
  // export) add invocations, not work to one.
  const objects = [
    ...spool.objects((partition) => workKeys.reportSpool(run.scope, rid, partition, msg.part)),
    ...expected.objects(run.scope, rid, msg.part),
  ];
  const from = msg.spooled ?? 0;
  const to = from + (deps.partitioning ?? PARTITIONING).spoolPuts;
  await putSpool(deps, objects.slice(from, to));
  if (to < objects.length) {
    await handOn({ ...msg, spooled: to }, deps);
    return { msg, done: 'continued' };
  }
  return finishPart(
    msg,
    { op: 'map', report: report.toJSON(), away: counting.counts().away },
    decisions.length,
    deps,
  );
}

/**
 * A step of a receipts or verify part's join of what the map parts spooled for its partition
 * (pipeline/page-fold): while steps follow, the rest is handed on to the part's own queue (undefined);
 * once the join is done, the message with its join done, and the joined lines when this step joined them
 * (a later step reads them back).
 */
export async function joinPartition(
  msg: PartMessage,
  join: SpoolJoin,
  deps: PartDeps,
): Promise<{ readonly msg: PartMessage; readonly lines?: readonly string[] } | undefined> {
  if (msg.join?.done) return { msg };
  const { folded, ...state } = await joinSpool(
    deps,
    join,
    msg.join ?? { step: 0 },
    (deps.partitioning ?? PARTITIONING).joinObjects,
  );
  if (state.done) return { msg: { ...msg, join: state }, lines: folded };
  await handOn({ ...msg, join: state }, deps);
  return undefined;
}

/** Sends the rest of a receipts or verify part's partition, as `next` says where it stands, to its own queue. */
export async function handOn(next: PartMessage, deps: PartDeps): Promise<void> {
  if (!deps.queue) throw new ConfigError(`${next.op} parts need a queue to hand their partition on`);
  await deps.queue(next.op === 'verify' ? 'verify' : 'report', [next]);
}

/** A receipts partition's join of what the map parts spooled for it (one object a part), in their order. */
const receiptsJoin = (msg: PartMessage): SpoolJoin => {
  const [scope, report, partition] = [msg.run.scope, runIdOf(msg.run), msg.part];
  return {
    prefix: workKeys.reportSpoolPrefix(scope, report, partition),
    stepKey: (step) => workKeys.reportSpoolJoin(scope, report, partition, step),
    joinedKey: workKeys.reportSpoolJoined(scope, report, partition),
    sort: false,
  };
};

/**
 * The receipts of the next page of one partition's accounts (`receiptsPerStep` of them, in the order of
 * their ids, after the `built` before), straight into the reports bucket; returns how many accounts the
 * partition has, and how many of them have their receipts now.
 */
async function writeReceipts(
  msg: PartMessage,
  deps: PartDeps,
  joined?: readonly string[],
): Promise<{ accounts: number; built: number }> {
  const { run } = msg;
  // What every report part spooled for this partition, joined in the parts' order.
  const lines = await joinedLines(
    deps,
    receiptsJoin(msg),
    `the spool of receipts partition ${msg.part}`,
    joined,
  );
  const all = groupSpool(lines);
  const from = msg.built ?? 0;
  // The accounts in the order of their ids (as a string sort orders them), this step's page of them.
  const byAccount = [...all]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(from, from + (deps.partitioning ?? PARTITIONING).receiptsPerStep);
  const link = deps.downloads?.(run.exportId);
  const context = {
    policy: deps.policy,
    ...(deps.retentionDays
      ? {
          downloadDeadline: new Date(
            Date.parse(run.firstStartedAt ?? run.startedAt) + deps.retentionDays * 86_400_000,
          ).toISOString(),
        }
      : {}),
  };
  const folder = reportPrefix(run);
  const isErased = (await deps.erasures?.()) ?? NONE_ERASED;
  await eachLimited(byAccount, RECEIPTS_IN_FLIGHT, async ([owner, { owned, partOf }]) => {
    // An account erased since its part was counted gets no receipt (ER-1).
    if (isErased(owner)) return;
    const receipt = await withDownloadLinks(buildReceipt(run.exportId, owner, owned, context, partOf), link);
    // A receipt's files (JSON, HTML, text, and their translations) are put at once.
    await Promise.all(
      receiptFiles(receipt).map((file) =>
        deps.objects.put(
          deps.reportsBucket,
          `${receiptKey(folder, owner)}${file.suffix}`,
          file.body,
          file.contentType,
        ),
      ),
    );
  });
  return { accounts: all.size, built: from + byAccount.length };
}

/**
 * The run's end: merges what the parts counted (never the records), checks conservation against the
 * manifest, gives the verification's verdict, writes summary.json and report.html, records the run's
 * status and gives the export's run lock back.
 */
export async function summarise(
  run: Run,
  deps: PartDeps,
  given?: IdentityCounts,
  folded?: Fold,
): Promise<{ summary: Summary; receipts: number; view: ReportView }> {
  const { files } = await exportRecords(run, deps);
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  // The state machine merged the tallies a page per invocation; in one process (tests) they are merged here.
  let fold = folded ?? FOLD_START;
  while (fold.more) fold = await foldTallies(run, fold, deps);
  const totals = await totalsAt(run, fold.step, deps);
  const report = new ReportTally(waves.flatMap((w) => w.kinds));
  if (totals.report) report.merge(totals.report);
  const { away, verify, receipts, parts } = totals;
  // The run's identity stages kept their counts with the report's parts.
  const identities = totals.identities ? addIdentities(given ?? {}, totals.identities) : given;
  const { tally } = report;
  const lines = (kind: Kind) => files.get(kind)?.records ?? 0;
  // A run whose chunks went to a dead-letter queue is reported as incomplete, naming them; an
  // otherwise finished run must account for every line.
  const missing = await missingChunks(run, deps);
  if (missing.length === 0)
    checkConservation(tally.counts, new Map(waves.flatMap((w) => w.kinds.map((k) => [k, lines(k)]))));
  const verification: Verification | undefined = verify
    ? verdict(verify, { counts: tally.counts, away }, lines)
    : undefined;
  const summary: Summary = {
    ...tally.summary(run.exportId, [...run.waves], new Date(run.startedAt), deps.now?.() ?? new Date()),
    ...(verification && !verification.passed ? { status: 'verification-failed' as const } : {}),
    ...(missing.length > 0 ? { status: 'incomplete' as const, missing } : {}),
    ...(verification ? { verification } : {}),
    ...(identities ? { identities } : {}),
  };
  const counted = report.toJSON();
  const view: ReportView = {
    summary,
    byWave: counted.byWave,
    byCountry: counted.byCountry,
    quarantine: counted.quarantine.slice(0, QUARANTINE_SHOWN),
    quarantineTotal: counted.quarantineTotal,
    receipts,
  };
  const prefix = reportPrefix(run);
  await deps.objects.put(
    deps.reportsBucket,
    decisionsIndex(prefix),
    JSON.stringify({ parts }),
    'application/json',
  );
  await deps.objects.put(
    deps.reportsBucket,
    `${prefix}report.html`,
    reportHtml(view),
    'text/html; charset=utf-8',
  );
  await deps.objects.put(
    deps.reportsBucket,
    `${prefix}summary.json`,
    `${JSON.stringify(summary, null, 2)}\n`,
    'application/json',
  );
  await recordRunStatus(deps.store, run.exportId, {
    scope: run.scope,
    waves: run.waves,
    state: summary.status,
    at: summary.finishedAt,
    startedAt: run.startedAt,
    counts: decisionTotals(summary.counts),
    verified: verification ? verification.passed : null,
    reportPrefix: prefix,
  });
  // The run has ended (whatever its status): the export may be run again.
  if (run.executionId) await deps.store.unlockRun(run.exportId, run.executionId);
  return { summary, receipts, view };
}
