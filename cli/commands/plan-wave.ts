import type { MessagePort } from 'node:worker_threads';
import { WaveSpool, type WaveSpoolPlace } from '../../functions/adapters/report-folder';
import { ConservationError, ExportRejectedError } from '../../functions/core/errors';
import { WorkloadTally } from '../../functions/core/estimate/estimate';
import {
  decideExport,
  type Elsewhere,
  type ProgressEvent,
} from '../../functions/core/pipeline/decide-export';
import { buildStagePlan } from '../../functions/core/pipeline/stages';
import type { ReportCounts } from '../../functions/core/report/tally';
import type { ValidatedExport } from '../../functions/core/rules/manifest';
import { compilePolicy, type Policy } from '../../functions/core/rules/policy';
import { fsExportSource } from '../../local/runtime/fs-export-source';

/**
 * One wave of a plan, decided apart from the others: a wave reads the export's files and keeps its own
 * indexes (decide-export.ts), so the waves of a plan are decided on threads of their own, one a core,
 * each into its own spool of the report folder. Plain data in and out (a thread runs the build's
 * build/plan-wave.cjs, or this source through plan-wave-worker.cjs).
 */
export interface WaveTask {
  readonly exportDir: string;
  readonly validated: ValidatedExport;
  /** The plan's policy as data (a compiled policy does not cross threads). */
  readonly policy: Policy;
  readonly wave: string;
  readonly spool: WaveSpoolPlace;
  /** Where a thread reports the wave's progress (ProgressEvent messages); the plan closes it. */
  readonly progress?: MessagePort;
}

export interface WaveDecided {
  readonly counts: ReportCounts;
  readonly workload: WorkloadTally['kinds'];
}

/**
 * How a wave ended, as data: an error's class does not cross threads (a clone of it is a plain Error), so
 * the errors a plan answers by their class (a rejected export: exit 2; a broken conservation) come back
 * as what they are and are thrown again by `thrownAgain`.
 */
export type WaveOutcome =
  | { readonly decided: WaveDecided }
  | { readonly rejected: { readonly message: string; readonly file?: string } }
  | { readonly conservation: string };

/** The wave's result, or its typed error thrown again in the plan's thread. */
export function thrownAgain(outcome: WaveOutcome): WaveDecided {
  if ('rejected' in outcome) throw new ExportRejectedError(outcome.rejected.message, outcome.rejected.file);
  if ('conservation' in outcome) throw new ConservationError(outcome.conservation);
  return outcome.decided;
}

export async function decideWave(
  task: WaveTask,
  here: { readonly elsewhere?: Elsewhere; readonly onProgress?: (event: ProgressEvent) => void } = {},
): Promise<WaveOutcome> {
  const policy = compilePolicy(task.policy);
  const wave = buildStagePlan(policy).find((w) => w.wave === task.wave);
  if (!wave) throw new Error(`no wave ${task.wave} in the policy`);
  const spool = await WaveSpool.open(task.spool, wave.kinds);
  const workload = new WorkloadTally();
  const port = task.progress;
  const onProgress = here.onProgress ?? (port && ((e: ProgressEvent) => port.postMessage(e)));
  try {
    await decideExport({
      source: fsExportSource(task.exportDir),
      validated: task.validated,
      policy,
      waves: [wave],
      ...(here.elsewhere ? { elsewhere: here.elsewhere } : {}),
      sink: (record) => {
        workload.add(record);
        return spool.add(record);
      },
      onIndexed: (kind, entries) => {
        workload.kind(kind).indexKeys += entries;
      },
      ...(onProgress ? { onProgress } : {}),
    });
  } catch (error) {
    spool.abandon();
    if (error instanceof ExportRejectedError)
      return { rejected: { message: error.message, ...(error.file ? { file: error.file } : {}) } };
    if (error instanceof ConservationError) return { conservation: error.message };
    throw error;
  }
  return { decided: { counts: await spool.close(), workload: workload.kinds } };
}
