import { resolve } from 'node:path';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { UsageError } from '../../functions/core/errors';
import type { RunStatus } from '../../functions/core/ports';
import type { LocalPipeline } from '../../local/runtime/pipeline';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { outFolder } from '../folders';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { executeRun, type RunResult } from './run';

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
export async function moveDeadLetters(pipeline: LocalPipeline): Promise<number> {
  const { sqs } = pipeline.clients;
  let moved = 0;
  for (const [dlq, source] of pipeline.resources.deadLetters) {
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

export type RedriveResult =
  | (RunResult & { readonly moved: number })
  | { readonly moved: 0; readonly nothing: Pick<RunStatus, 'waves' | 'state'> };

export async function redriveLocal(options: RedriveOptions): Promise<RedriveResult> {
  const stateDir = resolve(options.stateDir ?? '.esep-local');
  const pipeline = await startLocalPipeline({ stateDir, notice, ...options.pipeline });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
    const runs = (await store.runStatuses(options.exportId)).sort((a, b) => a.at.localeCompare(b.at));
    const latest = runs.at(-1);
    if (!latest) throw new UsageError(`redrive: no run of export "${options.exportId}" in this state folder`);
    // The state folder's lock keeps other commands out: a run still marked running was interrupted.
    const moved = await moveDeadLetters(pipeline);
    // A run that finished (or was rolled back) with nothing dead-lettered has nothing to put back:
    // migrating a withdrawn wave again is a deliberate `run`, not a redrive. Nothing is written.
    if (moved === 0 && !UNFINISHED.includes(latest.state))
      return { moved: 0, nothing: { waves: latest.waves, state: latest.state } };
    // `run` runs one wave or all of them.
    const wave = latest.waves.length === 1 ? (latest.waves[0] as string) : 'all';
    const outDir = await outFolder(options.out);
    const result = await executeRun(
      pipeline,
      { exportId: options.exportId, wave },
      { exportId: options.exportId, waves: latest.waves },
      outDir,
    );
    return { ...result, moved };
  } finally {
    release();
    await pipeline.stop();
  }
}
