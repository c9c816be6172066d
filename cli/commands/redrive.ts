import { resolve } from 'node:path';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { ExecutionFailedError, UsageError } from '../../functions/core/errors';
import { reportPrefix } from '../../functions/core/keys';
import { sameWaves } from '../../functions/core/pipeline/run';
import type { PipelineStore, RunStatus } from '../../functions/core/ports';
import { statusPanel } from '../../functions/core/report/status';
import type { Summary } from '../../functions/core/report/summary';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { outFolder } from '../folders';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { rollbackView, withStack } from '../stack';
import { executeRun, REPORTED_FAILURES, type RunResult } from './run';
import { reportObject, type StatusRow } from './status';

export interface RedriveOptions {
  readonly exportId: string;
  readonly stateDir?: string;
  readonly out?: string;
  readonly pipeline?: Partial<Parameters<typeof startLocalPipeline>[0]>;
}

/**
 * Moves every message of the dead-letter queues back to the queue it came from, as SQS's
 * StartMessageMoveTask does on AWS. Returns how many moved.
 */
export async function moveDeadLetters(
  sqs: SQSClient,
  deadLetters: ReadonlyMap<string, string>,
): Promise<number> {
  let moved = 0;
  for (const [dlq, source] of deadLetters) {
    for (;;) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = r.Messages ?? [];
      if (messages.length === 0) break;
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: source,
          Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })),
        }),
      );
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlq,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      moved += messages.length;
    }
  }
  return moved;
}

/**
 * `esep-migrate redrive <exportId>`: after a fix, puts the work of the export's latest unfinished run
 * back (dead-lettered messages to their queues; an interrupted run resumes; locally the queues live in memory, so a run that ended
 * in an earlier process gets its unmarked chunks sent again by its stages' splits) and runs it to its
 * end: the same waves, the same decisions, a new report.
 */
/** A run whose end left work to put back: interrupted (still marked running), incomplete, or failed. */
const UNFINISHED: readonly RunStatus['state'][] = ['running', 'incomplete', 'failed'];

export type RedriveResult = (RunResult & { readonly moved: number }) | NothingToRedrive;

type NothingToRedrive = { readonly moved: 0; readonly nothing: Pick<RunStatus, 'waves' | 'state'> };

/** A redrive on a deployed stack: what it moved, and how the run it restarted (or left running) stands. */
export interface StackRedrive {
  readonly moved: number;
  /** The execution that holds the export's run lock still runs: the messages moved back go to it. */
  readonly running?: string;
  /** The run as its status row says after the restarted execution ended. */
  readonly run?: StatusRow;
  /** Its report's summary, and where the report is. */
  readonly summary?: Summary;
  readonly reportFolder?: string;
  readonly failed?: boolean;
}

/** The export's latest run, by its last status; a usage error when there is none. */
async function latestRun(store: PipelineStore, exportId: string, where: string): Promise<RunStatus> {
  const runs = (await store.runStatuses(exportId)).sort((a, b) => a.at.localeCompare(b.at));
  const latest = runs.at(-1);
  if (!latest) throw new UsageError(`redrive: no run of export "${exportId}" in ${where}`);
  return latest;
}

/** The state machine's input that runs the latest run's waves again: one wave, or all of them. */
const runInput = (exportId: string, latest: RunStatus) => ({
  exportId,
  wave: latest.waves.length === 1 ? (latest.waves[0] as string) : 'all',
});

export async function redriveLocal(options: RedriveOptions): Promise<RedriveResult> {
  const stateDir = resolve(options.stateDir ?? '.esep-local');
  const pipeline = await startLocalPipeline({ stateDir, notice, ...options.pipeline });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
    const latest = await latestRun(store, options.exportId, 'this state folder');
    // The state folder's lock keeps other commands out: a run still marked running was interrupted.
    const moved = await moveDeadLetters(pipeline.clients.sqs, pipeline.resources.deadLetters);
    // A run that finished (or was rolled back) with nothing dead-lettered has nothing to put back:
    // migrating a withdrawn wave again is a deliberate `run`, not a redrive. Nothing is written.
    if (moved === 0 && !UNFINISHED.includes(latest.state))
      return { moved: 0, nothing: { waves: latest.waves, state: latest.state } };
    const outDir = await outFolder(options.out);
    const result = await executeRun(
      pipeline,
      runInput(options.exportId, latest),
      { exportId: options.exportId, waves: latest.waves },
      outDir,
    );
    return { ...result, moved };
  } finally {
    release();
    await pipeline.stop();
  }
}

/**
 * Redrive on a deployed stack: the dead-lettered messages back to their queues; then, unless an execution
 * of the export still runs (it holds the export's run lock, and takes the messages), a new execution of
 * the latest run's waves, waited for. The report is written to the reports buckets, as every run's.
 */
export async function redriveStack(exportId: string, name: string): Promise<StackRedrive | NothingToRedrive> {
  return withStack(name, async (stack) => {
    const deps = await rollbackView(stack);
    const latest = await latestRun(deps.store, exportId, `the stack ${stack.name}`);
    const moved = await moveDeadLetters(stack.clients.sqs, stack.deadLetters);
    if (moved === 0 && !UNFINISHED.includes(latest.state))
      return { moved: 0, nothing: { waves: latest.waves, state: latest.state } };
    const lock = (await deps.store.runLocks()).find((l) => l.exportId === exportId);
    if (lock) return { moved, running: lock.executionId };
    const since = new Date().toISOString();
    let failed = false;
    try {
      await stack.execute(runInput(exportId, latest), notice);
    } catch (error) {
      // A run that ended incomplete or failed verification wrote its report and its status: shown, exit 1.
      if (!(error instanceof ExecutionFailedError && REPORTED_FAILURES.has(error.error))) throw error;
      failed = true;
    }
    const run = statusPanel(await deps.store.allRunStatuses(), deps.workflow.policy.waveIds).find(
      (r) => r.exportId === exportId && sameWaves(r.waves, latest.waves) && (r.startedAt ?? '') >= since,
    );
    if (!run) return { moved, failed };
    // The run's summary, as the local redrive prints it: from its report in the reports buckets.
    const folder = reportPrefix(run);
    const text = await deps.objects.getText(deps.reportsBucket, `${folder}summary.json`);
    return {
      moved,
      run: { ...run, report: reportObject(run, deps.reportsBucket) },
      ...(text === undefined ? {} : { summary: JSON.parse(text) as Summary }),
      reportFolder: `${folder} (reports buckets)`,
      failed,
    };
  });
}
